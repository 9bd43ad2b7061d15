"""Ctrl-C, as a user presses it, in the commands that call MPS: replay, backfill, report.

The first SIGINT stops every call that has not started, lets those in flight end, says so at once
with their count, and exits 130 with every record that was sent accounted for. The fake MPS holds
its calls at a gate the test opens, so the test, not the machine's speed, decides what is in
flight when the signal lands: no assertion depends on how fast anything runs.
"""

from __future__ import annotations

import collections
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from repo import SCRIPT, user_env
from report_lines import lines_for, seed_tasks

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION, start_cos, start_mps
from handler.errors import INTERRUPTED
from handler.results import read_record

FREE = 5  # calls the gate lets through before it holds the rest
GUARD = 120  # seconds: against a hung command or test, never a speed requirement
STOP = re.compile(
    r"autoenhance (\w+): stopping: (\d+) call\(s\) in flight end within 30 s \(MPS_TIMEOUT_SECONDS\); "
    r"no new call starts\. Ctrl-C again to quit at once\."
)


class Gate:
    """The fake's `action` (a backend method, looked up per request): the first FREE calls pass,
    later ones wait until `open()`."""

    def __init__(self, backend: Any, action: str):
        self._inner = getattr(backend, action)
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self.entered = self.held = 0
        setattr(backend, action, self)

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.entered += 1
            hold = self.entered > FREE
            self.held += hold
        if hold:
            self._opened.wait(GUARD)
        return self._inner(*args)

    def open(self) -> None:
        self._opened.set()


class Command:
    """The command in a subprocess, its output read as it comes (so a full pipe never blocks it)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        self.proc = subprocess.Popen(
            [str(SCRIPT), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.stop_line = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if STOP.search(line):
                self.stop_line.set()

    def interrupt_when(self, ready: Any) -> int:
        """SIGINT once `ready()`; the in-flight count the command gave, once it said it is stopping."""
        until(lambda: ready() or self.proc.poll() is not None)
        assert self.proc.poll() is None, "".join(self.err)
        self.proc.send_signal(signal.SIGINT)
        assert self.stop_line.wait(GUARD), "".join(self.err)
        match = STOP.search("".join(self.err))
        assert match is not None
        return int(match.group(2))

    def finish(self) -> tuple[int, str, str]:
        self.proc.wait(GUARD)
        for reader in self._readers:
            reader.join(GUARD)
        return self.proc.returncode, "".join(self.out), "".join(self.err)


def until(condition: Any) -> None:
    deadline = time.monotonic() + GUARD
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_replay_live_stops_at_ctrl_c_and_logs_every_record_it_sent(tmp_path):
    with start_mps(rate_limit_per_second=None, latency_seconds=0.05) as mps:
        gate = Gate(mps.backend, "process_image")
        event = tmp_path / "merged.json"
        records = [cos_record(BUCKET, REGION, f"uploads/{i:03d}.jpg") for i in range(120)]
        event.write_text(json.dumps(cos_event(records)), encoding="utf-8")
        env = {
            **user_env(tmp_path),
            "MPS_ENDPOINT": mps.url,
            "MPS_TIMEOUT_SECONDS": "30",  # the gate is opened long before: no call times out
            **mps.identity.environ(),
        }
        cmd = Command(["replay", str(event), "--live"], env, tmp_path)
        # Every call let through has made its task: what the signal finds in flight is at the gate.
        in_flight = cmd.interrupt_when(lambda: gate.held >= 1 and len(mps.backend.tasks) == FREE)
        gate.open()
        code, out, err = cmd.finish()

    assert code == 130, err
    assert in_flight >= 1  # at least the call held at the gate
    assert len(mps.backend.tasks) - FREE <= in_flight  # nothing started after the signal
    logged = [r.result for r in map(read_record, err.splitlines()) if r is not None]
    assert sorted(r.position for r in logged) == list(range(120))  # every record, one line each
    assert {r.task_id for r in logged if r.task_id} == {t.task_id for t in mps.backend.tasks}
    never_sent = [r for r in logged if r.error_code == INTERRUPTED]
    assert len(never_sent) == 120 - len(mps.backend.tasks) > 0
    assert all(r.attempts == 0 and r.outcome.value == "failed" for r in never_sent)
    assert "120 record(s)" in out and "autoenhance replay: interrupted" in err


def test_replay_on_the_embedded_fake_stops_at_ctrl_c_and_logs_every_record(tmp_path):
    """The embedded fake runs in the command: the signal comes once the first record is logged, with
    118 s of the invocation's 60 s budget still to go at this pace (the budget is never reached)."""
    event = tmp_path / "merged.json"
    records = [cos_record(BUCKET, REGION, f"uploads/{i:03d}.jpg") for i in range(120)]
    event.write_text(json.dumps(cos_event(records)), encoding="utf-8")
    env = {**user_env(tmp_path), "MPS_REQUESTS_PER_SECOND": "1", "MPS_TIMEOUT_SECONDS": "30"}
    cmd = Command(["replay", str(event)], env, tmp_path)
    cmd.interrupt_when(lambda: any(read_record(line) for line in list(cmd.err)))
    code, _out, err = cmd.finish()

    assert code == 130, err
    logged = [r.result for r in map(read_record, err.splitlines()) if r is not None]
    assert sorted(r.position for r in logged) == list(range(120))
    state = json.loads((tmp_path / "state" / "fake-mps-state.json").read_text(encoding="utf-8"))
    assert {r.task_id for r in logged if r.task_id} == {t["task_id"] for t in state["tasks"]}
    assert sum(r.error_code == INTERRUPTED for r in logged) == 120 - len(state["tasks"]) > 0


