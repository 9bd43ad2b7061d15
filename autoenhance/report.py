"""`autoenhance report`'s engine: from the function's log lines to what became of each upload.

The function logs one JSON line per record and forgets the TaskId; MPS has no completion
notification for image tasks, so the only way to learn a task's result is to ask
DescribeImageTaskDetail for it (docs/tencent-cloud.md#describeimagetaskdetail). This module:

- reads log lines from files, gzip or stdin, one at a time, finding the function's record JSON in
  whatever wraps it (`log_records`): a bare line, a line with a text prefix, a CLS export's
  JSON (the record as a string in `SCF_Message` / `__CONTENT__` / `LogJson`) or CSV (the record
  as a quoted cell), `scf logs` output; everything else is skipped;
- asks MPS about every submitted task once (`TaskLookup`), paced under the action's rate by the
  function's own pacer and retried with the submit path's error classification;
- streams: rows come out in log order as their answers arrive, with a bounded number of
  lookups in flight, and only counters, TaskIds and latencies are kept (`Report.rows`);
- keeps a state file of finished tasks (`StateFile`), so an interrupted report resumes without
  asking MPS again, and writes the resubmit list of what failed (`ResubmitLists`).

No printing here: autoenhance/commands/report.py renders rows and the summary.
"""

from __future__ import annotations

import array
import collections
import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import math
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent import futures
from pathlib import Path
from typing import IO, Any, NamedTuple

from handler.mps_errors import MpsCallError
from handler.pacing import PacedLimiter
from handler.retry import ErrorKind, RetryPolicy, classify

# DescribeImageTaskDetail: 20 requests/s on the Chinese API page, 100/s on the international one
# (docs/tencent-cloud.md#rate-limit); the lower figure is the one that cannot be exceeded.
DEFAULT_RATE = 20.0
DEFAULT_WORKERS = 4
LOOKUP_RETRY = RetryPolicy(max_attempts=8)  # backfill's: no deadline, a bounded number of tries
STATE_KIND = "autoenhance-report-state"
STATE_VERSION = 1

# The columns of a report row, in order (README: "What became of each upload").
COLUMNS = (
    "key", "bucket", "region", "rule", "uploaded_at", "submitted_at", "outcome", "reason", "task_id",
    "status", "result", "error_code", "error", "mps_errcode", "output", "finished_at", "latency_s", "source",
)  # fmt: skip
# What `result` says: the upload's fate, whichever side decided it.
SUCCESS, FAILED, PENDING, UNKNOWN, SKIPPED, DUPLICATE = (
    "success",
    "failed",
    "pending",
    "unknown",
    "skipped",
    "duplicate",
)
RESULTS = (SUCCESS, FAILED, PENDING, UNKNOWN, SKIPPED, DUPLICATE)

NOT_FOUND_CODES = ("ResourceNotFound", "FailedOperation.TaskNotFound")  # both listed by the SDK
# Keys the function's record can sit under in CLS (SCF_Message: SCF's log field; __CONTENT__: CLS's
# single-line text; LogJson: the SearchLog API's), tried first; any other string field is tried after.
WRAPPER_TEXT_FIELDS = ("SCF_Message", "__CONTENT__", "LogJson", "content", "Content", "message", "msg")
WRAPPER_TIME_FIELDS = ("SCF_LogTime", "__TIMESTAMP__", "Time", "timestamp", "@timestamp", "time")
_MAX_DEPTH = 4  # wrappers inside wrappers (a SearchLog answer's LogJson holding SCF_Message)
_DECODER = json.JSONDecoder()
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LEADING_TIME = re.compile(r"\s*(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))")


class ReportError(Exception):
    """The report cannot go on (MPS refused the keys, a state file that is not one): exit code 2."""


# ---- reading the logs ----------------------------------------------------------------------------


class LogRecord(NamedTuple):
    fields: dict[str, Any]  # the function's record, as it logged it
    source: str  # file:line
    logged_at: float | None  # the wrapper's own time stamp (CLS, a prefix), epoch seconds


def is_record(value: Any) -> bool:
    """The function's per-record line: it always has `outcome` and `key` (handler/results.py log_fields)."""
    return isinstance(value, dict) and isinstance(value.get("outcome"), str) and "key" in value


