"""The HTTP edge holds: every transport fault is a classified outcome, and no call outlives its deadline.

The faults come from the fake MPS (a cut, stalled, trickling or mislabelled answer on a real
socket) or, for the exhaustive test, from every exception class requests, urllib3 and the
standard library can raise, injected where the stack would raise it.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from typing import Any

import pytest
import requests
import requests.exceptions
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.response
from clocks import VirtualClock
from repo import load_event

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import BUCKET, REGION, WarmContainer
from fakes.mps import Fault
from handler.errors import RecordsNotSubmittedError
from handler.transport import _DeadlineSocket, call_deadline, deadline_expired


def put_event() -> dict[str, Any]:
    return load_event("put.json")


# -- every exception class the stack can raise -------------------------------------------------


def _transport_exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in (requests.exceptions, urllib3.exceptions, http.client):
        for obj in vars(module).values():
            if not (isinstance(obj, type) and issubclass(obj, BaseException)) or issubclass(obj, Warning):
                continue
            if module is http.client and not issubclass(obj, http.client.HTTPException):
                continue  # http.client also re-exports builtins; its own errors are HTTPException's
            if module is not http.client and obj.__module__ != module.__name__:
                continue
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    # What the socket layer raises underneath them.
    for obj in (ConnectionResetError, ConnectionRefusedError, BrokenPipeError, socket.timeout, ssl.SSLError, OSError):
        found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


class _Position:
    """What InvalidChunkLength reads off the response it is raised for."""

    length_remaining = 1

    def tell(self) -> int:
        return 0


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance built the way the library builds it (constructors differ; try the shapes they take)."""
    for args in [
        ("injected fault",),
        (None, "/", "injected fault"),
        ("injected fault", "{", 0),
        (None, "injected fault"),
        (0, 1),
        (_Position(), b"x"),
        (),
    ]:
        try:
            exc = cls(*args)
            str(exc), repr(exc)
            return exc
        except Exception:  # noqa: BLE001,S112  (the next shape may fit)
            continue
    raise AssertionError(f"cannot build {cls}")


TRANSPORT_EXCEPTIONS = _transport_exception_classes()


def test_the_enumeration_covers_the_families_the_issue_names():
    names = {c.__name__ for c in TRANSPORT_EXCEPTIONS}
    assert {"ChunkedEncodingError", "ContentDecodingError", "ReadTimeoutError", "IncompleteRead", "SSLError"} <= names
    assert len(TRANSPORT_EXCEPTIONS) > 50


class _RaiseOnce:
    def __init__(self, exc: BaseException) -> None:
        self.exc, self.raised = exc, 0

    def __call__(self, original: Any) -> Any:
        def patched(*args: Any, **kwargs: Any) -> Any:
            if not self.raised:
                self.raised += 1
                raise self.exc
            return original(*args, **kwargs)

        return patched


@pytest.mark.parametrize("where", ["sending", "reading the body"])
@pytest.mark.parametrize("cls", TRANSPORT_EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_transport_exception_is_retried_and_the_record_is_not_lost(fake_mps, monkeypatch, cls, where):
    """Raised once where the stack raises it: the attempt is a NetworkError.*, the retry finishes the record."""
    raise_once = _RaiseOnce(_instance(cls))
    if where == "sending":
        target, name = urllib3.connectionpool.HTTPConnectionPool, "urlopen"
    else:
        target, name = urllib3.response.HTTPResponse, "stream"
    monkeypatch.setattr(target, name, raise_once(getattr(target, name)))
    container = WarmContainer(fake_mps)
    _summary, error = container.outcome(put_event())
    assert error is None, error
    assert raise_once.raised == 1
    [line] = container.records_logged()
    assert line["attempts"] == 2 and line["outcome"] in ("submitted", "duplicate")
    assert len(fake_mps.backend.tasks) == 1
    if where == "reading the body":  # the answer was lost after MPS created the task: the retry says so
        assert line["outcome"] == "duplicate" and "attempt 1 of this invocation got no answer" in line["reason"]
        assert "(NetworkError." in line["reason"] or "(InvalidResponse" in line["reason"]


# -- faults on the wire, through the fake MPS ----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.cut_body(), "NetworkError.IncompleteAnswer"),
        (Fault.cut_body(sent_bytes=10), "NetworkError.IncompleteAnswer"),
        (Fault.bad_encoding("gzip"), "NetworkError.UnreadableAnswer"),
        (Fault.lost_answer(), "NetworkError.ConnectionLost"),
    ],
    ids=["cut-after-headers", "cut-mid-body", "bad-content-encoding", "lost-answer"],
)
def test_an_answer_lost_after_the_task_was_created_keeps_its_story(fake_mps, fault, code):
    """MPS created the task, the answer never arrived: one task, and the log says whose it is."""
    fake_mps.backend.inject(fault)
    container = WarmContainer(fake_mps)
    _summary, error = container.outcome(put_event())
    assert error is None
    [line] = container.records_logged()
    assert len(fake_mps.backend.tasks) == 1
    assert line["outcome"] == "duplicate" and line["task_id"] is None and line["attempts"] == 2
    assert f"attempt 1 of this invocation got no answer ({code}" in line["reason"]
    assert "TaskId is unknown" in line["reason"] and "DescribeImageTasks" in line["reason"]


