"""SCF entry point: every image uploaded to COS becomes exactly one MPS ProcessImage task.

A record's trip, one file each: this module (the invocation) -> handler/cos_event.py (the event's
records) -> handler/plan.py (submit, skip or fail; handler/outputs.py says where outputs go) ->
handler/submit.py (call MPS until done; handler/retry.py classifies each answer) ->
handler/mps_client.py (the signed HTTP call) -> handler/results.py (the log line).

`main_handler` raises `RecordsNotSubmittedError` exactly when at least one record could not be
submitted, so SCF retries the invocation and finally dead-letters it; the deterministic SessionId
makes each retry safe. A refused configuration raises `ConfigurationError` and a payload that is
not a COS event `MalformedEventError`: those three are the only exceptions it raises.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Union

from .config import Settings, load_settings
from .cos_event import CosUploadRecord, RecordError, authorization_headers, parse_records
from .credentials import NO_CREDENTIALS_MESSAGE, CredentialProvider, Credentials
from .errors import (
    DEADLINE_EXCEEDED,
    INTERRUPTED,
    INVALID_CONFIGURATION,
    MALFORMED_EVENT,
    MISSING_CREDENTIALS,
    ConfigurationError,
    MalformedEventError,
    RecordsNotSubmittedError,
)
from .log import JsonLog, Redactor, printable
from .pacing import PacedLimiter
from .plan import Fail, Plan, Skip, Submit, plan_record
from .results import LogRecord, Outcome, RecordResult, count, write_record
from .retry import FUNCTION_RETRY
from .runtime import Runtime
from .submit import NOT_SENT, SessionIdSupport, SubmitPolicy, Submitted, submit

if TYPE_CHECKING:
    from .callers import Callers

DEFAULT_TIME_LIMIT_MS = 3000  # SCF's default timeout, assumed when the context lacks one
MAX_MARGIN_SECONDS = 2.0  # kept back from the time limit to return cleanly (and log)
# What one record costs outside MPS calls (parse, plan, log), until this invocation has measured
# it. Each record's calls stop early enough to leave twice that for every record still to log:
# on a small SCF instance the CPU share is small, and thousands of log lines take real time.
FIRST_RECORD_COST_SECONDS = 0.0002
# A merged event's record whose call no worker had started when the time ran out.
NOT_STARTED = Submitted(
    Outcome.FAILED,
    0,
    error_code=DEADLINE_EXCEEDED,
    error="invocation time budget exhausted before this record's turn (0 attempts)",
)
# A merged event's record whose call no worker had started when the runtime said to stop.
INTERRUPTED_BEFORE_SENT = Submitted(Outcome.FAILED, 0, error_code=INTERRUPTED, error=NOT_SENT)


# The container's function object: made by the first invocation, kept while the container lives.
_function: Function | None = None
_runtime: Runtime | None = None  # what the next container is made with (None: the real one)


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    """SCF calls this; the function object lives as long as the container."""
    global _function
    if _function is None:
        _function = load_function(_runtime)
    return _function.handle(event, context)


def reset_container(runtime: Runtime | None = None) -> None:
    """Forget container state, as a fresh SCF container would (used by tests and the CLI); the next
    container runs on `runtime` (the CLI's: a Ctrl-C as `stopping`), else on the real one."""
    global _function, _runtime
    _function, _runtime = None, runtime


def container() -> Function | None:
    """The container's function object, once an invocation has made it (the CLI reads `calls_in_flight`)."""
    return _function


def load_function(runtime: Runtime | None = None) -> Function:
    """A container's function object, from its environment (read once per container)."""
    runtime = runtime or Runtime()
    try:
        return AutoEnhanceFunction(load_settings(runtime.environ), runtime)
    except ConfigurationError as exc:
        return RefusedConfiguration(exc, runtime)


class AutoEnhanceFunction:
    """Container-lifetime state: settings, pooled MPS clients, the pacer, the workers, the cold-start flag."""

    def __init__(self, settings: Settings, runtime: Runtime | None = None):
        self.settings = settings
        self.runtime = runtime or Runtime()
        self._idle_clients: dict[str, list[Any]] = {}  # region -> MpsApi clients not in use
        self._clients_lock = threading.Lock()
        self._workers: Any = None  # a thread pool, made for the first merged event
        self.pacer = PacedLimiter(settings.requests_per_second, self.runtime.clock, self.runtime.sleep)
        self._cold = True
        self.session_ids = SessionIdSupport()  # until an endpoint refuses SessionId
        self.call_wait: float | None = None  # seconds a call waits on the network (see callers_needed)
        self._in_flight, self._in_flight_lock = 0, threading.Lock()  # ProcessImage attempts on the wire

    @property
    def calls_in_flight(self) -> int:
        """Attempts on the wire now, read without the lock: a signal handler may read it."""
        return self._in_flight

    def sending(self, process_image: Callable[..., Any]) -> Callable[..., Any]:
        """`process_image`, counted in `calls_in_flight` while each attempt is on the wire."""

        def counted(*args: Any) -> Any:
            with self._in_flight_lock:
                self._in_flight += 1
            try:
                return process_image(*args)
            finally:
                with self._in_flight_lock:
                    self._in_flight -= 1

        return counted

    def callers_needed(self) -> int:
        """Workers a merged event's calls need: the calls in flight that keep up with the pacer's rate,
        counting only the time a call waits on the network. A worker costs CPU (wake-ups, GIL hand-offs)
        that only an overlapped wait repays: one on a fast endpoint costs more than it overlaps."""
        wanted = math.ceil(self.pacer.rate * (self.call_wait or 0.0) * 1.25)
        return max(1, min(self.settings.concurrency, wanted))

    def observe_wait(self, waited: float | None) -> None:
        """Fold one call's wait in: down at once, up slowly (a thread preempted mid-call is no network wait)."""
        if waited is None:
            return
        known = self.call_wait
        self.call_wait = waited if known is None or waited < known else 0.9 * known + 0.1 * waited

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        ctx = _context(context)
        deadline = self.runtime.clock() + time_budget(ctx)
        cold, self._cold = self._cold, False
        inv = _Invocation(self, event, ctx, deadline, cold)
        try:
            parsed = parse_records(event, inv.function_region, self.settings.region_codes)
        except MalformedEventError as exc:
            inv.out.emit("ERROR", "malformed event", error_code=MALFORMED_EVENT, error=str(exc))
            raise
        results = inv.process_all(parsed)
        logged = inv.logged
        summary: dict[str, Any] = {
            **inv.out.common,
            "records": len(results),
            **count(r.outcome for r in results),
            "results": logged,
        }
        failed = [f for f in logged if f["outcome"] == Outcome.FAILED.value]
        if failed:
            # Each object as a JSON string: an uploader's key cannot pass for the message's own text
            # (SCF logs this message as a traceback's last line).
            lines = "; ".join(
                f"[{f['index']}] {json.dumps((f['bucket'] or '?') + '/' + (f['key'] or '?'), ensure_ascii=False)}: "
                f"{f['error_code']}"
                for f in failed
            )
            message = printable(f"{len(failed)} of {len(results)} records not submitted: {lines}")
            raise RecordsNotSubmittedError(inv.out.log.redact(message), summary)
        return summary

    @contextlib.contextmanager
    def client(self, region: str, credentials: Credentials) -> Iterator[Any]:
        """A keep-alive MPS client for `region`, for one caller at a time (kept for the next invocation)."""
        with self._clients_lock:
            idle = self._idle_clients.setdefault(region, [])
            client = idle.pop() if idle else None
        if client is None:
            from .mps_client import MpsApi  # imported on first submission: skips stay cheap

            s = self.settings
            client = MpsApi(s.endpoint, region, credentials, s.http_timeout, clock=self.runtime.clock)
        try:
            yield client
        finally:
            with self._clients_lock:
                idle.append(client)

    def workers(self) -> Any:
        """The container's thread pool for merged events; one-record events never make it."""
        if self._workers is None:
            from concurrent.futures import ThreadPoolExecutor

            self._workers = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="mps-submit")
        return self._workers


