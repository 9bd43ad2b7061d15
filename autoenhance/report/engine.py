"""One report run: the records read from the logs in, each upload's row out, in log order, streaming."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent import futures
from typing import NamedTuple

from handler.errors import MpsCallError
from handler.results import Outcome

from ..function_logs import LoggedRecord
from ..mps_queries import Answer, MpsQueries, is_auth_error
from . import ReportError
from .resubmit import ResubmitFile, ResubmitLists
from .rows import FAILED, LoggedUpload, UploadRow, finished, logged_upload, record_row, task_row
from .state import StateFile
from .summary import Summary

DEFAULT_WORKERS = 4
_ASKED = (Outcome.SUBMITTED, Outcome.DUPLICATE)  # the outcomes whose TaskId MPS is asked about


class _Waiting(NamedTuple):
    """A row in the window: its task's answer to come (None: MPS is not asked about it)."""

    upload: LoggedUpload
    answer: futures.Future[Answer] | None
    task_id: str


class ReportRun:
    """One report run: `rows(records)` yields each upload's row in log order, streaming.

    At most `window` rows wait at once (the queries in flight and the finished rows behind the
    oldest one), whatever the log's length. TaskIds already answered (the state file on --resume,
    or earlier in these logs) are not asked again. `interrupt()` (the command's SIGINT handler),
    or a KeyboardInterrupt or close() while waiting, cancels the queries not started, waits for
    those in flight and records their answers in the state file before raising
    KeyboardInterrupt, so a resumed run asks no task twice.
    """

    def __init__(
        self,
        mps: MpsQueries,
        state: StateFile,
        resubmit: ResubmitLists | None = None,
        workers: int = DEFAULT_WORKERS,
        window: int | None = None,
    ):
        self.mps, self.state, self.resubmit = mps, state, resubmit
        self.workers = workers
        self.window = window or workers * 4
        self.summary = Summary()
        self.seen: set[str] = set()  # TaskIds reported in this run
        self.regions: dict[str, str] = {}  # bucket -> region, from MPS's answers
        self.fatal: MpsCallError | None = None
        self.interrupted = threading.Event()
        self.queries_in_flight = 0  # read without the lock by the Ctrl-C handler
        self._in_flight_lock = threading.Lock()
        self._succeeded: set[str] = set()  # SessionIds some delivery submitted (or found duplicate)
        self._failed: dict[str, tuple[str, str]] = {}  # SessionId of a failed record -> (bucket, key)
        self._failed_keys: list[tuple[str, str]] = []  # failed records without a SessionId

    def restored(self) -> Iterator[UploadRow]:
        """The rows of the tasks the state file already holds (a resumed run shows them first)."""
        for task_id, row in self.state.rows():
            if task_id in self.seen:
                continue
            self.seen.add(task_id)
            self.summary.from_state += 1
            yield self._finish(row, None)

    def interrupt(self) -> None:
        """Ask the run to stop at the next row (a SIGINT handler calls this: nothing is cut in half)."""
        self.interrupted.set()
        self.mps.stopping.set()

    def _stop_if_interrupted(self) -> None:
        if self.interrupted.is_set():
            raise KeyboardInterrupt

    def rows(self, records: Iterable[LoggedRecord]) -> Generator[UploadRow, None, None]:
        waiting: collections.deque[_Waiting] = collections.deque()
        pool = futures.ThreadPoolExecutor(self.workers, thread_name_prefix="report")
        try:
            for logged in records:
                self._stop_if_interrupted()
                upload, task_id = self._plan(logged)
                if upload is None:
                    continue
                answer = pool.submit(self._ask, task_id) if task_id else None
                waiting.append(_Waiting(upload, answer, task_id))
                while waiting and (len(waiting) >= self.window or _ready(waiting[0].answer)):
                    yield self._resolve(waiting.popleft())
                    self._stop_if_interrupted()
                if self.fatal is not None:
                    break
            while waiting and self.fatal is None:
                yield self._resolve(waiting.popleft())
                self._stop_if_interrupted()
        except (KeyboardInterrupt, GeneratorExit):
            # GeneratorExit: the reader was interrupted outside this generator and closed it.
            self.mps.stopping.set()
            for item in waiting:
                if item.answer is not None:
                    item.answer.cancel()  # only those not started: the ones in flight finish
            self._drain(waiting)
            raise
        finally:
            self.mps.stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if self.fatal is not None:
            self._drain(waiting)
            raise ReportError(
                f"MPS refused the keys: {self.fatal.code}: {self.fatal.message} (they need "
                "mps:DescribeImageTaskDetail; see deploy/operator-cam-policy.json)"
            )

    def _ask(self, task_id: str) -> Answer:
        """One task's query, unless the run was interrupted before a worker got to it."""
        if self.interrupted.is_set():
            raise futures.CancelledError  # as if cancelled: not recorded, asked again on --resume
        with self._in_flight_lock:
            self.queries_in_flight += 1
        try:
            return self.mps.fetch_task_detail(task_id)
        finally:
            with self._in_flight_lock:
                self.queries_in_flight -= 1

    def _plan(self, logged: LoggedRecord) -> tuple[LoggedUpload | None, str]:
        """The upload's row so far, and the TaskId to ask MPS about ("": none)."""
        result = logged.record.result
        if result.outcome in _ASKED and result.session_id:
            self._succeeded.add(result.session_id)
        if result.outcome in _ASKED and result.task_id:
            if result.task_id in self.seen:
                return None, ""  # the same task logged twice (a log given twice, a redelivery's line)
            self.seen.add(result.task_id)
            return logged_upload(logged), result.task_id
        return record_row(logged), ""

    def _resolve(self, waiting: _Waiting) -> UploadRow:
        row = waiting.upload.row
        if waiting.answer is not None:
            try:
                answer = waiting.answer.result()
            except futures.CancelledError:  # interrupted before a worker started its query
                raise KeyboardInterrupt from None
            if answer.error is not None and is_auth_error(answer.error.code):
                self.fatal = self.fatal or answer.error
            row = task_row(waiting.upload, answer)
            if finished(row):
                self.state.add(waiting.task_id, row)
        return self._finish(row, waiting.upload.session_id)

    def _finish(self, row: UploadRow, session_id: str | None) -> UploadRow:
        if row.bucket and row.region:
            self.regions.setdefault(row.bucket, row.region)
        self.summary.add(row)
        if row.result == FAILED and row.bucket:
            if row.outcome != Outcome.FAILED:
                if self.resubmit is not None:
                    self.resubmit.add(row.bucket, row.key)
            elif session_id:
                # Held back until the end: SCF retries a failed invocation, and another delivery of the
                # same upload (same SessionId) may have submitted it after all.
                self._failed.setdefault(session_id, (row.bucket, row.key))
            else:
                self._failed_keys.append((row.bucket, row.key))
        return row

    def _drain(self, waiting: collections.deque[_Waiting]) -> None:
        """Keep what the queries in flight learnt; forget the rest (a resumed run asks for it)."""
        for item in waiting:
            if item.answer is None or item.answer.cancelled():
                continue
            try:
                answer = item.answer.result()
            except futures.CancelledError:
                continue
            row = task_row(item.upload, answer)
            if finished(row):
                self.state.add(item.task_id, row)
        waiting.clear()

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


def _ready(answer: futures.Future[Answer] | None) -> bool:
    return answer is None or answer.done()