def test_a_duplicate_without_a_lost_answer_is_an_earlier_delivery(fake_mps):
    container = WarmContainer(fake_mps)
    container.outcome(put_event())
    container.outcome(put_event())
    first, second = container.records_logged()
    assert first["outcome"] == "submitted" and second["outcome"] == "duplicate"
    assert second["reason"] == "MPS already has a task for this SessionId (earlier delivery)"


class _PeerClock(VirtualClock):
    """Each read costs 0.1 s and makes the peer send one more byte: a trickle driven by the clock."""

    def __init__(self, peer: socket.socket) -> None:
        super().__init__(tick=0.1)
        self.peer = peer

    def __call__(self) -> float:
        self.peer.sendall(b"x")
        return super().__call__()


def test_a_trickle_is_cut_when_the_deadline_passes_on_the_injected_clock():
    """http.client reads an answer through makefile(): a byte per read keeps every read short, yet the
    call ends when its deadline passes on the clock, not when the body ends."""
    ours, peer = socket.socketpair()
    try:
        ours.settimeout(5.0)  # the read timeout urllib3 would set
        clock = _PeerClock(peer)
        sock = _DeadlineSocket(ours)
        with pytest.raises(socket.timeout), call_deadline(1.0, clock):
            sock.makefile("rb").read(1000)
        assert deadline_expired()
        assert 1.0 <= clock.now - 1000.0 <= 1.3  # it stopped at the deadline (about 10 reads of 0.1 s), not after
    finally:
        ours.close()
        peer.close()


def test_a_trickling_body_fails_the_record_with_the_deadline_code(fake_mps):
    """One byte per 50 ms (several seconds for the whole answer) with 1.6 s of budget."""
    fake_mps.backend.inject(Fault.trickle_body(0.05), times=100)
    container = WarmContainer(fake_mps)
    _summary, error = container.outcome(put_event(), limit_ms=2000)
    assert isinstance(error, RecordsNotSubmittedError)
    [line] = container.records_logged()
    assert line["error_code"] == "NetworkError.DeadlineExceeded"
    assert 'uploads/2026/cat.jpg": NetworkError.DeadlineExceeded' in str(error)


def test_late_headers_past_the_deadline_fail_the_record_inside_the_limit(fake_mps):
    """Headers after 2 s with 1.6 s of budget: the record fails in time, listed, and SCF retries it."""
    fake_mps.backend.inject(Fault.slow(2.0))
    container = WarmContainer(fake_mps)
    _summary, error = container.outcome(put_event(), limit_ms=2000)
    assert isinstance(error, RecordsNotSubmittedError)
    [line] = container.records_logged()
    assert line["outcome"] == "failed"
    assert line["error_code"] in ("NetworkError.DeadlineExceeded", "ClientNetworkError", "NetworkError.Timeout")
    assert "uploads/2026/cat.jpg" in str(error)


