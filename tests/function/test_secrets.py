"""Canary secrets: the role's secret key and session token, and the uploader's Authorization header,
never appear in anything the function shows, on any path (the CLI's: tests/cli/test_cli_secrets.py).

Each scenario runs the real function (real SDK, signed HTTP) against a fake MPS that accepts the
canary credentials, and makes the canaries reach places they could leak from: MPS error messages
that echo them, event fields that carry them, configuration values that hold them. Everything
observable is then searched: log lines, return values, exception messages and reprs, formatted
tracebacks, the SDK's own DEBUG logging, and the CLI's stdout/stderr.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
import requests
from canaries import CANARY_AUTH, CANARY_ROLE, ECHO, assert_no_secret, canary_event

from fakes.harness import REGION, WarmContainer
from fakes.mps import Fault
from handler.errors import ConfigurationError, MalformedEventError, RecordsNotSubmittedError

CANARY_KEY, CANARY_TOKEN = CANARY_ROLE.secret_key, CANARY_ROLE.token
CONTEXT = {"request_id": "canary", "time_limit_in_ms": 60_000, "tencentcloud_region": REGION}
SHORT = {**CONTEXT, "time_limit_in_ms": 1_000}  # for paths that retry until the time budget is gone


@pytest.fixture
def canary_mps(make_fake_mps):
    """A fake MPS whose execution role is the canary (so calls really get through)."""
    return make_fake_mps(identity=CANARY_ROLE, rate_limit_per_second=None)


@dataclass
class Observed:
    """Everything the invocations of one scenario exposed."""

    log: str
    sdk_log: str
    outcomes: list[dict[str, Any] | BaseException]  # per invocation: the return value or the raised error
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any] | None:
        last = self.outcomes[-1]
        return last if isinstance(last, dict) else None

    @property
    def error(self) -> BaseException | None:
        last = self.outcomes[-1]
        return last if isinstance(last, BaseException) else None

    def __post_init__(self) -> None:
        self.texts = {"the function's log": self.log, "the SDK's DEBUG log": self.sdk_log}
        for i, outcome in enumerate(self.outcomes):
            if isinstance(outcome, dict):
                self.texts[f"return value {i}"] = json.dumps(outcome, ensure_ascii=False)
                continue
            e = outcome
            self.texts[f"exception {i} message"] = str(e)
            self.texts[f"exception {i} repr"] = repr(e)
            self.texts[f"exception {i} traceback"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            if isinstance(e, RecordsNotSubmittedError):
                self.texts[f"exception {i} summary"] = json.dumps(e.summary, ensure_ascii=False)

    def assert_clean(self) -> None:
        for where, text in self.texts.items():
            assert_no_secret(text, where)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


def run(fake, event: Any, context: dict[str, Any] = CONTEXT, times: int = 1, **env: str | None) -> Observed:
    """Invoke a fresh container on `fake` (its environment changed by `env`; None removes a variable)
    `times` times with the root logger at DEBUG (as a debugging user might)."""
    container, capture = WarmContainer(fake, env, sleep=time.sleep), _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    outcomes: list[dict[str, Any] | BaseException] = []
    try:
        for _ in range(times):
            summary, error = container.outcome(copy.deepcopy(event), context)
            outcomes.append(error if error is not None else summary)
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    return Observed(container.log(), "\n".join(capture.lines), outcomes)


# ---- every path of the function ---------------------------------------------------------------


def test_success_path_leaks_nothing(canary_mps):
    """Submitted records, one of them with a key that contains the uploader's Authorization value."""
    seen = run(canary_mps, canary_event("uploads/cat.jpg", f"uploads/{CANARY_AUTH}.jpg"))
    assert seen.summary is not None and seen.summary["submitted"] == 2
    assert "X-TC-Token" in seen.sdk_log  # the SDK did log its requests: the check below means something
    seen.assert_clean()


@pytest.mark.parametrize(
    ("fault", "times", "context", "outcome"),
    [
        pytest.param(Fault.error("InternalError", ECHO), 10_000, SHORT, "failed", id="transient-exhausted"),
        pytest.param(Fault.error("AuthFailure.UnauthorizedOperation", ECHO), 1, CONTEXT, "failed", id="permanent"),
        pytest.param(Fault.error("InvalidParameterValue.SessionId", ECHO), 1, CONTEXT, "duplicate", id="duplicate"),
        pytest.param(Fault.error("UnknownParameter", ECHO), 1, CONTEXT, "submitted", id="session-id-rejected"),
        pytest.param(Fault.error("AuthFailure.TokenFailure", ECHO), 1, CONTEXT, "failed", id="token-failure"),
        pytest.param(Fault.http_status(502), 10_000, SHORT, "failed", id="gateway-error"),
    ],
)
def test_failure_classes_leak_nothing(canary_mps, fault, times, context, outcome):
    """MPS answers that echo all three secrets, on each failure class: the echo is always redacted."""
    canary_mps.backend.inject(fault, times=times)
    seen = run(canary_mps, canary_event(), context)
    summary = seen.summary if seen.summary is not None else getattr(seen.error, "summary", None)
    assert summary is not None and summary["results"][0]["outcome"] == outcome
    assert (seen.error is not None) == (outcome == "failed")
    if fault.message and outcome == "failed":
        assert "echo key=***" in seen.log  # the echo arrived and was redacted, not dropped
    seen.assert_clean()


