"""Backfill against the fake COS and fake MPS: shared mapping, pacing, idempotence, resume."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import signal
import subprocess
import time

import pytest
from repo import SCRIPT, autoenhance, user_env

import autoenhance.backfill.listing as listing_module
from autoenhance.backfill import Backfill, BackfillOptions
from autoenhance.sample_events import cos_event, cos_record
from fakes.cos import CosFault
from fakes.harness import WarmContainer, function_env
from fakes.mps import Fault
from handler.config import load_settings
from handler.credentials import CredentialProvider
from handler.mps_client import MpsApi
from handler.pacing import PacedLimiter


class Job:
    """A backfill wired to both fakes, in this process."""

    def __init__(self, fake_cos, fake_mps, tmp_path, env=None, **options):
        self.fake_cos, self.fake_mps = fake_cos, fake_mps
        environ = function_env(fake_mps.url, fake_mps.identity, **(env or {}))  # what the CLI's backfill reads
        self.settings = load_settings(environ)
        self.creds = CredentialProvider(environ)
        options.setdefault("checkpoint", tmp_path / "cp.json")
        self.options = BackfillOptions(fake_cos.bucket, fake_cos.region, **options)

    def run(self) -> dict:
        s = self.settings
        job = Backfill(
            self.options,
            s,
            self.fake_cos.client,
            lambda: MpsApi(s.endpoint, "ap-guangzhou", self.creds.current, s.http_timeout),
            self.creds,
        )
        return job.run()

    def objects_submitted(self) -> collections.Counter:
        return collections.Counter(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in self.fake_mps.backend.tasks)


def seed(fake_cos, keys, size=1000, **kw):
    for key in keys:
        fake_cos.backend.put_object(fake_cos.bucket, key, size=size if not key.endswith("/") else 0, **kw)


def test_every_image_across_many_pages_is_submitted_once(fake_cos, fake_mps, tmp_path, monkeypatch):
    monkeypatch.setattr(listing_module, "PAGE_SIZE", 7)
    keys = [f"p/{i:03d}.jpg" for i in range(50)]
    seed(fake_cos, keys)
    summary = Job(fake_cos, fake_mps, tmp_path).run()
    job = Job(fake_cos, fake_mps, tmp_path)
    assert summary["counts"] == {"submitted": 50} and summary["listed"] == 50
    assert job.objects_submitted() == collections.Counter("/" + k for k in keys)
    assert fake_cos.backend.count("GetBucket") == 8  # ceil(50 / 7) pages


def test_the_functions_filters_and_loop_guard_apply(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["in/a.jpg", "in/b.PNG", "in/c.pdf", "in/folder/", "enhanced/in/x.jpeg", "in/README"])
    fake_cos.backend.put_object(fake_cos.bucket, "in/empty.jpg", size=0)
    job = Job(fake_cos, fake_mps, tmp_path, report=tmp_path / "r.jsonl")
    summary = job.run()
    assert summary["counts"] == {"submitted": 2, "skipped": 5}
    rows = {r["key"]: r for r in map(json.loads, (tmp_path / "r.jsonl").read_text().splitlines())}
    assert rows["in/c.pdf"]["reason"].startswith("not an image extension")
    assert rows["in/folder/"]["reason"] == "folder marker"
    assert rows["in/empty.jpg"]["reason"] == "empty object (0 bytes)"
    assert rows["enhanced/in/x.jpeg"]["reason"].startswith("the function's own output")


def test_prefix_suffix_and_since_narrow_the_listing(fake_cos, fake_mps, tmp_path):
    old = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    new = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()
    seed(fake_cos, ["a/1.jpg", "a/2.png", "b/3.jpg"], last_modified=new)
    seed(fake_cos, ["a/0.jpg"], last_modified=old)
    Job(
        fake_cos,
        fake_mps,
        tmp_path,
        prefix="a/",
        suffixes=(".jpg",),
        since=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp(),
    ).run()
    assert set(Job(fake_cos, fake_mps, tmp_path).objects_submitted()) == {"/a/1.jpg"}


def test_backfill_sends_exactly_what_the_function_would(fake_cos, fake_mps, tmp_path):
    """One shared code path: the same request body as an upload event for the same object."""
    seed(fake_cos, ["uploads/假期 照片/海边+1 100%.jpg"])
    Job(fake_cos, fake_mps, tmp_path).run()
    WarmContainer(fake_mps).invoke(
        cos_event([cos_record(fake_cos.bucket, fake_cos.region, "uploads/假期 照片/海边+1 100%.jpg")])
    )
    backfilled, triggered = (dict(t.params) for t in fake_mps.backend.tasks)
    assert backfilled.pop("SessionId") != triggered.pop("SessionId")  # different identities...
    assert backfilled == triggered  # ...the same request
    assert backfilled["InputInfo"]["CosInputInfo"]["Object"] == "/uploads/假期 照片/海边+1 100%.jpg"


def test_keys_with_spaces_plus_percent_and_cjk_survive_the_listing(fake_cos, fake_mps, tmp_path):
    keys = ["s p a c e.jpg", "a+b.jpg", "100%.jpg", "%2B.jpg", "中文/图片.jpg", "x/y/z.jpg"]
    seed(fake_cos, keys)
    Job(fake_cos, fake_mps, tmp_path).run()
    assert set(Job(fake_cos, fake_mps, tmp_path).objects_submitted()) == {"/" + k for k in keys}


def test_existing_outputs_are_skipped_unless_forced(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["in/a.jpg", "in/b.jpg", "enhanced/in/a.jpg.jpeg"])
    summary = Job(fake_cos, fake_mps, tmp_path, prefix="in/", report=tmp_path / "r.csv").run()
    assert summary["counts"] == {"submitted": 1, "skipped": 1}
    assert summary["output_check"] == "HEAD at the predicted output key"
    rows = {r["key"]: r for r in csv.DictReader((tmp_path / "r.csv").open())}
    assert rows["in/a.jpg"]["reason"] == "output exists: enhanced/in/a.jpg.jpeg"
    forced = Job(fake_cos, fake_mps, tmp_path, prefix="in/", force=True, checkpoint=tmp_path / "f.json").run()
    assert forced["counts"] == {"submitted": 1, "duplicate": 1}  # a.jpg now; b.jpg's SessionId already used


def test_template_outputs_cannot_be_predicted_and_the_summary_says_so(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["in/a.jpg", "enhanced/in/a.jpg.jpeg"])
    summary = Job(fake_cos, fake_mps, tmp_path, env={"MPS_DEFINITION": "20001"}, prefix="in/").run()
    assert summary["counts"] == {"submitted": 1}
    assert summary["output_check"] == "none: output names come from an MPS template"


def test_rerun_never_creates_a_second_task(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, [f"p/{i}.jpg" for i in range(10)])
    Job(fake_cos, fake_mps, tmp_path).run()
    again = Job(fake_cos, fake_mps, tmp_path, checkpoint=tmp_path / "second.json").run()
    assert again["counts"] == {"duplicate": 10}
    assert len(fake_mps.backend.tasks) == 10


def test_a_new_version_of_an_object_is_a_new_task(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["p/a.jpg"], etag='"v1"')
    Job(fake_cos, fake_mps, tmp_path).run()
    seed(fake_cos, ["p/a.jpg"], etag='"v2"')
    Job(fake_cos, fake_mps, tmp_path, checkpoint=tmp_path / "v2.json").run()
    assert len(fake_mps.backend.tasks) == 2


def test_throttling_slows_down_and_fails_nothing(fake_cos, make_fake_mps, tmp_path):
    fake_mps = make_fake_mps(rate_limit_per_second=20)
    fake_mps.backend.inject(Fault.error("RequestLimitExceeded"), times=5)
    seed(fake_cos, [f"p/{i}.jpg" for i in range(30)])
    summary = Job(fake_cos, fake_mps, tmp_path, rate=40.0).run()  # asks for twice the limit
    assert summary["counts"] == {"submitted": 30}
    assert summary["throttled"] >= 5


def test_transient_cos_and_mps_errors_are_retried(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, [f"p/{i}.jpg" for i in range(5)])
    fake_cos.backend.inject(CosFault.error(503, "SlowDown"), times=1, operation="GetBucket")
    fake_mps.backend.inject(Fault.error("InternalError"), times=2)
    fake_mps.backend.inject(Fault.drop(), times=1)
    summary = Job(fake_cos, fake_mps, tmp_path).run()
    assert summary["counts"] == {"submitted": 5}
    assert len(fake_mps.backend.tasks) == 5


@pytest.mark.parametrize(
    "fault",
    [Fault.cut_body(), Fault.cut_body(sent_bytes=10), Fault.bad_encoding("gzip"), Fault.lost_answer()],
    ids=["cut-after-headers", "cut-mid-body", "bad-content-encoding", "lost-answer"],
)
def test_transport_faults_after_the_task_was_created_are_duplicates_not_failures(fake_cos, fake_mps, tmp_path, fault):
    """The same submit path as the function: the cut answer is retried, and the retry finds its own task."""
    seed(fake_cos, ["p/a.jpg", "p/b.jpg"])
    fake_mps.backend.inject(fault, times=1)
    summary = Job(fake_cos, fake_mps, tmp_path, report=tmp_path / "r.jsonl").run()
    assert summary["counts"] == {"submitted": 1, "duplicate": 1}
    assert len(fake_mps.backend.tasks) == 2
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    [duplicate] = [r for r in rows if r["outcome"] == "duplicate"]
    assert "got no answer (NetworkError." in duplicate["reason"]


def test_permanent_mps_errors_fail_the_object_and_are_reported(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["p/a.jpg", "p/b.jpg"])
    fake_mps.backend.inject(Fault.error("FailedOperation.InvalidMpsUser"), times=1)
    summary = Job(fake_cos, fake_mps, tmp_path, report=tmp_path / "r.jsonl").run()
    assert summary["counts"] == {"submitted": 1, "failed": 1}
    [failed] = [
        json.loads(line)
        for line in (tmp_path / "r.jsonl").read_text().splitlines()
        if json.loads(line)["outcome"] == "failed"
    ]
    assert failed["error_code"] == "FailedOperation.InvalidMpsUser"


def test_dry_run_submits_nothing(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["p/a.jpg", "p/b.txt"])
    summary = Job(fake_cos, fake_mps, tmp_path, dry_run=True).run()
    assert summary["counts"] == {"would_submit": 1, "skipped": 1}
    assert fake_mps.backend.calls == []


def test_checkpoint_records_marker_and_resume_skips_finished_objects(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, [f"p/{i:02d}.jpg" for i in range(20)])
    Job(fake_cos, fake_mps, tmp_path).run()
    saved = json.loads((tmp_path / "cp.json").read_text())
    assert saved["marker"] == "p/19.jpg" and saved["in_flight"] == [] and saved["done_after"] == []
    calls_before = len(fake_mps.backend.calls)
    resumed = Job(fake_cos, fake_mps, tmp_path, resume=True).run()
    assert len(fake_mps.backend.calls) == calls_before  # nothing listed past the marker, nothing resent
    assert resumed["counts"] == {"submitted": 20}  # the totals carry over


def test_resume_refuses_a_checkpoint_of_another_job(fake_cos, fake_mps, tmp_path):
    seed(fake_cos, ["p/a.jpg"])
    Job(fake_cos, fake_mps, tmp_path, prefix="p/").run()
    with pytest.raises(ValueError, match="same bucket, region, prefix and task configuration"):
        Job(fake_cos, fake_mps, tmp_path, prefix="q/", resume=True).run()


def test_paced_limiter_spaces_calls_and_adapts():
    now = [0.0]
    limiter = PacedLimiter(20, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(21):
        limiter.acquire()
    assert now[0] == pytest.approx(20 / (20 * PacedLimiter.HEADROOM))  # 21 calls span > 1 s
    limiter.throttled()
    assert limiter.rate == pytest.approx(20 * PacedLimiter.HEADROOM * 0.9)
    for _ in range(10):
        limiter.succeeded()
    assert limiter.rate == pytest.approx(20 * PacedLimiter.HEADROOM)


# -- the command, as a user runs it -----------------------------------------------------------------


def live_env(fake_cos, fake_mps, tmp_path) -> dict:
    fake_cos.backend.add_credential(*fake_mps.identity)  # one account, both services
    return {
        **user_env(tmp_path),
        "MPS_ENDPOINT": fake_mps.url,
        "COS_ENDPOINT": fake_cos.url,
        **fake_mps.identity.environ(),
    }


def command(fake_cos, *extra):
    """`autoenhance backfill` of the fake's bucket (the arguments after `autoenhance`)."""
    return ["backfill", "--bucket", fake_cos.bucket, "--region", fake_cos.region, *extra]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_crash_or_ctrl_c_then_resume_misses_nothing_and_duplicates_nothing(make_fake_cos, make_fake_mps, tmp_path, sig):
    fake_mps = make_fake_mps(rate_limit_per_second=None, latency_seconds=0.02)
    fake_cos = make_fake_cos()
    # 240 objects at 40/s: about 5 s still to go when the signal lands after 40, however slow the
    # machine is to start the command (the wait below has no deadline it must meet).
    keys = [f"p/{i:03d}.jpg" for i in range(240)]
    seed(fake_cos, keys)
    env = live_env(fake_cos, fake_mps, tmp_path)
    cp = tmp_path / "cp.json"
    proc = subprocess.Popen(
        [str(SCRIPT), *command(fake_cos, "--live", "--checkpoint", str(cp), "--rate", "40", "--workers", "4")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120  # a guard against a hung command, not a speed requirement
    while len(fake_mps.backend.tasks) < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted: resume with --resume" in out
    assert cp.exists()
    first_run = len(fake_mps.backend.tasks)
    assert 40 <= first_run < len(keys)
    resumed = autoenhance(env, *command(fake_cos, "--live", "--resume", str(cp)), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    per_object = collections.Counter(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in fake_mps.backend.tasks)
    assert per_object == collections.Counter("/" + k for k in keys)  # every object once, none twice
    finished = json.loads(cp.read_text())
    assert finished["marker"] == keys[-1] and finished["in_flight"] == []


def test_command_embedded_default_runs_on_demo_objects(tmp_path):
    r = autoenhance(
        user_env(tmp_path),
        *("backfill", "--bucket", "photos-1250000000", "--region", "ap-guangzhou", "--report", "r.jsonl"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "embedded fakes" in r.stderr and "0 failed" in r.stdout
    # The demo's checkpoint lives with the embedded fakes' state, not in the working directory.
    assert (tmp_path / "r.jsonl").exists() and (
        tmp_path / "state" / "backfill-photos-1250000000.checkpoint.json"
    ).exists()
    assert not (tmp_path / "backfill-photos-1250000000.checkpoint.json").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bucket", "photos", "--region", "ap-guangzhou"], "bucket 'photos' is not <name>-<appid>"),
        (["--bucket", "photos-1", "--region", "mars"], "unknown COS region code 'mars'"),
        (
            ["--bucket", "photos-1", "--region", "ap-guangzhou", "--since", "yesterday"],
            "--since 'yesterday' is not an ISO 8601 date or time",
        ),
        (["--bucket", "photos-1", "--region", "ap-guangzhou", "--resume", "nope.json"], "no such checkpoint file"),
        (["--bucket", "photos-1", "--region", "ap-guangzhou", "--live"], "--live needs credentials"),
    ],
)
def test_command_usage_errors(tmp_path, args, expected):
    r = autoenhance(user_env(tmp_path), "backfill", *args, cwd=tmp_path)
    assert r.returncode == 2 and expected in r.stderr, r.stderr


def test_command_live_against_a_missing_bucket_fails_clearly(fake_cos, fake_mps, tmp_path):
    args = ["backfill", "--bucket", "nosuch-1250000000", "--region", fake_cos.region, "--live"]
    r = autoenhance(live_env(fake_cos, fake_mps, tmp_path), *args, cwd=tmp_path)
    assert r.returncode == 1 and "NoSuchBucket" in r.stderr and "Traceback" not in r.stderr


def test_command_live_keeps_its_default_checkpoint_where_it_runs(fake_cos, fake_mps, tmp_path):
    """--live without --checkpoint: backfill-BUCKET.checkpoint.json in the working directory (git-ignored);
    the embedded-fakes demo keeps its own in the state directory instead (tests/cli/test_papercuts.py)."""
    seed(fake_cos, ["p/a.jpg"])
    r = autoenhance(live_env(fake_cos, fake_mps, tmp_path), *command(fake_cos, "--live"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    checkpoint = tmp_path / f"backfill-{fake_cos.bucket}.checkpoint.json"
    assert checkpoint.is_file() and f"checkpoint: backfill-{fake_cos.bucket}.checkpoint.json" in r.stdout


def test_resume_with_a_wrong_shaped_checkpoint_names_the_file_and_the_problem(fake_cos, fake_mps, tmp_path):
    (tmp_path / "cp.json").write_text(json.dumps({"identity": {}, "marker": "", "done_after": {}, "counts": {}}))
    with pytest.raises(ValueError, match=r"cp\.json is not a backfill checkpoint: done_after should be an array"):
        Job(fake_cos, fake_mps, tmp_path, resume=True).run()
