"""Backfill: submit the images already in a bucket, at MPS's full rate, resumably.

Each listed object becomes the same `CosUploadRecord` the function builds from an upload
event and goes through the function's own `plan_record` (filters, loop guard, mapping,
SessionId) and error classification: one code path, not a copy. What is backfill's own:

- Listing page by page (never the whole listing in memory) feeding a bounded queue of workers.
- Pacing: a shared limiter spaces ProcessImage calls at `--rate` (default 20/s, MPS's limit
  per account); `RequestLimitExceeded` slows it down (and the call is retried), successes
  bring it back. Workers overlap requests so latency does not cut the rate.
- Idempotence: an object's SessionId hashes bucket, key, ETag, size and the task
  configuration, so re-running never creates a second task for the same object version within
  MPS's 3-day window. Objects whose output already exists (HEAD at the predictable output key)
  are skipped unless --force.
- Resumability: a checkpoint (listing marker + objects finished past it + in-flight keys) is
  written atomically as it goes; Ctrl-C stops cleanly with it flushed; --resume continues
  without resubmitting finished objects.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from handler.config import Settings
from handler.cos_event import CosUploadRecord
from handler.credentials import CredentialProvider
from handler.mps_client import MpsApi
from handler.outputs import predicted_output_key
from handler.pacing import PacedLimiter
from handler.plan import Fail, Skip, plan_record
from handler.results import REPORT_FIELDS, Outcome, RecordResult, report_row
from handler.retry import BACKFILL_RETRY
from handler.rules import object_metadata
from handler.runtime import Runtime
from handler.submit import SubmitPolicy, submit

BACKFILL_EVENT = "cos:ObjectCreated:Backfill"  # a creation kind, so the function's filters apply
PAGE_SIZE = 1000
CHECKPOINT_EVERY = 1.0  # seconds


class BackfillOptions(NamedTuple):
    bucket: str
    region: str
    prefix: str = ""
    suffixes: tuple[str, ...] = ()
    since: dt.datetime | None = None
    dry_run: bool = False
    force: bool = False
    rate: float = 20.0
    workers: int = 8
    checkpoint: Path | None = None
    resume: bool = False
    report: Path | None = None
    # A deliberate redo: a new SessionId generation for every object (tasks that failed, a changed
    # template); "" for a normal run, whose objects get the ids the trigger gives them.
    resubmit: str = ""
    keys: tuple[str, ...] | None = None  # these keys instead of the listing (a report's resubmit list)
    metadata: bool = True  # HEAD each image for its x-cos-meta-* headers and Content-Type (rules, opt-outs)


class Listed(NamedTuple):
    seq: int
    key: str
    size: int
    etag: str
    last_modified: str


def listing_record(bucket: str, region: str, item: Listed) -> CosUploadRecord:
    """A listed object as the record an upload event would have produced (no event identity)."""
    return CosUploadRecord(
        position=item.seq, bucket=bucket, region=region, key=item.key, size=item.size, version_id="",
        etag=item.etag, cos_request_id="", event_name=BACKFILL_EVENT, event_time=None, content_type="",
    )  # fmt: skip


class Checkpoint:
    """Listing progress: everything up to `marker` is finished, plus `done_after` past it."""

    def __init__(self, path: Path | None, identity: dict[str, Any]):
        self.path, self.identity = path, identity
        self.marker = ""
        self.done_after: set[str] = set()
        self.in_flight: set[str] = set()
        self.counts: dict[str, int] = {}
        self.settled = 0  # objects listed in this run and finished, filtered out or skipped
        self._order: dict[int, str] = {}  # seq -> key, for objects not yet folded into marker
        self._finished: set[int] = set()
        self._lowest = 0
        self._saved_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, identity: dict[str, Any]) -> Checkpoint:
        saved = read_checkpoint(path)
        # Checkpoints from before --resubmit carry no generation: theirs is the normal run's, "".
        if {"generation": "", **saved["identity"]} != {"generation": "", **identity}:
            raise ValueError(
                f"checkpoint {path} is for {saved.get('identity')}, not {identity}: same bucket, region, "
                "prefix and task configuration needed to resume"
            )
        cp = cls(path, identity)
        cp.marker = saved["marker"]
        cp.done_after = set(saved["done_after"])
        cp.counts = dict(saved["counts"])
        return cp

    def started(self, item: Listed) -> None:
        with self._lock:
            self._order[item.seq] = item.key
            self.in_flight.add(item.key)

    def finished(self, item: Listed, outcome: str | None) -> None:
        """`outcome` None: listed but needing no work (filtered out, or finished before a resume)."""
        with self._lock:
            self._order[item.seq] = item.key
            self.in_flight.discard(item.key)
            if outcome is not None:
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
                self.done_after.add(item.key)
            self._finished.add(item.seq)
            self.settled += 1
            while self._lowest in self._finished:  # fold the finished prefix into the marker
                self._finished.discard(self._lowest)
                self.marker = self._order.pop(self._lowest)
                self.done_after.discard(self.marker)
                self._lowest += 1
            due = time.monotonic() - self._saved_at >= CHECKPOINT_EVERY
        if due:
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            state = {
                "identity": self.identity,
                "marker": self.marker,
                "done_after": sorted(k for k in self.done_after if k > self.marker),
                "in_flight": sorted(self.in_flight),
                "counts": self.counts,
            }
            self._saved_at = time.monotonic()
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a crash leaves the old or the new file, never half


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint file's content, refused (ValueError) unless it has the shape `Checkpoint.save` writes."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from None
    problem = checkpoint_problem(saved)
    if problem:
        raise ValueError(
            f"checkpoint {path} is not a backfill checkpoint: {problem} "
            "(pass the file a backfill run wrote, or start again without --resume)"
        )
    return dict(saved)


def checkpoint_problem(saved: Any) -> str | None:
    """What makes `saved` (a parsed checkpoint file) unusable, None when it has the shape `save` writes."""

    def kind(value: Any) -> str:
        names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        return names.get(type(value), "a number")

    if not isinstance(saved, dict):
        return f"it holds {kind(saved)}, not an object"
    missing = [name for name in ("identity", "marker", "done_after", "counts") if name not in saved]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(saved["identity"], dict):
        return f"identity should be an object, got {kind(saved['identity'])}"
    if not isinstance(saved["marker"], str):
        return f"marker should be a string, got {kind(saved['marker'])}"
    for name in ("done_after", "in_flight"):
        keys = saved.get(name, [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return f"{name} should be an array of keys (strings)"
    counts = saved["counts"]
    if not isinstance(counts, dict):
        return f"counts should be an object, got {kind(counts)}"
    for outcome, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            return f"counts.{outcome} should be a non-negative integer, got {n if isinstance(n, int) else kind(n)}"
    return None


class Report:
    """key -> outcome rows, streamed to CSV or JSON lines as results arrive (never held in memory)."""

    FIELDS = REPORT_FIELDS

    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._csv: Any = None
        if path is not None:
            self._file = path.open("a" if path.exists() else "w", encoding="utf-8", newline="")
            if path.suffix == ".csv":
                self._csv = csv.DictWriter(self._file, self.FIELDS)
                if self._file.tell() == 0:
                    self._csv.writeheader()

    def write(self, result: RecordResult) -> None:
        if self._file is None:
            return
        row = report_row(result)
        with self._lock:
            if self._csv is not None:
                self._csv.writerow(row)
            else:
                self._file.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class Backfill:
    def __init__(
        self,
        options: BackfillOptions,
        settings: Settings,
        cos_client: Callable[[], Any],
        mps_api: Callable[[], MpsApi],
        credentials: CredentialProvider,
        progress: Callable[[Backfill], None] | None = None,
    ):
        self.options, self.settings = options, settings
        self._cos_client, self._mps_api = cos_client, mps_api
        self.credentials = credentials
        self.limiter = PacedLimiter(options.rate)
        self.runtime = Runtime()
        self.policy = SubmitPolicy(
            BACKFILL_RETRY,
            settings.http_timeout,
            limiter=self.limiter,
            stopping=lambda: self.stop.is_set(),
            duplicate_reason="MPS already has a task for this object version",
        )
        identity = {
            "bucket": options.bucket,
            "region": options.region,
            "prefix": options.prefix,
            "fingerprint": settings.fingerprint,
            "generation": options.resubmit,
        }
        path = options.checkpoint
        self.checkpoint = Checkpoint.load(path, identity) if options.resume and path else Checkpoint(path, identity)
        self.report = Report(options.report)
        self.stop = threading.Event()
        self.listed = 0
        self.throttled = 0
        self.started_at = time.monotonic()
        self.predictable = settings.definition is None
        self._progress = progress
        self._local = threading.local()
        self._lock = threading.Lock()

    # -- listing ------------------------------------------------------------------------------

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        if self.options.keys is not None:  # HEAD in process() fills in what a listing would say
            keys = list(self.options.keys)
            for start in range(0, len(keys), PAGE_SIZE):
                yield [{"Key": k} for k in keys[start : start + PAGE_SIZE]]
                if self.stop.is_set():
                    return
            return
        client = self._cos_client()
        marker = self.checkpoint.marker
        while not self.stop.is_set():
            # No EncodingType argument: the SDK then asks for encoding-type=url itself and decodes
            # the keys; passing EncodingType="url" explicitly turns its decoding off.
            page = client.list_objects(
                Bucket=self.options.bucket, Prefix=self.options.prefix, Marker=marker, MaxKeys=PAGE_SIZE
            )
            contents = page.get("Contents") or []
            yield contents
            if str(page.get("IsTruncated", "false")).lower() != "true" or not contents:
                return
            marker = page.get("NextMarker") or contents[-1]["Key"]

    def wanted(self, entry: dict[str, Any]) -> bool:
        key = entry["Key"]
        if self.options.suffixes and not key.endswith(self.options.suffixes):
            return False
        if self.options.since is not None and "LastModified" in entry:
            modified = dt.datetime.fromisoformat(str(entry.get("LastModified", "")).replace("Z", "+00:00"))
            return modified >= self.options.since
        return True

    # -- one object ---------------------------------------------------------------------------

    def process(self, item: Listed) -> RecordResult:
        record = listing_record(self.options.bucket, self.options.region, item)
        base = RecordResult(item.seq, record.bucket, item.key, Outcome.FAILED)
        # The listing's filters first (not an image, own output...): no HEAD for what is skipped anyway.
        first = plan_record(record._replace(size=record.size or 1), self.settings)
        if isinstance(first, Skip) and first.rule is None:
            return base._replace(outcome=Outcome.SKIPPED, reason=first.reason)
        if self.options.metadata or self.options.keys is not None:
            headed = self._head(record)
            if headed is None:
                return base._replace(outcome=Outcome.SKIPPED, reason="no longer in the bucket")
            record = headed
        plan = plan_record(record, self.settings, generation=self.options.resubmit)
        base = base._replace(rule=plan.rule)
        if isinstance(plan, Skip):
            return base._replace(outcome=Outcome.SKIPPED, reason=plan.reason)
        if isinstance(plan, Fail):
            return base._replace(session_id=plan.session_id, error_code=plan.error_code, error=plan.error)
        base = base._replace(session_id=plan.session_id)
        if self.options.resubmit:
            base = base._replace(reason=f"resubmitted (--resubmit, generation {self.options.resubmit})")
        elif not self.options.force:
            target = predicted_output_key(record.bucket, record.region, record.key, self.settings)
            if target is not None and self._output_exists(target):
                return base._replace(outcome=Outcome.SKIPPED, reason=f"output exists: {target}")
        if self.options.dry_run:
            return base._replace(outcome=Outcome.WOULD_SUBMIT, request=plan.request)
        if not hasattr(self._local, "mps"):
            self._local.mps = self._mps_api()  # one keep-alive connection per worker
        api: MpsApi = self._local.mps
        done = submit(api.process_image, plan.request, self.credentials, self.policy, self.runtime)
        with self._lock:
            self.throttled += done.throttled
        result = done.into(base)
        if self.options.resubmit and result.outcome is Outcome.SUBMITTED:
            result = result._replace(reason=base.reason)
        return result

    def _head(self, record: CosUploadRecord) -> CosUploadRecord | None:
        """The record with what a HEAD says (metadata, content type, ETag, size); None when the object is gone."""
        from qcloud_cos.cos_exception import CosServiceError

        try:
            headers = self._thread_cos().head_object(Bucket=record.bucket, Key=record.key)
        except CosServiceError as exc:
            if exc.get_status_code() == 404:
                return None
            raise
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        return record._replace(
            size=int(lowered.get("content-length") or record.size or 0),
            etag=lowered.get("etag") or record.etag,
            content_type=lowered.get("content-type", ""),
            metadata=object_metadata(lowered),
        )

    def _output_exists(self, key: str) -> bool:
        bucket = self.settings.output_bucket or self.options.bucket
        return bool(self._thread_cos().object_exists(Bucket=bucket, Key=key))

    def _thread_cos(self) -> Any:
        if not hasattr(self._local, "cos"):
            self._local.cos = self._cos_client()
        return self._local.cos

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        work: queue.Queue[Listed | None] = queue.Queue(maxsize=self.options.workers * 4)
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                item = work.get()
                if item is None:
                    return
                if self.stop.is_set():
                    continue  # left unfinished: the checkpoint marker stays before it
                try:
                    result = self.process(item)
                except Exception as exc:  # noqa: BLE001  (a worker must not die: record the object as failed)
                    result = RecordResult(
                        item.seq, self.options.bucket, item.key, Outcome.FAILED,
                        error_code=type(exc).__name__, error=str(exc),
                    )  # fmt: skip
                    errors.append(exc)
                self.report.write(result)
                self.checkpoint.finished(item, result.outcome.value)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.options.workers)]
        for t in threads:
            t.start()
        seq = 0
        try:
            for page in self.pages():
                for entry in page:
                    self.listed += 1
                    item = Listed(
                        seq,
                        entry["Key"],
                        int(entry.get("Size", 0)),
                        str(entry.get("ETag", "")),
                        str(entry.get("LastModified", "")),
                    )
                    seq += 1
                    if item.key in self.checkpoint.done_after or not self.wanted(entry):
                        self.checkpoint.finished(item, None)
                        continue
                    self.checkpoint.started(item)
                    while not self.stop.is_set():
                        try:
                            work.put(item, timeout=0.2)
                            break
                        except queue.Full:
                            self._tick()
                    if self.stop.is_set():
                        break
                    self._tick()
                if self.stop.is_set():
                    break
        except KeyboardInterrupt:
            self.stop.set()
        finally:
            for _ in threads:
                work.put(None)
            for t in threads:
                while t.is_alive():
                    t.join(timeout=0.2)
                    self._tick()
            self.checkpoint.save()
            self.report.close()
        return self.summary()

    def _tick(self) -> None:
        if self._progress is not None:
            self._progress(self)

    def summary(self) -> dict[str, Any]:
        counts = dict(self.checkpoint.counts)
        elapsed = time.monotonic() - self.started_at
        submitted = counts.get("submitted", 0)
        return {
            "bucket": self.options.bucket,
            "listed": self.listed,
            "counts": counts,
            "throttled": self.throttled,
            "elapsed_s": round(elapsed, 2),
            "submitted_per_s": round(submitted / elapsed, 2) if elapsed else 0.0,
            "interrupted": self.stop.is_set(),
            "output_check": "HEAD at the predicted output key"
            if self.predictable and not self.options.force
            else "none (--force)"
            if self.options.force
            else "none: output names come from an MPS template",
            "checkpoint": str(self.options.checkpoint) if self.options.checkpoint else None,
        }


def progress_printer(stream: IO[str] = sys.stderr, interval: float = 5.0) -> Callable[[Backfill], None]:
    """A one-line bar on a terminal, plain periodic lines otherwise."""
    last = [0.0]
    tty = stream.isatty()

    def show(b: Backfill) -> None:
        now = time.monotonic()
        if now - last[0] < (0.2 if tty else interval):
            return
        last[0] = now
        c = b.checkpoint.counts
        done = b.checkpoint.settled
        elapsed = max(now - b.started_at, 1e-9)
        rate = c.get("submitted", 0) / elapsed
        pace = done / elapsed  # objects settled per second, whatever their outcome
        backlog = max(b.listed - done, 0)  # listed so far and not settled; the rest is not listed yet
        eta = f"{backlog / pace:.0f}s" if pace > 0 else "-"
        line = (
            f"listed {b.listed}  submitted {c.get('submitted', 0)}  duplicate {c.get('duplicate', 0)}  "
            f"skipped {c.get('skipped', 0)}  failed {c.get('failed', 0)}  {rate:.1f}/s  "
            f"ETA of listed {eta}"
        )
        stream.write(("\r" + line + "  ") if tty else line + "\n")
        stream.flush()

    return show
