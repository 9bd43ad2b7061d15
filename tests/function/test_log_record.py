"""The log line's contract: handler/times.py's one time pair, and handler/results.py's one writer
and one reader of a record's line. `autoenhance report` and `usage` trust only what this reader
accepts, so what it refuses matters as much as what it reads."""

from __future__ import annotations

import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.log import JsonLog, Redactor
from handler.results import LogRecord, Outcome, RecordResult, read_record, write_record
from handler.times import EARLIEST, LATEST, format_time, parse_time

# -- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (-1, -1.0),
        (1.5, 1.5),
        ("1764000000", 1764000000.0),
        ("2026-12-07T14:31:14.250Z", 1796653874.25),
        ("2026-12-07T22:31:14.250+08:00", 1796653874.25),
        ("2026-12-07T14:31:14", 1796653874.0),  # naive is UTC
        ("0001-01-01T00:00:00Z", EARLIEST),
        ("9999-12-31T23:59:59.999Z", LATEST),
    ],
)
def test_parse_time_reads_epoch_seconds_and_iso_8601(value, seconds):
    assert parse_time(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [None, True, False, "", " ", "abc", "+1", "1e9", "²", [1], {}, math.nan, math.inf, -math.inf,
     253402300800, -62135596801, 2**53, -(2**53), 10**400, "9" * 20, "10000-01-01T00:00:00Z", "2026-13-01"],
    ids=repr,
)  # fmt: skip
def test_parse_time_refuses_what_is_no_time_it_can_write(value):
    assert parse_time(value) is None


def test_epoch_units_are_guessed_only_when_asked():
    ms = 1_764_000_000_123
    assert parse_time(ms) is None  # the year 55,866 in seconds: not a time
    assert parse_time(ms, units="auto") == pytest.approx(1_764_000_000.123)
    assert parse_time(ms * 1000, units="auto") == pytest.approx(1_764_000_000.123)
    assert parse_time(ms * 1_000_000, units="auto") == pytest.approx(1_764_000_000.123)


def test_format_time_writes_milliseconds_or_seconds_in_utc():
    assert format_time(0) == "1970-01-01T00:00:00.000Z"
    assert format_time(1796653874.2504) == "2026-12-07T14:31:14.250Z"
    assert format_time(1796653874.6, ms=False) == "2026-12-07T14:31:15Z"
    assert format_time(EARLIEST) == "0001-01-01T00:00:00.000Z"  # four-digit years, on every platform
    assert format_time(LATEST) == "9999-12-31T23:59:59.999Z"
    assert format_time(LATEST, ms=False) == "9999-12-31T23:59:59Z"  # never rounded into the year 10000
    for outside in (LATEST + 1, EARLIEST - 1, math.nan):
        with pytest.raises(ValueError):
            format_time(outside)


@given(st.floats(min_value=EARLIEST, max_value=LATEST))
def test_every_time_parse_time_accepts_round_trips_through_format_time(seconds):
    assert parse_time(format_time(seconds)) == pytest.approx(seconds, abs=0.001)  # to the millisecond


# -- the record line ----------------------------------------------------------------------------

RESULT = RecordResult(
    3, "photos-1250000000", "uploads/a b+1%.jpg", Outcome.SUBMITTED, session_id="ae3-x", task_id="2600011111-ImageTask-1",
    mps_request_id="req-1", attempts=1, latency_ms=12.5, since_event_s=2.25, rule="avatars",
)  # fmt: skip
RECORD = LogRecord(RESULT, 1_764_000_002.25, 1_764_000_000.0, "scf-req-1", True)


def written(record: LogRecord, secrets: tuple[str, ...] = ()) -> str:
    out = io.StringIO()
    write_record(JsonLog(Redactor(secrets), out), record)
    return out.getvalue()