class _Invocation:
    """Per-invocation state: deadline, credentials, log, the results logged so far."""

    def __init__(self, fn: AutoEnhanceFunction, event: Any, ctx: Mapping[str, Any], deadline: float, cold: bool):
        self.fn, self.runtime = fn, fn.runtime
        env = self.runtime.environ
        self.credentials = CredentialProvider(env)  # per invocation: SCF rotates the role's keys
        self.function_region: str | None = env.get("TENCENTCLOUD_REGION") or ctx.get("tencentcloud_region") or None
        self.out = _InvocationLog(event, ctx, self.credentials.current, self.runtime, cold)
        self.deadline = deadline
        stop = self.runtime.stopping  # never in SCF; the CLI's Ctrl-C: no call (first or retry) starts
        policy = SubmitPolicy(FUNCTION_RETRY, fn.settings.http_timeout, deadline, fn.pacer, stop, stop)
        self.policy = policy._replace(session_ids=fn.session_ids)
        self.logged: list[dict[str, Any]] = []  # each result as logged (redacted once, here)
        self._spent_outside_calls = 0.0  # by the records logged so far
        self._callers: Callers | None = None  # a merged event's calls, handed to the workers
        self._planned: list[tuple[Any, Plan]] = []
        self._no_workers = False  # this invocation's calls are all made in this thread
        self._calls_stopped = False  # out of time, or told to stop: no worker starts another call
        self._not_started = NOT_STARTED  # what a call no worker started ends as (why they stopped)

    def _reserve(self, records_left: int) -> float:
        """Time to keep back for finishing (planning and logging) the records not yet done."""
        done = len(self.logged)
        per_record = max(FIRST_RECORD_COST_SECONDS, self._spent_outside_calls / done if done else 0.0)
        return 2 * per_record * records_left

    def process_all(self, parsed: list[CosUploadRecord | RecordError]) -> list[RecordResult]:
        """Every record, one log line each in the event's order; a merged event's calls go out together."""
        settings, clock = self.fn.settings, self.runtime.clock
        planned = [(item, plan_record(item, settings, self.fn.session_ids.supported)) for item in parsed]
        self._planned = planned
        results = []
        for i, (item, plan) in enumerate(planned):
            started = clock()
            records_left = len(planned) - i
            if self._callers is None and isinstance(plan, Submit) and self._overlap_wanted():
                self._start_concurrently(planned, i)
            callers = self._callers
            by_worker = callers is not None and callers.handles(i)
            if by_worker and not self._calls_stopped:
                if self.runtime.stopping():
                    self._stop_calls(INTERRUPTED_BEFORE_SENT)
                elif started >= self.deadline - self._reserve(records_left):
                    self._stop_calls(NOT_STARTED)
            if by_worker:
                assert callers is not None
                result, seconds_in_calls = self._result_from_worker(item, plan, callers, i)
            else:
                result, seconds_in_calls = self._result_in_this_thread(item, plan, records_left)
            self._log(item, result._replace(rule=plan.rule))
            self._spent_outside_calls += clock() - started - seconds_in_calls
            results.append(result)
        return results

    def _overlap_wanted(self) -> bool:
        """Whether a merged event's next calls go to the workers rather than being made here.

        This thread makes them itself only while the container has measured that its calls do not
        wait long enough for a second one in flight to keep up with the pacer better: a worker
        costs more CPU (wake-ups, GIL hand-offs) than it saves when there is no wait to overlap. A
        container that has not measured yet hands them over; so does one whose call here has to
        back off before a retry (`_backing_off`): the other records go on meanwhile.
        """
        return not self._no_workers and (self.fn.call_wait is None or self.fn.callers_needed() > 1)

    def _start_concurrently(self, planned: list[tuple[Any, Plan]], first: int) -> Callers | None:
        """The submissions from `first` on, handed to the container's workers when more than one is left."""
        if self._no_workers:
            return None
        submits = [i for i in range(first, len(planned)) if isinstance(planned[i][1], Submit)]
        if len(submits) < 2 or self.fn.settings.concurrency < 2 or self.credentials.current is None:
            self._no_workers = True  # fewer are left each time: so it stays
            return None
        from .callers import Callers  # a merged event's only: one-record events never import it

        total = len(planned)
        self._callers = Callers(
            lambda i: self._call(planned[i][0], planned[i][1], None, total),  # type: ignore[arg-type]
            submits,
            self.fn,
        )
        try:
            self._callers.start()
        except RuntimeError:  # no thread can start here: this invocation's calls are made in this thread
            self._callers.stop()
            self._callers, self._no_workers = None, True
        return self._callers

    def _backing_off(self, position: int, in_worker: bool) -> Callable[[float], None]:
        """The sleep before a retry of the record at `position`: the other records' calls go on meanwhile."""

        def sleep(seconds: float) -> None:
            callers = self._callers
            if not in_worker:
                if callers is None:  # this thread was making the calls: it hands the later records over
                    self._start_concurrently(self._planned, position + 1)
                self.runtime.sleep(seconds)
                return
            assert callers is not None
            with callers.sleeping():
                self.runtime.sleep(seconds)

        return sleep

    def _stop_calls(self, why: Submitted) -> None:
        """Out of time, or told to stop: every call no worker has started is cancelled at once (by the
        main thread or the first worker to find out), so the workers do not spend the time the
        remaining lines need finding that out record by record: each of those costs CPU the reserve
        does not count, and the main thread may be kept waiting meanwhile. The first reason stays."""
        if self._calls_stopped:
            return
        self._not_started, self._calls_stopped = why, True
        if self._callers is not None:
            self._callers.stop()

    def _result_from_worker(self, item: Any, plan: Plan, callers: Callers, i: int) -> tuple[RecordResult, float]:
        """A submission a worker made (or never started), and the seconds this thread waited for it."""
        if callers.never_started(i):
            return self._submitted(item, plan, self._not_started), 0.0
        wait_started = self.runtime.clock()
        done = callers.result(i)  # waiting for a call is not this record's CPU: not counted
        if done is None:  # cancelled while this thread waited
            return self._submitted(item, plan, self._not_started), self.runtime.clock() - wait_started
        return self._submitted(item, plan, done), self.runtime.clock() - wait_started

    def _result_in_this_thread(
        self, item: CosUploadRecord | RecordError, plan: Plan, records_left: int
    ) -> tuple[RecordResult, float]:
        """A skip, a failure, or a submission made here; and the seconds spent in MPS calls."""
        base = RecordResult(item.position, item.bucket, item.key, Outcome.FAILED)
        if isinstance(plan, Skip):
            return base._replace(outcome=Outcome.SKIPPED, reason=plan.reason), 0.0
        if isinstance(plan, Fail):
            return base._replace(session_id=plan.session_id, error_code=plan.error_code, error=plan.error), 0.0
        if self.credentials.current is None:
            return base._replace(
                session_id=plan.session_id, error_code=MISSING_CREDENTIALS, error=NO_CREDENTIALS_MESSAGE
            ), 0.0
        call_started = self.runtime.clock()
        done = self._call(item, plan, self.deadline - self._reserve(records_left), len(self.logged) + records_left)
        return self._submitted(item, plan, done), self.runtime.clock() - call_started

    def _call(self, item: Any, plan: Submit, deadline: float | None, total: int) -> Submitted:
        """Submit one record (in this thread or a worker's): the only place that talks to MPS.

        A worker works out its deadline when it starts the record, from what logging has cost so
        far: the main thread is still writing earlier records' lines meanwhile.
        """
        from .mps_client import sdk_log_redaction

        in_worker = deadline is None
        if in_worker:
            if self.runtime.stopping():
                self._stop_calls(INTERRUPTED_BEFORE_SENT)
            if self._calls_stopped:
                return self._not_started
            deadline = self.deadline - self._reserve(total - len(self.logged))
        region = self.fn.settings.mps_region_for(self.function_region, item.region)
        policy = self.policy._replace(deadline=deadline)
        # the SDK's DEBUG log shows requests and answers: redact this invocation's secrets from it
        with self.fn.client(region, self.credentials.current) as api, sdk_log_redaction(self.out.log.redact):  # type: ignore[arg-type]
            api.waited = None
            runtime = self.runtime._replace(sleep=self._backing_off(item.position, in_worker))
            done = submit(self.fn.sending(api.process_image), plan.request, self.credentials, policy, runtime)
            self.fn.observe_wait(api.waited)
        if in_worker and self.runtime.stopping():
            self._stop_calls(INTERRUPTED_BEFORE_SENT)
        if in_worker and done.outcome is Outcome.FAILED and policy.deadline is not None:
            if policy.deadline - self.runtime.clock() < policy.retry.min_call_seconds:
                self._stop_calls(NOT_STARTED)  # no time left to start another call
        return done

    def _submitted(self, item: Any, plan: Plan, done: Submitted) -> RecordResult:
        assert isinstance(plan, Submit)
        if done.session_id_refused and not self.fn.session_ids.warned:
            self.fn.session_ids.warned = True
            self.out.emit(
                "WARN",
                "MPS rejected the SessionId parameter (UnknownParameter); submitting without it from now on "
                "in this container. Without SessionId a redelivered event can create a second task.",
            )
        return done.into(RecordResult(item.position, item.bucket, item.key, done.outcome, session_id=plan.session_id))

    def _log(self, item: CosUploadRecord | RecordError, result: RecordResult) -> None:
        now = self.runtime.wall_clock()
        event_time = item.event_time if isinstance(item, CosUploadRecord) else None
        if event_time is not None:
            result = result._replace(since_event_s=round(now - event_time, 3))
        common = self.out.common
        record = LogRecord(result, now, event_time, common["scf_request_id"], common["cold_start"])
        self.logged.append(write_record(self.out.log, record))