def test_backfill_stops_at_ctrl_c_then_resume_counts_only_its_own_work(tmp_path):
    keys = [f"p/{i:03d}.jpg" for i in range(60)]
    with start_cos() as cos, start_mps(rate_limit_per_second=None, latency_seconds=0.05) as mps:
        for key in keys:
            cos.backend.put_object(cos.bucket, key, size=1000)
        cos.backend.add_credential(*mps.identity)  # one account, both services
        gate = Gate(mps.backend, "process_image")
        env = {**user_env(tmp_path), "MPS_ENDPOINT": mps.url, "COS_ENDPOINT": cos.url, **mps.identity.environ()}
        env["MPS_TIMEOUT_SECONDS"] = "30"
        cp, rows = tmp_path / "cp.json", tmp_path / "rows.jsonl"
        base = ["backfill", "--bucket", cos.bucket, "--region", cos.region, "--live", "--workers", "4"]
        cmd = Command([*base, "--rate", "200", "--checkpoint", str(cp), "--report", str(rows)], env, tmp_path)
        in_flight = cmd.interrupt_when(lambda: gate.held >= 1 and len(mps.backend.tasks) == FREE)
        gate.open()
        code, out, err = cmd.finish()

        assert code == 130 and "interrupted: resume with --resume" in out, out + err
        first_run = len(mps.backend.tasks)
        assert 1 <= in_flight and first_run - FREE <= in_flight
        written = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
        assert {r["task_id"] for r in written} == {t.task_id for t in mps.backend.tasks}  # none lost
        assert all(r["outcome"] == "submitted" for r in written)  # none never sent was written as failed

        resumed = Command([*base, "--resume", str(cp), "--report", str(rows)], env, tmp_path)
        code, out, err = resumed.finish()
        assert code == 0, out + err
        per_object = collections.Counter(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in mps.backend.tasks)
        assert per_object == collections.Counter("/" + k for k in keys)  # every object once
        assert f"submitted/s ({len(keys) - first_run} in this run)" in out  # the rate's count: this run's


def test_report_stops_at_ctrl_c_and_says_so_at_once(tmp_path):
    with start_mps(rate_limit_per_second=None) as mps:
        ids = seed_tasks(mps, 60, mps.clock() - 60)
        gate = Gate(mps.backend, "describe_image_task_detail")
        log = tmp_path / "log.jsonl"
        log.write_text("".join(json.dumps(line) + "\n" for line in lines_for(ids)), encoding="utf-8")
        env = {**user_env(tmp_path), "MPS_ENDPOINT": mps.url, "MPS_TIMEOUT_SECONDS": "30", **mps.identity.environ()}
        args = ["report", str(log), "--live", "--state", str(tmp_path / "st.jsonl"), "--workers", "3", "--rate", "200"]
        cmd = Command(args, env, tmp_path)

        def asked() -> int:
            return sum(c.action == "DescribeImageTaskDetail" for c in mps.backend.calls.snapshot())

        in_flight = cmd.interrupt_when(lambda: gate.held >= 1 and asked() == FREE)
        gate.open()
        code, _out, err = cmd.finish()

    assert code == 130 and "interrupted after" in err, err
    assert 1 <= in_flight and asked() - FREE <= in_flight
