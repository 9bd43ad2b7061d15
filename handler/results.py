"""What became of one record: the typed result, and the one place it is turned into words.

Every path (the function, dry runs, backfill) ends a record in a `RecordResult`. The function
logs it as a `LogRecord`: `write_record` writes that line and `read_record` reads it back (for
`autoenhance report` and `usage`), `log_fields` makes the entry in the function's return value,
`report_row` backfill's report row, `describe` the CLI's human line, `count` the summary's counts:
the field names and the outcome words are written here only.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

from .log import JsonLog
from .times import format_time, parse_time


class Outcome(str, enum.Enum):
    SUBMITTED = "submitted"  # MPS accepted a new task
    DUPLICATE = "duplicate"  # MPS already had the task for this SessionId (an earlier delivery)
    SKIPPED = "skipped"  # not an image, not an upload, or the function's own output
    FAILED = "failed"  # could not be submitted: the invocation fails so SCF retries it
    WOULD_SUBMIT = "would_submit"  # a dry run's answer for a record that would be submitted

    def __str__(self) -> str:
        return self.value


# The counts a summary carries, in this order (a dry run's would_submit only where it occurs).
COUNTED = (Outcome.SUBMITTED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.FAILED)


class RecordResult(NamedTuple):
    position: int  # place in the event's Records (backfill: in the listing); logged as "index"
    bucket: str
    key: str
    outcome: Outcome
    reason: str | None = None  # why skipped or duplicate, in words
    session_id: str | None = None
    task_id: str | None = None
    mps_request_id: str | None = None
    error_code: str | None = None  # failed: the wire or transport code (or the function's own)
    error: str | None = None  # failed: what went wrong, in words
    attempts: int = 0
    latency_ms: float | None = None  # of the last attempt
    since_event_s: float | None = None  # from the upload's eventTime to this result
    request: dict[str, Any] | None = None  # would_submit: the exact ProcessImage body
    rule: str | None = None  # the RULES_FILE rule the record matched (None: the environment's configuration)


class LogRecord(NamedTuple):
    """One record's log line, typed: `write_record` is its one writer (the function), `read_record`
    its one reader (`autoenhance report` and `usage`). Times are Unix seconds here and ISO 8601 UTC
    on the line (handler/times.py)."""

    result: RecordResult
    time: float | None  # when the line was written
    event_time: float | None = None  # the upload's eventTime
    scf_request_id: str = ""  # the invocation that wrote it
    cold_start: bool = False  # the first invocation of its container

    @property
    def level(self) -> str:
        return "ERROR" if self.result.outcome is Outcome.FAILED else "INFO"

    @property
    def message(self) -> str:
        return RECORD_MESSAGE + self.result.outcome.value


RECORD_MESSAGE = "record "  # + the outcome: "record submitted", "record failed", ...

# The line's fields after level and message: these keys, always, in this order. The first block
# comes from the RecordResult (position is logged as "index"), the second from the invocation.
_RESULT_KEYS = (
    "bucket", "key", "rule", "outcome", "reason", "session_id", "task_id", "mps_request_id",
    "error_code", "error", "attempts", "latency_ms", "since_event_s",
)  # fmt: skip
_TEXT_KEYS = ("rule", "reason", "session_id", "task_id", "mps_request_id", "error_code", "error")
_NUMBER_KEYS = ("latency_ms", "since_event_s")
_LINE_KEYS = frozenset(
    ("level", "message", "index", *_RESULT_KEYS, "event_time", "time", "scf_request_id", "cold_start", "request")
)
# Every line has these; rule, time and event_time came later (older lines lack them), and a request
# only ever with would_submit (a dry run's).
_ALWAYS = _LINE_KEYS - {"rule", "time", "event_time", "request"}
# A record line is short (a key is at most 850 bytes, an error a few KB); a longer line is not
# the function's, and is not parsed.
MAX_RECORD_LINE = 64 * 1024


def log_fields(result: RecordResult) -> dict[str, Any]:
    """The result's part of the log line, also each entry of the function's return value."""
    fields = {"index": result.position, **{k: getattr(result, k) for k in _RESULT_KEYS}}
    fields["outcome"] = result.outcome.value
    if result.request is not None:
        fields["request"] = result.request
    return fields


def record_fields(record: LogRecord) -> dict[str, Any]:
    """Every field of the record's line after level and message, as written."""
    return {
        **log_fields(record.result),
        "event_time": None if record.event_time is None else format_time(record.event_time),
        "time": None if record.time is None else format_time(record.time),
        "scf_request_id": record.scf_request_id,
        "cold_start": record.cold_start,
    }