def test_redelivered_event_duplicate_path_leaks_nothing(canary_mps):
    """The same event twice: the second delivery is a duplicate; neither delivery leaks."""
    seen = run(canary_mps, canary_event(), times=2)
    assert seen.summary is not None and seen.summary["duplicate"] == 1
    seen.assert_clean()


def test_missing_credentials_path_leaks_nothing(canary_mps):
    """A secret key and token without a secret id: MissingCredentials, and the key and token stay unshown."""
    seen = run(canary_mps, canary_event(), TENCENTCLOUD_SECRETID=None)
    assert isinstance(seen.error, RecordsNotSubmittedError) and "MissingCredentials" in str(seen.error)
    seen.assert_clean()


def test_transport_error_that_echoes_request_headers_leaks_nothing(canary_mps, monkeypatch):
    """A transport failure whose text repeats the request headers (as requests' InvalidHeader does)."""

    def send(self, request, **kwargs):
        raise requests.exceptions.InvalidHeader(f"Invalid header value: {dict(request.headers)!r}")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    seen = run(canary_mps, canary_event(), SHORT)
    assert isinstance(seen.error, RecordsNotSubmittedError) and "NetworkError." in str(seen.error)
    assert "X-TC-Token" in seen.log  # the headers did reach the error text, redacted
    seen.assert_clean()


def test_session_token_with_stray_line_ending_is_used_and_never_shown(canary_mps):
    """A token read from a CRLF file keeps its '\\r\\n': the key and token are trimmed alike, and work."""
    seen = run(canary_mps, canary_event(), SHORT, TENCENTCLOUD_SESSIONTOKEN=CANARY_TOKEN + "\r\n")
    assert seen.summary is not None and seen.summary["submitted"] == 1, seen.texts
    seen.assert_clean()


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(CANARY_AUTH, id="event-is-the-secret"),
        pytest.param({"Records": canary_event()["Records"][0]}, id="records-not-a-list"),
        pytest.param({"records": canary_event()["Records"]}, id="no-records-field"),
    ],
)
def test_malformed_events_leak_nothing(canary_mps, event):
    """Events that are not COS events, carrying the canary: MalformedEventError without it."""
    seen = run(canary_mps, event)
    assert isinstance(seen.error, MalformedEventError)
    seen.assert_clean()


def _malformed(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = canary_event()
    mutate(event["Records"][0])
    return event


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_malformed(lambda r: r["cos"]["cosBucket"].update(appid=CANARY_AUTH)), id="appid"),
        pytest.param(_malformed(lambda r: r["cos"]["cosObject"].update(key=f"/1/x/{CANARY_AUTH}")), id="key-prefix"),
        pytest.param(_malformed(lambda r: r["cos"]["cosBucket"].update(cosRegion=CANARY_AUTH)), id="region"),
        pytest.param(_malformed(lambda r: r["event"].update(eventTime=CANARY_AUTH)), id="event-time"),
        pytest.param(_malformed(lambda r: r["cos"]["cosObject"].update(size=CANARY_KEY)), id="size-is-the-key"),
        pytest.param(
            _malformed(lambda r: r["cos"]["cosObject"].update(key=f"/1250000000/photos/../{CANARY_AUTH}.jpg")),
            id="unsafe-key",
        ),
    ],
)
def test_malformed_records_leak_nothing(canary_mps, event):
    """Record fields that hold a secret and are quoted back in the record's error message."""
    seen = run(canary_mps, event)
    assert isinstance(seen.error, RecordsNotSubmittedError)
    assert "***" in seen.log  # the record's error did quote the field, redacted
    seen.assert_clean()


def test_configuration_error_leaks_nothing(canary_mps):
    """Secrets pasted into the wrong variables: the ConfigurationError names the problem, not the value."""
    seen = run(
        canary_mps,
        canary_event(),
        OUTPUT_BUCKET=CANARY_KEY,
        MPS_IMAGE_TASK=json.dumps({"EncodeConfig": {"Format": CANARY_TOKEN}}),
    )
    assert isinstance(seen.error, ConfigurationError)
    assert "OUTPUT_BUCKET" in str(seen.error) and "EncodeConfig.Format" in str(seen.error)
    seen.assert_clean()


@pytest.mark.parametrize("auth", ['q-sign"quoted\\back', "true", '", "level": "'], ids=["quote", "true", "json"])
def test_redaction_finds_secrets_json_would_escape_and_keeps_log_lines_valid_json(canary_mps, auth):
    """Header values JSON escapes ('"', '\\') or that look like JSON: still redacted, lines still parse."""
    event = canary_event(f"uploads/{auth}.jpg")
    event["Records"][0]["event"]["requestParameters"]["requestHeaders"]["Authorization"] = auth
    seen = run(canary_mps, event)
    assert seen.summary is not None and seen.summary["submitted"] == 1
    lines = [json.loads(line) for line in seen.log.splitlines()]  # every line is still one JSON object
    assert lines[-1]["key"] == "uploads/***.jpg" and lines[-1]["cold_start"] is True
    assert not [v for line in lines for v in line.values() if isinstance(v, str) and auth in v]
