"""What became of one record: the typed result, and the one place it is turned into words.

Every path (the function, dry runs, backfill) ends a record in a `RecordResult`. `log_fields`
makes the function's log line and the entry in its return value, `report_row` backfill's report
row, `describe` the CLI's human line, `count` the summary's counts: the field names and the
outcome words are written here only.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from typing import Any, NamedTuple


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


# The function's log line / return entry: these keys, always, in this order.
_LOG_KEYS = (
    "bucket", "key", "rule", "outcome", "reason", "session_id", "task_id", "mps_request_id",
    "error_code", "error", "attempts", "latency_ms", "since_event_s",
)  # fmt: skip


def log_fields(result: RecordResult) -> dict[str, Any]:
    fields = {"index": result.position, **{k: getattr(result, k) for k in _LOG_KEYS}}
    fields["outcome"] = result.outcome.value
    if result.request is not None:
        fields["request"] = result.request
    return fields


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