def write_record(log: JsonLog, record: LogRecord) -> dict[str, Any]:
    """Write the record's line to `log`; returns its fields as written (secrets redacted)."""
    fields = log.clean(record_fields(record))
    log.emit(record.level, record.message, fields, cleaned=True)
    return fields


def read_record(text: str) -> LogRecord | None:
    """The record a whole log line holds, or None when the line is not one the function wrote.

    Only a line that is exactly one record object counts: an object found inside other text (a
    traceback quoting an uploader's key, say) is never a record. Every field must have the type
    and value the writer gives it.
    """
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")) or len(text) > MAX_RECORD_LINE:
        return None
    try:
        line = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _record_from(line) if isinstance(line, dict) else None


def _record_from(line: dict[str, Any]) -> LogRecord | None:
    try:
        outcome = Outcome(line.get("outcome"))
    except ValueError:
        return None
    index, bucket, key, attempts = line.get("index"), line.get("bucket"), line.get("key"), line.get("attempts")
    if (
        not (isinstance(index, int) and not isinstance(index, bool) and index >= 0)
        or not (isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 0)
        or not (isinstance(bucket, str) and isinstance(key, str))
    ):
        return None
    if (
        not _ALWAYS <= line.keys() <= _LINE_KEYS
        or ("request" in line and not (outcome is Outcome.WOULD_SUBMIT and isinstance(line["request"], dict)))
        or not all(line.get(k) is None or isinstance(line[k], str) for k in ("time", "event_time"))
        or line.get("message") != RECORD_MESSAGE + outcome.value
        or line.get("level") != ("ERROR" if outcome is Outcome.FAILED else "INFO")
        or not all(line.get(k) is None or isinstance(line[k], str) for k in _TEXT_KEYS)
        or not all(line.get(k) is None or _is_number(line[k]) for k in _NUMBER_KEYS)
        or not isinstance(line.get("scf_request_id", ""), str)
        or not isinstance(line.get("cold_start", False), bool)
    ):
        return None
    times = [line.get(k) for k in ("time", "event_time")]
    parsed = [parse_time(t) for t in times]
    if any(t is not None and p is None for t, p in zip(times, parsed)):
        return None
    result = RecordResult(
        index, bucket, key, outcome, **{k: line.get(k) for k in _TEXT_KEYS},
        attempts=attempts, **{k: line.get(k) for k in _NUMBER_KEYS},
    )  # fmt: skip
    return LogRecord(result, parsed[0], parsed[1], line.get("scf_request_id", ""), line.get("cold_start", False))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


REPORT_FIELDS = ("key", "rule", "outcome", "reason", "task_id", "session_id", "error_code", "error")


def report_row(result: RecordResult) -> dict[str, Any]:
    """Backfill's report row: one object, its outcome, and why (the request body is not a column)."""
    row = {k: getattr(result, k) for k in REPORT_FIELDS}
    row["outcome"] = result.outcome.value
    return row


def count(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts = {o.value: 0 for o in COUNTED}
    for outcome in outcomes:
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts


def describe(result: RecordResult | dict[str, Any]) -> str:
    """Three lines for a person: outcome and object, session and latency, then the detail.

    Takes a result or its `log_fields` (what the function returned, as the CLI receives it).
    """
    f = log_fields(result) if isinstance(result, RecordResult) else result
    outcome = f["outcome"]
    if outcome == Outcome.SUBMITTED:
        detail = f"TaskId {f['task_id']}"
    elif outcome in (Outcome.SKIPPED, Outcome.DUPLICATE):
        detail = f.get("reason") or ""
    elif outcome == Outcome.WOULD_SUBMIT:
        detail = "would call ProcessImage with " + json.dumps(f.get("request"), ensure_ascii=False)
    else:
        detail = f"{f.get('error_code')}: {f.get('error')}"
    obj = f"{f.get('bucket') or '?'}/{f.get('key') or '?'}"
    latency = f"{f['latency_ms']:.0f} ms" if f.get("latency_ms") is not None else "-"
    return f"  {outcome:<10} {obj}\n             session {f.get('session_id') or '-'}  {latency}\n             {detail}"