def log_records(paths: Sequence[str], stdin: IO[bytes] | None = None) -> Iterator[LogRecord]:
    """Every record in `paths` (files, directories of them, '-' for stdin; gzip by content), in order."""
    for path in expand_paths(paths):
        with open_log(path, stdin) as text:
            for number, line in enumerate(text, 1):
                for fields, logged_at in records_in_line(line):
                    yield LogRecord(fields, f"{path}:{number}", logged_at)


def expand_paths(paths: Sequence[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            out.extend(str(p) for p in sorted(Path(path).iterdir()) if p.is_file())
        else:
            out.append(path)
    return out


def check_paths(paths: Sequence[str]) -> str | None:
    """Why `paths` cannot be read, before anything is asked (None: they can)."""
    for path in paths:
        if path == "-":
            continue
        if not os.path.exists(path):
            return f"{path}: no such file"
        if not os.access(path, os.R_OK):
            return f"{path}: cannot read: permission denied"
    return None


GZIP_MAGIC = b"\x1f\x8b"


@contextlib.contextmanager
def open_log(path: str, stdin: IO[bytes] | None = None) -> Iterator[IO[str]]:
    """A log file as text lines: gzip recognised by its magic bytes whatever its name, bad bytes replaced."""
    raw: Any
    if path == "-":
        raw = stdin if stdin is not None else sys.stdin.buffer
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
        magic = raw.peek(2)[:2]
    else:
        raw = open(path, "rb")  # noqa: SIM115  (closed below)
        magic = raw.read(2)
        raw.seek(0)
    text = io.TextIOWrapper(
        gzip.GzipFile(fileobj=raw) if magic == GZIP_MAGIC else raw, encoding="utf-8", errors="replace"
    )
    try:
        yield text
    finally:
        if path == "-":
            text.detach()  # leave stdin open
        else:
            text.close()


def records_in_line(line: str) -> Iterator[tuple[dict[str, Any], float | None]]:
    """The function's records in one line of text, with the time stamp of what wraps them."""
    prefix = _LEADING_TIME.match(line)
    yield from _records_in_text(line, parse_time(prefix.group(1)) if prefix else None, 0)


def _records_in_text(text: str, logged_at: float | None, depth: int) -> Iterator[tuple[dict[str, Any], float | None]]:
    if depth > _MAX_DEPTH or "{" not in text:
        return
    found = False
    at = text.find("{")
    while at >= 0:
        try:
            value, end = _DECODER.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        for item in _records_in_value(value, logged_at, depth):
            found = True
            yield item
        at = text.find("{", end)
    if found:
        return
    if '""' in text:  # a CSV export: the record is a cell with its quotes doubled
        try:
            cells = next(csv.reader([text]))
        except (csv.Error, StopIteration):
            cells = []
        for cell in cells:
            for item in _records_in_text(cell, logged_at, depth + 1):
                found = True
                yield item
    if not found and '\\"' in text:  # a JSON string holding the record, outside any parseable object
        for literal in _JSON_STRING.findall(text):
            if "{" in literal:
                try:
                    inner = json.loads(literal)
                except ValueError:
                    continue
                yield from _records_in_text(inner, logged_at, depth + 1)


def _records_in_value(value: Any, logged_at: float | None, depth: int) -> Iterator[tuple[dict[str, Any], float | None]]:
    if is_record(value):
        yield value, logged_at
        return
    if isinstance(value, list):
        for item in value:
            yield from _records_in_value(item, logged_at, depth + 1)
        return
    if not isinstance(value, dict) or depth > _MAX_DEPTH:
        return
    stamp = next((parse_time(value[k]) for k in WRAPPER_TIME_FIELDS if k in value), None)
    stamp = stamp if stamp is not None else logged_at
    names = [k for k in WRAPPER_TEXT_FIELDS if k in value] + [k for k in value if k not in WRAPPER_TEXT_FIELDS]
    for name in names:
        inner = value[name]
        if isinstance(inner, str):
            yield from _records_in_text(inner, stamp, depth + 1)
        elif isinstance(inner, (dict, list)):
            yield from _records_in_value(inner, stamp, depth + 1)


def parse_time(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 string (naive = UTC) or an epoch number in s, ms, us or ns."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        number = float(value)
        # CLS stamps are milliseconds (__TIMESTAMP__); SCF_LogTime's unit is not documented.
        for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
            if number >= limit:
                return number / scale
        return number if number > 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- asking MPS ----------------------------------------------------------------------------------


class Lookup(NamedTuple):
    """What MPS said about one task: its detail, or the error that ended the asking."""

    detail: dict[str, Any] | None
    error: MpsCallError | None = None
    attempts: int = 0


class TaskLookup:
    """DescribeImageTaskDetail for one TaskId at a time (or any action, `call`), from any number of
    threads, under one pacer.

    `make_api()` builds an `MpsApi` (one per thread: each keeps its own connection); `credentials`
    is a `CredentialProvider`. Throttling slows the shared pacer and is retried without counting;
    transient errors back off (full jitter) for up to `retry.max_attempts`; an expired token is
    re-read once. `stopping()` ends retries early (Ctrl-C).
    """

    def __init__(
        self,
        make_api: Callable[[], Any],
        credentials: Any,
        http_timeout: float,
        rate: float = DEFAULT_RATE,
        retry: RetryPolicy = LOOKUP_RETRY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ):
        self._make_api, self._credentials = make_api, credentials
        self.http_timeout, self.retry = http_timeout, retry
        self.limiter = PacedLimiter(rate, clock, sleep)
        self._sleep, self._rand = sleep, rand
        self._local = threading.local()
        self.stopping = threading.Event()
        self.calls = 0
        self.throttled = 0
        self._count = threading.Lock()

    def _api(self) -> Any:
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = self._make_api()
        return api

    def describe(self, task_id: str) -> Lookup:
        return self.call("DescribeImageTaskDetail", {"TaskId": task_id})

    def call(self, action: str, params: dict[str, Any]) -> Lookup:
        """One MPS action until it answers, or fails in a way retrying cannot help."""
        attempts = counted = 0
        refreshed = False
        while True:
            self.limiter.acquire()
            attempts += 1
            with self._count:
                self.calls += 1
            try:
                detail = self._api().call(action, params, self._credentials.current, self.http_timeout)
            except MpsCallError as err:
                kind = classify(err.code)
                if kind is ErrorKind.CREDENTIALS_STALE and not refreshed:
                    refreshed = True
                    if self._credentials.refresh():
                        continue
                if kind is ErrorKind.THROTTLED and not self.stopping.is_set():
                    with self._count:
                        self.throttled += 1
                    self.limiter.throttled()
                    continue
                if kind is ErrorKind.TRANSIENT and not self.stopping.is_set():
                    counted += 1
                    if self.retry.max_attempts is None or counted < self.retry.max_attempts:
                        self._sleep(self.retry.backoff(counted - 1, self._rand))
                        continue
                return Lookup(None, err, attempts)
            self.limiter.succeeded()
            return Lookup(detail, None, attempts)


def is_auth_error(code: str) -> bool:
    """Codes that every further call would get too: the keys or their permissions."""
    return code.startswith(("AuthFailure", "UnauthorizedOperation")) or code == "FailedOperation.InvalidMpsUser"


# ---- rows ----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def base_row(record: LogRecord) -> dict[str, Any]:
    """The columns the log line alone answers."""
    f = record.fields
    submitted = parse_time(f.get("time"))
    if submitted is None:
        submitted = record.logged_at
    uploaded = parse_time(f.get("event_time"))
    since = f.get("since_event_s")
    if uploaded is None and submitted is not None and isinstance(since, (int, float)) and not isinstance(since, bool):
        uploaded = submitted - float(since)  # the log line says how long after the upload it was written
    return {
        "key": _text(f.get("key")),
        "bucket": _text(f.get("bucket")),
        "region": _text(f.get("region")),
        "rule": _text(f.get("rule")) or "-",
        "uploaded_at": iso(uploaded),
        "submitted_at": iso(submitted),
        "outcome": _text(f.get("outcome")),
        "reason": _text(f.get("reason")),
        "task_id": _text(f.get("task_id")),
        "status": "",
        "result": UNKNOWN,
        "error_code": "",
        "error": "",
        "mps_errcode": "",
        "output": "",
        "finished_at": "",
        "latency_s": None,
        "source": record.source,
        # Not columns: dropped before the row is shown.
        "_uploaded": uploaded,  # epoch seconds, for the latency
        "_session": f.get("session_id"),  # to tell a failed record a later delivery submitted
    }


def record_row(record: LogRecord) -> dict[str, Any]:
    """A row for a record MPS is not asked about: failed, skipped, or a duplicate without a TaskId."""
    row = base_row(record)
    outcome = row["outcome"]
    if outcome == "failed":
        row.update(
            result=FAILED, error_code=_text(record.fields.get("error_code")), error=_text(record.fields.get("error"))
        )
    elif outcome == "skipped":
        row["result"] = SKIPPED
    elif outcome == "duplicate":
        row["result"] = DUPLICATE  # MPS gives no TaskId for a duplicate: the first delivery's line has it
    return row


def task_row(row: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """`row` completed with what MPS said about its task."""
    if lookup.error is not None:
        err = lookup.error
        not_found = err.code.startswith(NOT_FOUND_CODES)
        note = " (MPS answers for tasks of the last 7 days, in the region asked)" if not_found else ""
        row.update(result=UNKNOWN, error_code=err.code, error=f"{err.message}{note}")
        return row
    detail = lookup.detail or {}
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
    finished = parse_time(detail.get("FinishTime")) if status == "FINISH" else None
    uploaded = row.get("_uploaded")
    row.update(
        status=status,
        result=result,
        error_code=code or (str(errcode) if errcode else ""),
        error=message if result == FAILED else "",
        mps_errcode=str(errcode) if errcode else "",
        output=" ".join(outputs),
        finished_at=iso(finished),
        latency_s=round(finished - uploaded, 3) if finished is not None and uploaded is not None else None,
        region=row["region"] or _text(source.get("Region")),
        bucket=row["bucket"] or _text(source.get("Bucket")),
    )
    return row


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """The row as printed and stored: the columns, in order."""
    return {k: row.get(k) for k in COLUMNS}


def finished(row: dict[str, Any]) -> bool:
    """A task whose answer will not change: FINISH, or unknown to MPS."""
    return row["status"] == "FINISH" or row["error_code"].startswith(NOT_FOUND_CODES)


# ---- the state file ------------------------------------------------------------------------------


class StateFile:
    """JSON lines: a header `{"kind", "version", "logs"}`, then one `{"task_id", "row"}` per finished task.

    Appended and flushed row by row, so Ctrl-C or a crash loses at most the line being written
    (a torn last line is ignored on reading). Only tasks whose answer cannot change are kept.
    """

    def __init__(self, path: Path):
        self.path = path
        self._out: IO[str] | None = None
        self._lock = threading.Lock()
        self.written = 0

    def start(self, logs: Sequence[str], resume: bool) -> None:
        if resume:
            header = self.header()
            if header.get("logs") != list(logs):
                raise ReportError(
                    f"--resume: {self.path} is the state of a report of {' '.join(header.get('logs') or [])}, "
                    f"not of {' '.join(logs)} (give the same log files, or start again without --resume)"
                )
            self._out = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  (closed in close())
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._write({"kind": STATE_KIND, "version": STATE_VERSION, "logs": list(logs)})

    def header(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as f:
                first = json.loads(f.readline() or "null")
        except (OSError, ValueError) as exc:
            raise ReportError(f"{self.path}: not a report state file ({exc})") from None
        if not isinstance(first, dict) or first.get("kind") != STATE_KIND:
            raise ReportError(f"{self.path}: not a report state file (no {STATE_KIND} header)")
        if first.get("version") != STATE_VERSION:
            raise ReportError(
                f"{self.path}: state file version {first.get('version')}, this report reads {STATE_VERSION}"
            )
        return first

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The finished tasks already in the file, one at a time (read before `start(resume=True)`)."""
        with open(self.path, encoding="utf-8") as f:
            f.readline()
            for line in f:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue  # the line a kill cut short
                if (
                    isinstance(item, dict)
                    and isinstance(item.get("task_id"), str)
                    and isinstance(item.get("row"), dict)
                ):
                    yield item["task_id"], item["row"]

    def add(self, task_id: str, row: dict[str, Any]) -> None:
        self._write({"task_id": task_id, "row": row})
        self.written += 1

    def _write(self, value: dict[str, Any]) -> None:
        with self._lock:
            assert self._out is not None
            self._out.write(json.dumps(value, ensure_ascii=False) + "\n")
            self._out.flush()

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.flush()
                os.fsync(self._out.fileno())
                self._out.close()
                self._out = None


# ---- the resubmit lists --------------------------------------------------------------------------


class ResubmitFile(NamedTuple):
    bucket: str
    region: str  # "" when nothing said it
    path: Path
    keys: int
    unlisted: int  # keys the format cannot carry (written as comments)


_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # what str.splitlines() splits at


def listable(key: str) -> str | None:
    """Why `key` cannot be one line of a resubmit list (None: it can)."""
    if not key:
        return "empty key"
    if key.startswith("#"):
        return "starts with # (a comment in the list)"
    if _LINE_BREAKS.search(key):
        return "contains a line break"
    if key != key.strip():
        return "begins or ends with white space"
    return None


class ResubmitLists:
    """The keys to submit again, one file per bucket, written as they come and finished at the end.

    Format (what `autoenhance backfill --resubmit --keys FILE` reads): first line
    `# bucket=<bucket> region=<region>`, lines starting with `#` are comments, every other line is
    one key as logged. One bucket: `target`; several: `target` with `-<bucket>` before its extension.
    """

    def __init__(self, target: Path, logs: Sequence[str]):
        self.target, self.logs = target, list(logs)
        self._parts: dict[str, tuple[Path, IO[str]]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._unlisted: collections.Counter[str] = collections.Counter()

    def add(self, bucket: str, key: str) -> None:
        if (bucket, key) in self._seen:
            return
        self._seen.add((bucket, key))
        if bucket not in self._parts:
            part = self.target.with_name(f".{self.target.name}.{len(self._parts)}.part")
            self._parts[bucket] = (part, open(part, "w", encoding="utf-8"))  # noqa: SIM115
        out = self._parts[bucket][1]
        why = listable(key)
        if why is None:
            out.write(key + "\n")
            self._counts[bucket] += 1
        else:
            out.write(f"# not listed ({why}): {json.dumps(key, ensure_ascii=False)}\n")
            self._unlisted[bucket] += 1

    def path_for(self, bucket: str) -> Path:
        if len(self._parts) <= 1:
            return self.target
        stem, dot, ext = self.target.name.rpartition(".")
        name = f"{stem}-{bucket}.{ext}" if dot and stem else f"{self.target.name}-{bucket}"
        return self.target.with_name(name)

    def finish(self, regions: Callable[[str], str], now: float) -> list[ResubmitFile]:
        files = []
        for bucket, (part, out) in self._parts.items():
            out.close()
            region = regions(bucket)
            path = self.path_for(bucket)
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as dst, open(part, encoding="utf-8") as src:
                dst.write(f"# bucket={bucket} region={region or 'REGION'}\n")
                dst.write(
                    f"# autoenhance report of {' '.join(self.logs)}, {iso(now)}: failed tasks and failed records, "
                    "one key per line\n"
                )
                if not region:
                    dst.write("# the region is not in the logs nor MPS's answers: replace REGION (or pass --region)\n")
                dst.writelines(src)
            tmp.replace(path)
            part.unlink()
            files.append(ResubmitFile(bucket, region, path, self._counts[bucket], self._unlisted[bucket]))
        self._parts.clear()
        return files

    def abandon(self) -> None:
        for part, out in self._parts.values():
            out.close()
            part.unlink(missing_ok=True)
        self._parts.clear()


def backfill_command(file: ResubmitFile) -> str:
    import shlex

    return (
        f"autoenhance backfill --bucket {shlex.quote(file.bucket)} --region {shlex.quote(file.region or 'REGION')} "
        f"--resubmit --keys {shlex.quote(str(file.path))}"
    )


# ---- the summary ---------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Summary:
    """Counters over the rows; the only thing that grows is one float per finished task's latency."""

    def __init__(self) -> None:
        self.uploads = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.results: collections.Counter[str] = collections.Counter()
        self.error_codes: collections.Counter[str] = collections.Counter()
        self.rules: dict[str, collections.Counter[str]] = {}
        self.latencies = array.array("d")
        self.from_state = 0
        self.recovered = 0  # failed records a later (or earlier) delivery submitted after all

    def add(self, row: dict[str, Any]) -> None:
        self.uploads += 1
        self.outcomes[row["outcome"] or "?"] += 1
        self.results[row["result"]] += 1
        if row["error_code"]:
            self.error_codes[row["error_code"]] += 1
        self.rules.setdefault(row["rule"] or "-", collections.Counter())[row["result"]] += 1
        if isinstance(row.get("latency_s"), (int, float)):
            self.latencies.append(float(row["latency_s"]))

    @property
    def failed(self) -> int:
        return self.results[FAILED] - self.recovered

    def latency(self) -> dict[str, float | int | None]:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        return {
            "count": len(ordered),
            "p50": percentile(ordered, 50),
            "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99),
            "max": ordered[-1],
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "uploads": self.uploads,
            "outcomes": dict(self.outcomes),
            "results": {r: self.results[r] for r in RESULTS if self.results[r]},
            "failed": self.failed,
            "recovered": self.recovered,
            "error_codes": dict(self.error_codes.most_common()),
            "rules": {rule: dict(c) for rule, c in sorted(self.rules.items())},
            "latency_s": self.latency(),
            "from_state": self.from_state,
        }


# ---- the engine ----------------------------------------------------------------------------------


class Report:
    """One report run: `rows(records)` yields each upload's row in log order, streaming.

    At most `window` rows wait at once (the lookups in flight and the finished rows behind the
    oldest one), whatever the log's length. TaskIds already answered (the state file on --resume,
    or earlier in these logs) are not asked again. `interrupt()` (the command's SIGINT handler),
    or a KeyboardInterrupt or close() while waiting, cancels the lookups not started, waits for
    those in flight and records their answers in the state file before raising
    KeyboardInterrupt, so a resumed run asks no task twice.
    """

    def __init__(
        self,
        lookup: TaskLookup,
        state: StateFile,
        resubmit: ResubmitLists | None = None,
        workers: int = DEFAULT_WORKERS,
        window: int | None = None,
    ):
        self.lookup, self.state, self.resubmit = lookup, state, resubmit
        self.workers = workers
        self.window = window or workers * 4
        self.summary = Summary()
        self.seen: set[str] = set()  # TaskIds reported in this run
        self.regions: dict[str, str] = {}  # bucket -> region, from MPS's answers and the logs
        self.fatal: MpsCallError | None = None
        self.interrupted = threading.Event()
        self._succeeded: set[str] = set()  # SessionIds some delivery submitted (or found duplicate)
        self._failed: dict[str, tuple[str, str]] = {}  # SessionId of a failed record -> (bucket, key)
        self._failed_keys: list[tuple[str, str]] = []  # failed records without a SessionId

    def restored(self) -> Iterator[dict[str, Any]]:
        """The rows of the tasks the state file already holds (a resumed run shows them first)."""
        for task_id, row in self.state.rows():
            if task_id in self.seen:
                continue
            self.seen.add(task_id)
            row = {k: row.get(k) for k in COLUMNS}
            self.summary.from_state += 1
            yield self._finish(row)

    def interrupt(self) -> None:
        """Ask the run to stop at the next row (a SIGINT handler calls this: nothing is cut in half)."""
        self.interrupted.set()
        self.lookup.stopping.set()

    def _stop_if_interrupted(self) -> None:
        if self.interrupted.is_set():
            raise KeyboardInterrupt

    def rows(self, records: Iterable[LogRecord]) -> Generator[dict[str, Any], None, None]:
        pending: collections.deque[tuple[dict[str, Any], futures.Future[Lookup] | None, str]] = collections.deque()
        pool = futures.ThreadPoolExecutor(self.workers, thread_name_prefix="report")
        try:
            for record in records:
                self._stop_if_interrupted()
                row, task_id = self._plan(record)
                if row is None:
                    continue
                future = pool.submit(self.lookup.describe, task_id) if task_id else None
                pending.append((row, future, task_id))
                while pending and (len(pending) >= self.window or _ready(pending[0][1])):
                    yield self._resolve(*pending.popleft())
                    self._stop_if_interrupted()
                if self.fatal is not None:
                    break
            while pending and self.fatal is None:
                yield self._resolve(*pending.popleft())
                self._stop_if_interrupted()
        except (KeyboardInterrupt, GeneratorExit):
            # GeneratorExit: the reader was interrupted outside this generator and closed it.
            self.lookup.stopping.set()
            for _, future, _ in pending:
                if future is not None:
                    future.cancel()  # only those not started: the ones in flight finish
            self._drain(pending)
            raise
        finally:
            self.lookup.stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if self.fatal is not None:
            self._drain(pending)
            raise ReportError(
                f"MPS refused the keys: {self.fatal.code}: {self.fatal.message} (they need "
                "mps:DescribeImageTaskDetail; see deploy/operator-cam-policy.json)"
            )

    def _plan(self, record: LogRecord) -> tuple[dict[str, Any] | None, str]:
        fields = record.fields
        task_id = fields.get("task_id")
        outcome = fields.get("outcome")
        session = fields.get("session_id")
        if outcome in ("submitted", "duplicate") and isinstance(session, str) and session:
            self._succeeded.add(session)
        if outcome in ("submitted", "duplicate") and isinstance(task_id, str) and task_id:
            if task_id in self.seen:
                return None, ""  # the same task logged twice (a log given twice, a redelivery's line)
            self.seen.add(task_id)
            return base_row(record), task_id
        return record_row(record), ""

    def _resolve(self, row: dict[str, Any], future: futures.Future[Lookup] | None, task_id: str) -> dict[str, Any]:
        if future is not None:
            lookup = future.result()
            if lookup.error is not None and is_auth_error(lookup.error.code):
                self.fatal = self.fatal or lookup.error
            task_row(row, lookup)
            if finished(row):
                self.state.add(task_id, shown(row))
        return self._finish(row)

    def _finish(self, row: dict[str, Any]) -> dict[str, Any]:
        row.pop("_uploaded", None)
        session = row.pop("_session", None)
        if row["bucket"] and row["region"]:
            self.regions.setdefault(row["bucket"], row["region"])
        self.summary.add(row)
        if row["result"] == FAILED and row["bucket"]:
            if row["outcome"] != "failed":
                if self.resubmit is not None:
                    self.resubmit.add(row["bucket"], row["key"])
            elif isinstance(session, str) and session:
                # Held back until the end: SCF retries a failed invocation, and another delivery of the
                # same upload (same SessionId) may have submitted it after all.
                self._failed.setdefault(session, (row["bucket"], row["key"]))
            else:
                self._failed_keys.append((row["bucket"], row["key"]))
        return shown(row)

    def _drain(self, pending: collections.deque[tuple[dict[str, Any], futures.Future[Lookup] | None, str]]) -> None:
        """Keep what the lookups in flight learnt; forget the rest (a resumed run asks for it)."""
        for row, future, task_id in pending:
            if future is None or future.cancelled():
                continue
            try:
                lookup = future.result()
            except futures.CancelledError:
                continue
            task_row(row, lookup)
            if finished(row):
                self.state.add(task_id, shown(row))
        pending.clear()

    def finish(self, fallback_region: Callable[[str], str], now: float) -> list[ResubmitFile]:
        """Settle the failed records (those another delivery submitted are recovered, not failed)
        and write the resubmit lists; call once, after `rows` is exhausted."""
        for session, (bucket, key) in self._failed.items():
            if session in self._succeeded:
                self.summary.recovered += 1
            elif self.resubmit is not None:
                self.resubmit.add(bucket, key)
        if self.resubmit is None:
            return []
        for bucket, key in self._failed_keys:
            self.resubmit.add(bucket, key)
        return self.resubmit.finish(lambda b: self.regions.get(b) or fallback_region(b), now)


def _ready(future: futures.Future[Lookup] | None) -> bool:
    return future is None or future.done()