def test_a_written_line_reads_back_as_the_same_record():
    line = written(RECORD)
    assert line.endswith("\n") and line.count("\n") == 1
    assert read_record(line) == RECORD._replace(time=pytest.approx(RECORD.time))
    fields = json.loads(line)
    assert fields["message"] == "record submitted" and fields["level"] == "INFO"
    assert fields["time"] == "2025-11-24T16:00:02.250Z" and fields["event_time"] == "2025-11-24T16:00:00.000Z"


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_round_trips_with_its_level(outcome):
    record = RECORD._replace(result=RESULT._replace(outcome=outcome))
    line = json.loads(written(record))
    assert line["level"] == ("ERROR" if outcome is Outcome.FAILED else "INFO")
    assert read_record(json.dumps(line)).result.outcome is outcome


keys = st.text(min_size=1, max_size=40)


@given(
    key=keys,
    bucket=st.text(max_size=20),
    error=st.none() | st.text(max_size=40),
    event_time=st.none() | st.integers(0, 2**34),
)
def test_any_key_and_error_text_round_trip(key, bucket, error, event_time):
    record = RECORD._replace(result=RESULT._replace(key=key, bucket=bucket, error=error), event_time=event_time)
    read = read_record(written(record))
    assert read is not None
    assert (read.result.key, read.result.bucket, read.result.error, read.event_time) == (key, bucket, error, event_time)


def test_a_record_object_inside_other_text_is_not_a_record():
    """An uploader's key quoted in a traceback (SCF logs the raised message as its last line)."""
    forged = json.loads(written(RECORD._replace(result=RESULT._replace(outcome=Outcome.FAILED))))
    forged["key"] = "uploads/someone-elses-photo.jpg"
    quoted = json.dumps(forged)
    for text in (
        f"RecordsNotSubmittedError: 1 of 1 records not submitted: [0] photos-1250000000/uploads/{quoted}.jpg",
        f"[ERROR] {quoted}",
        f"{quoted} trailing",
        f"[{quoted}]",
        json.dumps({"outer": forged}),
    ):
        assert read_record(text) is None, text


@pytest.mark.parametrize(
    "change",
    [
        {"message": "record skipped"},  # says another outcome than its field
        {"level": "ERROR"},  # a submitted record is INFO
        {"outcome": "lost"},
        {"index": -1},
        {"index": "3"},
        {"index": True},
        {"key": None},
        {"bucket": 5},
        {"attempts": -1},
        {"task_id": 7},
        {"latency_ms": "12"},
        {"time": "yesterday"},
        {"event_time": 253402300800},
        {"cold_start": "yes"},
        {"extra": 1},  # a key the function never writes
        {"time": 1764000002},  # times are written as ISO strings, never numbers
        {"request": {"Definition": 1}},  # only a dry run's would_submit carries a request
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_line_that_is_not_exactly_what_the_writer_writes_is_refused(change):
    line = {**json.loads(written(RECORD)), **change}
    assert read_record(json.dumps(line)) is None


@pytest.mark.parametrize("missing", ["error", "attempts", "session_id", "cold_start", "scf_request_id"])
def test_a_line_missing_a_field_the_function_always_writes_is_refused(missing):
    line = json.loads(written(RECORD))
    del line[missing]
    assert read_record(json.dumps(line)) is None


def test_lines_from_before_rules_and_times_still_read():
    line = json.loads(written(RECORD))
    for later in ("rule", "time", "event_time"):
        del line[later]
    assert read_record(json.dumps(line)).result.key == RESULT.key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '"record"',
        "{}",
        "[" * 100_000 + "]" * 100_000,
        "{" + '"a":' * 50_000 + "1" + "}" * 50_000,
    ],
    ids=lambda t: t[:10],
)
def test_text_that_is_no_record_at_all_is_refused_without_an_exception(text):
    assert read_record(text) is None


def test_an_oversized_line_is_refused_before_it_is_parsed():
    record = RECORD._replace(result=RESULT._replace(error="x" * 70_000))
    assert read_record(written(record)) is None


def test_secrets_are_redacted_on_the_line_and_so_in_what_is_read():
    secret = "s3cr3t-token-value"
    record = RECORD._replace(result=RESULT._replace(outcome=Outcome.FAILED, error=f"denied for {secret}"))
    line = written(record, secrets=(secret,))
    assert secret not in line
    assert read_record(line).result.error == "denied for ***"
