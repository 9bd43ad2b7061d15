"""The backfill run: workers planning and submitting each listed object, the checkpoint and the
`--report` file kept as they finish, the summary and the progress line.
"""

from __future__ import annotations

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
from handler.errors import INTERRUPTED
from handler.mps_client import MpsApi
from handler.outputs import predicted_output_key
from handler.pacing import PacedLimiter
from handler.plan import Fail, Skip, plan_record
from handler.results import Outcome, RecordResult
from handler.retry import BACKFILL_RETRY
from handler.rules import object_metadata
from handler.runtime import Runtime
from handler.submit import SubmitPolicy, submit

from .checkpoint import Checkpoint
from .listing import Listed, listed, listing_record, object_pages, selected
from .outcome_file import OutcomeFile


class BackfillOptions(NamedTuple):
    bucket: str
    region: str
    prefix: str = ""
    suffixes: tuple[str, ...] = ()
    since: float | None = None  # Unix seconds: objects last modified before it are left out
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
            cancelled=lambda: self.stop.is_set(),  # not even a first attempt once Ctrl-C came
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
        self.outcome_file = OutcomeFile(options.report)
        self.stop = threading.Event()
        self.listed = 0
        self.throttled = 0
        self.calls_in_flight = 0  # ProcessImage attempts on the wire (read without the lock by Ctrl-C)
        # What the run resumed from: the rates count only this run's work.
        self.submitted_before = self.checkpoint.counts.get(Outcome.SUBMITTED.value, 0)
        self.carried = 0  # objects listed again that a run before this one finished
        self.started_at = time.monotonic()
        self.predictable = settings.definition is None
        self._progress = progress
        self._local = threading.local()
        self._lock = threading.Lock()

    # -- listing ------------------------------------------------------------------------------

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        o = self.options
        return object_pages(self._cos_client, o.bucket, o.prefix, self.checkpoint.marker, o.keys, self.stop.is_set)

    def wanted(self, entry: dict[str, Any]) -> bool:
        return selected(entry, self.options.suffixes, self.options.since)

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
        done = submit(self._counted(api.process_image), plan.request, self.credentials, self.policy, self.runtime)
        with self._lock:
            self.throttled += done.throttled
        result = done.into(base)
        if self.options.resubmit and result.outcome is Outcome.SUBMITTED:
            result = result._replace(reason=base.reason)
        return result

    def _counted(self, process_image: Callable[..., Any]) -> Callable[..., Any]:
        def sending(*args: Any) -> Any:
            with self._lock:
                self.calls_in_flight += 1
            try:
                return process_image(*args)
            finally:
                with self._lock:
                    self.calls_in_flight -= 1

        return sending

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
                if result.error_code == INTERRUPTED and not result.attempts:
                    continue  # never sent: left unfinished, as the objects still queued
                self.outcome_file.write(result)
                self.checkpoint.finished(item, result.outcome.value)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.options.workers)]
        for t in threads:
            t.start()
        seq = 0
        try:
            for page in self.pages():
                for entry in page:
                    self.listed += 1
                    item = listed(seq, entry)
                    seq += 1
                    if item.key in self.checkpoint.done_after or not self.wanted(entry):
                        self.carried += item.key in self.checkpoint.done_after
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
            self._wait_for(threads, work)
            self.checkpoint.save()
            self.outcome_file.close()
        return self.summary()

    def _wait_for(self, threads: list[threading.Thread], work: queue.Queue[Listed | None]) -> None:
        """The workers' calls in flight, to their end; a second Ctrl-C stops waiting (the checkpoint
        keeps those objects in flight, so --resume submits them again under the same SessionId)."""
        try:
            for _ in threads:
                work.put(None)
            for t in threads:
                while t.is_alive():
                    t.join(timeout=0.2)
                    self._tick()
        except KeyboardInterrupt:
            self.stop.set()

    def _tick(self) -> None:
        if self._progress is not None:
            self._progress(self)

    def submitted_this_run(self) -> int:
        return self.checkpoint.counts.get(Outcome.SUBMITTED.value, 0) - self.submitted_before

    def settled_this_run(self) -> int:
        """Objects this run finished, skipped or filtered out (not those a run before finished)."""
        return self.checkpoint.settled - self.carried

    def summary(self) -> dict[str, Any]:
        counts = dict(self.checkpoint.counts)
        elapsed = time.monotonic() - self.started_at
        submitted = self.submitted_this_run()
        return {
            "bucket": self.options.bucket,
            "listed": self.listed,
            "counts": counts,
            "throttled": self.throttled,
            "elapsed_s": round(elapsed, 2),
            "submitted_this_run": submitted,
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
        rate = b.submitted_this_run() / elapsed
        pace = b.settled_this_run() / elapsed  # objects settled per second, whatever their outcome
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