class RefusedConfiguration:
    """A container whose configuration was refused: every invocation says why, sends nothing, and fails."""

    def __init__(self, error: ConfigurationError, runtime: Runtime | None = None):
        self.error = error
        self.runtime = runtime or Runtime()
        self._cold = True

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        cold, self._cold = self._cold, False
        credentials = CredentialProvider(self.runtime.environ).current
        out = _InvocationLog(event, _context(context), credentials, self.runtime, cold)
        out.emit("ERROR", "configuration refused", error_code=INVALID_CONFIGURATION, error=str(self.error))
        raise self.error


Function = Union[AutoEnhanceFunction, RefusedConfiguration]


def time_budget(context: Mapping[str, Any]) -> float:
    """Seconds this invocation may spend, leaving a margin to finish cleanly."""
    limit = context.get("time_limit_in_ms")
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit <= 0:
        limit = DEFAULT_TIME_LIMIT_MS
    seconds = float(limit) / 1000.0
    return seconds - min(MAX_MARGIN_SECONDS, seconds * 0.2)


class _InvocationLog:
    """One invocation's log: its redactor (the event's Authorization headers, the role's keys)
    and the fields every line carries."""

    def __init__(
        self, event: Any, ctx: Mapping[str, Any], credentials: Credentials | None, runtime: Runtime, cold: bool
    ):
        secrets = [*authorization_headers(event), *(credentials.secrets if credentials else ())]
        self.log = JsonLog(Redactor(secrets), runtime.stream)
        self.common: dict[str, Any] = {"scf_request_id": str(ctx.get("request_id", "")), "cold_start": cold}

    def emit(self, level: str, message: str, **fields: Any) -> None:
        self.log.emit(level, message, {**fields, **self.common})


def _context(context: Any) -> Mapping[str, Any]:
    return context if isinstance(context, Mapping) else {}


__all__: list[str] = [
    "AutoEnhanceFunction", "RecordsNotSubmittedError", "RefusedConfiguration", "container", "load_function",
    "main_handler", "reset_container",
]  # fmt: skip