def test_a_stalled_body_is_retried_and_the_retry_is_a_duplicate(fake_mps):
    fake_mps.backend.inject(Fault.stall_body(0.6))
    container = WarmContainer(fake_mps, {"MPS_TIMEOUT_SECONDS": "0.3"})
    _summary, error = container.outcome(put_event())
    assert error is None
    [line] = container.records_logged()
    assert line["outcome"] == "duplicate" and len(fake_mps.backend.tasks) == 1
    assert "NetworkError." in line["reason"]


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_many_records_and_slow_logging_still_end_inside_the_limit(make_fake_mps, concurrency):
    """3,000 records, 20 requests/s, and a CPU so slow each log line costs 0.3 ms: the function keeps
    back the time to log every record it cannot submit, so it reports its own failure in time.

    With workers (a merged event's calls go out together), the moment it runs out of time it
    cancels every call no worker has started: workers finding that out one by one cost the time
    the remaining lines need (a loaded machine measured 3.11 s of 3.0 before that).
    """
    clock = VirtualClock(tick=0.0001)
    fake = make_fake_mps(rate_limit_per_second=20, clock=clock, rate_clock=clock)
    records = [cos_record(BUCKET, REGION, f"big/{i:05d}.jpg", event_time=1_764_000_000 + i) for i in range(3000)]

    class SlowStream(io.StringIO):
        def write(self, text: str) -> int:
            clock.sleep(0.0003)
            return super().write(text)

    container = WarmContainer(fake, {"MPS_CONCURRENCY": concurrency}, clock=clock, stream=SlowStream())
    started = clock.now
    summary, error = container.outcome(cos_event(records), limit_ms=3000)
    assert clock.now - started < 3.0
    assert isinstance(error, RecordsNotSubmittedError)
    outcomes = [r["outcome"] for r in summary["results"]]
    assert len(outcomes) == 3000 and outcomes.count("submitted") == len(fake.backend.tasks) > 0
    assert outcomes.count("submitted") + outcomes.count("failed") == 3000


def test_a_held_up_log_write_does_not_let_the_workers_spend_the_logging_time(make_fake_mps):
    """The same event, with the first line's write held up 0.5 s on the wall (a full pipe to the log
    collector; no time passes on the clock): the workers go on meanwhile and run out of time before
    the main thread can look. The first to find no time left for a call stops every call no worker
    has started: workers finding that out record by record would spend the time the lines need.
    """
    clock = VirtualClock(tick=0.0001)
    fake = make_fake_mps(rate_limit_per_second=20, clock=clock, rate_clock=clock)
    records = [cos_record(BUCKET, REGION, f"big/{i:05d}.jpg", event_time=1_764_000_000 + i) for i in range(3000)]

    class HeldUpStream(io.StringIO):
        def write(self, text: str) -> int:
            if not self.tell():
                time.sleep(0.5)
            clock.sleep(0.0003)
            return super().write(text)

    container = WarmContainer(fake, {"MPS_CONCURRENCY": "4"}, clock=clock, stream=HeldUpStream())
    started = clock.now
    summary, error = container.outcome(cos_event(records), limit_ms=3000)
    assert clock.now - started < 3.0
    assert isinstance(error, RecordsNotSubmittedError)
    outcomes = [r["outcome"] for r in summary["results"]]
    assert outcomes.count("submitted") == len(fake.backend.tasks) > 0
    assert outcomes.count("submitted") + outcomes.count("failed") == 3000


# -- what a message quotes ----------------------------------------------------------------------


def test_a_key_with_a_newline_cannot_forge_a_line_in_the_raised_message(fake_mps):
    key = "uploads/evil\nERROR forged line\u2028.jpg"
    container = WarmContainer(fake_mps)
    _summary, error = container.outcome(cos_event([cos_record(BUCKET, REGION, key)]))
    assert isinstance(error, RecordsNotSubmittedError)
    message = str(error)
    assert "\n" not in message and "\u2028" not in message
    assert '"photos-1250000000/uploads/evil\\nERROR forged line\\u2028.jpg": ' in message  # a JSON string


def test_log_lines_stay_one_line_for_every_reader(fake_mps):
    """U+2028, U+2029 and U+0085 are line breaks to str.splitlines() and JavaScript: escaped, still valid JSON."""
    key = "uploads/a\u2028b\u2029c\x85d.jpg"
    container = WarmContainer(fake_mps)
    container.outcome(cos_event([cos_record(BUCKET, REGION, key)]))
    text = container.log()
    assert len(text.splitlines()) == len(text.split("\n")) - 1
    [line] = container.records_logged()
    assert line["key"] == key
