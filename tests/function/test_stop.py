"""The invocation told to stop (`Runtime.stopping`, the CLI's Ctrl-C; never in SCF): no call starts,
the calls in flight end with their real outcome, and every record gets its line, in order.

No signals here: the test flips the flag itself, while the fake MPS holds calls at a gate the test
opens, so what is in flight is the test's choice and nothing depends on the machine's speed.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, CONTEXT, REGION, function_env
from fakes.mps import Fault
from handler.errors import INTERRUPTED, RecordsNotSubmittedError
from handler.index import AutoEnhanceFunction, load_function
from handler.runtime import Runtime

FREE = 3  # calls the gate lets through before it holds the rest
GUARD = 60  # seconds: against a hung test only


class Gate:
    """The fake's ProcessImage (looked up per request): the first FREE calls pass, later ones wait."""

    def __init__(self, backend: Any):
        self._inner = backend.process_image
        self._lock = threading.Lock()
        self.opened, self.some_held = threading.Event(), threading.Event()
        self.entered = 0
        backend.process_image = self

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.entered += 1
            hold = self.entered > FREE
        if hold:
            self.some_held.set()
            self.opened.wait(GUARD)
        return self._inner(*args)


class Stop:
    """The flag a Ctrl-C handler sets; `at_call` sets it once the fake has seen that many calls."""

    def __init__(self, mps: Any = None, at_call: int | None = None):
        self.requested = False
        self._mps, self._at_call = mps, at_call

    def __call__(self) -> bool:
        if self._at_call is not None and len(self._mps.backend.calls) >= self._at_call:
            self.requested = True
        return self.requested


def function(mps: Any, stop: Stop, **env: str) -> tuple[AutoEnhanceFunction, io.StringIO]:
    log = io.StringIO()
    fn = load_function(Runtime(function_env(mps.url, mps.identity, **env), stream=log, stopping=stop))
    assert isinstance(fn, AutoEnhanceFunction)
    return fn, log


def records(log: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    return [line for line in lines if line["message"].startswith("record ")]


def event(keys: list[str]) -> dict[str, Any]:
    return cos_event([cos_record(BUCKET, REGION, key) for key in keys])


def test_a_merged_event_told_to_stop_starts_no_call_and_logs_every_record(fake_mps):
    stop = Stop()
    fn, log = function(fake_mps, stop, MPS_CONCURRENCY="4")
    gate = Gate(fake_mps.backend)
    keys = [f"uploads/{i:02d}.jpg" for i in range(40)]
    raised: list[BaseException] = []

    def invoke() -> None:
        try:
            fn.handle(event(keys), CONTEXT)
        except BaseException as exc:  # noqa: BLE001  (checked below, in the test's thread)
            raised.append(exc)

    invocation = threading.Thread(target=invoke)
    invocation.start()
    assert gate.some_held.wait(GUARD)
    in_flight = fn.calls_in_flight  # what the CLI's message says
    stop.requested = True  # what the Ctrl-C handler does
    gate.opened.set()
    invocation.join(GUARD)

    [error] = raised
    assert isinstance(error, RecordsNotSubmittedError)
    lines = records(log)
    assert [line["index"] for line in lines] == list(range(40))  # every record, once, in order
    tasks = {t.task_id for t in fake_mps.backend.tasks}
    assert {line["task_id"] for line in lines if line["task_id"]} == tasks  # every task has its line
    assert in_flight >= 1 and len(tasks) - FREE <= in_flight  # nothing started after the stop
    never_sent = [line for line in lines if line["error_code"] == INTERRUPTED]
    assert len(never_sent) == 40 - len(tasks) > 0
    assert all(line["outcome"] == "failed" and line["attempts"] == 0 for line in never_sent)
    assert fn.calls_in_flight == 0


def test_stopped_before_the_call_a_record_is_not_sent_and_a_skip_still_logged(fake_mps):
    fn, log = function(fake_mps, Stop(fake_mps, at_call=0))
    with pytest.raises(RecordsNotSubmittedError, match=f'uploads/a.jpg": {INTERRUPTED}'):
        fn.handle(event(["uploads/a.jpg", "uploads/notes.txt"]), CONTEXT)
    failed, skipped = records(log)
    assert (failed["error_code"], failed["attempts"], failed["task_id"]) == (INTERRUPTED, 0, None)
    assert skipped["outcome"] == "skipped"
    assert len(fake_mps.backend.calls) == 0


def test_a_call_in_flight_keeps_its_real_outcome_and_is_not_retried(fake_mps):
    fake_mps.backend.inject(Fault.error("InternalError"))
    fn, log = function(fake_mps, Stop(fake_mps, at_call=1))  # told to stop while the first call was out
    with pytest.raises(RecordsNotSubmittedError):
        fn.handle(event(["uploads/a.jpg"]), CONTEXT)
    [line] = records(log)
    assert (line["error_code"], line["attempts"]) == ("InternalError", 1)
    assert "stopped before retrying" in line["error"]
    assert len(fake_mps.backend.calls) == 1


def test_scf_never_stops_the_function():
    assert Runtime().stopping() is False
