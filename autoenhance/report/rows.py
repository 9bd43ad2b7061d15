"""One upload's row: what the log line says, completed with what MPS says about its task.

`logged_upload` makes the row the log line alone answers, `record_row` finishes it for a record
MPS is not asked about, `task_row` with MPS's answer. Pure: no I/O.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from handler.results import Outcome
from handler.times import format_time, parse_time

from ..function_logs import LoggedRecord
from ..mps_queries import Answer

# What `result` says: the upload's fate, whichever side decided it (docs/operations.md: "What became of
# each upload"). Not the function's outcomes: a submitted record's task may have failed.
# A record the function failed, skipped or found a duplicate of keeps the function's own word.
SUCCESS, PENDING, UNKNOWN = "success", "pending", "unknown"
FAILED, SKIPPED, DUPLICATE = Outcome.FAILED.value, Outcome.SKIPPED.value, Outcome.DUPLICATE.value
RESULTS = (SUCCESS, FAILED, PENDING, UNKNOWN, SKIPPED, DUPLICATE)
_RECORD_RESULTS = {Outcome.FAILED: FAILED, Outcome.SKIPPED: SKIPPED, Outcome.DUPLICATE: DUPLICATE}

NOT_FOUND_CODES = ("ResourceNotFound", "FailedOperation.TaskNotFound")  # both listed by the SDK


class UploadRow(NamedTuple):
    """The row as printed and stored in the state file: these columns, in this order."""

    key: str
    bucket: str
    region: str
    rule: str
    uploaded_at: str
    submitted_at: str
    outcome: str
    reason: str
    task_id: str
    status: str
    result: str
    error_code: str
    error: str
    mps_errcode: str
    output: str
    finished_at: str
    latency_s: float | None
    source: str

    def as_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> UploadRow | None:
        """A row as `as_json` wrote it (a column missing: empty), or None when it is not one."""
        texts: dict[str, Any] = {k: value.get(k, "") for k in COLUMNS if k != "latency_s"}
        latency = value.get("latency_s")
        if not all(isinstance(v, str) for v in texts.values()):
            return None
        if latency is not None and (isinstance(latency, bool) or not isinstance(latency, (int, float))):
            return None
        return cls(**texts, latency_s=latency)


COLUMNS = UploadRow._fields


class LoggedUpload(NamedTuple):
    """A row being made, with what the log line says beyond its columns (never shown)."""

    row: UploadRow
    uploaded: float | None  # Unix seconds, for the latency
    session_id: str | None  # to tell a failed record another delivery submitted


def shown_time(seconds: float | None) -> str:
    """A row's time: to the second, truncated as the rows have always shown it."""
    return "" if seconds is None else format_time(math.floor(seconds), ms=False)


def logged_upload(logged: LoggedRecord) -> LoggedUpload:
    """The row the log line alone answers: MPS not asked yet."""
    record, result = logged.record, logged.record.result
    submitted = record.time if record.time is not None else logged.logged_at
    uploaded = record.event_time
    if uploaded is None and submitted is not None and result.since_event_s is not None:
        uploaded = parse_time(submitted - result.since_event_s)  # the line says how long after the upload it was
    row = UploadRow(
        key=result.key,
        bucket=result.bucket,
        region="",
        rule=result.rule or "-",
        uploaded_at=shown_time(uploaded),
        submitted_at=shown_time(submitted),
        outcome=result.outcome.value,
        reason=result.reason or "",
        task_id=result.task_id or "",
        status="",
        result=UNKNOWN,
        error_code="",
        error="",
        mps_errcode="",
        output="",
        finished_at="",
        latency_s=None,
        source=logged.source,
    )
    return LoggedUpload(row, uploaded, result.session_id)


def record_row(logged: LoggedRecord) -> LoggedUpload:
    """A row for a record MPS is not asked about: failed, skipped, or a duplicate without a TaskId."""
    upload = logged_upload(logged)
    result = logged.record.result
    fate = _RECORD_RESULTS.get(result.outcome)
    if fate is None:
        return upload
    row = upload.row._replace(result=fate)  # a duplicate: MPS gives no TaskId, the first delivery's line has it
    if result.outcome is Outcome.FAILED:
        row = row._replace(error_code=result.error_code or "", error=result.error or "")
    return upload._replace(row=row)


def task_row(upload: LoggedUpload, answer: Answer) -> UploadRow:
    """The row completed with what MPS said about its task."""
    row = upload.row
    if answer.error is not None:
        err = answer.error
        not_found = err.code.startswith(NOT_FOUND_CODES)
        note = " (MPS answers for tasks of the last 7 days, in the region asked)" if not_found else ""
        return row._replace(result=UNKNOWN, error_code=err.code, error=f"{err.message}{note}")
    detail = answer.response or {}
    status = _text(detail.get("Status"))
    results = [r for r in detail.get("ImageProcessTaskResultSet") or [] if isinstance(r, dict)]
    fails = [r for r in results if r.get("Status") == "FAIL"]
    errcode = detail.get("ErrCode") or 0
    code = _text(detail.get("ErrMsg")) or next((_text(r.get("ErrMsg")) for r in fails if r.get("ErrMsg")), "")
    message = _text(detail.get("Message")) or next((_text(r.get("Message")) for r in fails if r.get("Message")), "")
    if status != "FINISH":
        result = PENDING
    elif code or errcode or fails:
        result = FAILED
    else:
        result = SUCCESS
    outputs = []
    for r in results:
        out = r.get("Output") if r.get("Status") == "SUCCESS" else None
        if isinstance(out, dict) and out.get("Path"):
            storage = (out.get("OutputStorage") or {}).get("CosOutputStorage") or {}
            outputs.append(f"{storage.get('Bucket') or '?'}:{out['Path']}")
    source = ((detail.get("InputInfo") or {}).get("CosInputInfo")) or {}
    finished = parse_time(detail.get("FinishTime"), units="auto") if status == "FINISH" else None
    uploaded = upload.uploaded
    return row._replace(
        status=status,
        result=result,
        error_code=code or (str(errcode) if errcode else ""),
        error=message if result == FAILED else "",
        mps_errcode=str(errcode) if errcode else "",
        output=" ".join(outputs),
        finished_at=shown_time(finished),
        latency_s=round(finished - uploaded, 3) if finished is not None and uploaded is not None else None,
        region=row.region or _text(source.get("Region")),
        bucket=row.bucket or _text(source.get("Bucket")),
    )


def finished(row: UploadRow) -> bool:
    """A task whose answer will not change: FINISH, or unknown to MPS."""
    return row.status == "FINISH" or row.error_code.startswith(NOT_FOUND_CODES)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
