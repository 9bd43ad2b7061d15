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
import datetime
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Union

from .config import ConfigurationError, Settings, load_settings
from .cos_event import CosUploadRecord, MalformedEventError, RecordError, authorization_headers, parse_records
from .credentials import MISSING_CREDENTIALS, CredentialProvider, Credentials
from .log import JsonLog, Redactor, printable
from .pacing import PacedLimiter
from .plan import Fail, Plan, Skip, Submit, plan_record
from .results import Outcome, RecordResult, count, log_fields
from .retry import FUNCTION_RETRY
from .runtime import Runtime
from .submit import SessionIdSupport, SubmitPolicy, Submitted, submit

DEFAULT_TIME_LIMIT_MS = 3000  # SCF's default timeout, assumed when the context lacks one
MAX_MARGIN_SECONDS = 2.0  # kept back from the time limit to return cleanly (and log)
# What one record costs outside MPS calls (parse, plan, log), until this invocation has measured
# it. Each record's calls stop early enough to leave twice that for every record still to log:
# on a small SCF instance the CPU share is small, and thousands of log lines take real time.
FIRST_RECORD_COST_SECONDS = 0.0002
NOT_ATTEMPTED = "invocation time budget exhausted before this record's turn (0 attempts)"


class RecordsNotSubmittedError(RuntimeError):
    """At least one record was not submitted; SCF should retry (SessionId makes that safe)."""

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__(message)
        self.summary = summary


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

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        ctx = _context(context)
        deadline = self.runtime.clock() + time_budget(ctx)
        cold, self._cold = self._cold, False
        inv = _Invocation(self, event, ctx, deadline, cold)
        for warning in self.settings.warnings if cold else ():
            inv.out.emit("WARN", warning)
        try:
            parsed = parse_records(event, inv.function_region, self.settings.region_codes)
        except MalformedEventError as exc:
            inv.out.emit("ERROR", "malformed event", error_code="MalformedEvent", error=str(exc))
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
            lines = "; ".join(
                f"[{f['index']}] {f['bucket'] or '?'}/{f['key'] or '?'}: {f['error_code']}" for f in failed
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
        out.emit("ERROR", "configuration refused", error_code="InvalidConfiguration", error=str(self.error))
        raise self.error


Function = Union[AutoEnhanceFunction, RefusedConfiguration]


def load_function(runtime: Runtime | None = None) -> Function:
    """A container's function object, from its environment (read once per container)."""
    runtime = runtime or Runtime()
    try:
        return AutoEnhanceFunction(load_settings(runtime.environ), runtime)
    except ConfigurationError as exc:
        return RefusedConfiguration(exc, runtime)


class _Invocation:
    """Per-invocation state: deadline, credentials, log, the results logged so far."""

    def __init__(self, fn: AutoEnhanceFunction, event: Any, ctx: Mapping[str, Any], deadline: float, cold: bool):
        self.fn, self.runtime = fn, fn.runtime
        env = self.runtime.environ
        self.credentials = CredentialProvider(env)  # per invocation: SCF rotates the role's keys
        self.function_region: str | None = env.get("TENCENTCLOUD_REGION") or ctx.get("tencentcloud_region") or None
        self.out = _InvocationLog(event, ctx, self.credentials.current, self.runtime, cold)
        self.deadline = deadline
        self.policy = SubmitPolicy(
            FUNCTION_RETRY, fn.settings.http_timeout, deadline=deadline, limiter=fn.pacer, session_ids=fn.session_ids
        )
        self.logged: list[dict[str, Any]] = []  # each result as logged (redacted once, here)
        self._spent_outside_calls = 0.0  # by the records logged so far

    def _reserve(self, records_left: int) -> float:
        """Time to keep back for finishing (planning and logging) the records not yet done."""
        done = len(self.logged)
        per_record = max(FIRST_RECORD_COST_SECONDS, self._spent_outside_calls / done if done else 0.0)
        return 2 * per_record * records_left

    def process_all(self, parsed: list[CosUploadRecord | RecordError]) -> list[RecordResult]:
        """Every record, one log line each in the event's order; a merged event's calls go out together."""
        settings, clock = self.fn.settings, self.runtime.clock
        planned = [(item, plan_record(item, settings, self.fn.session_ids.supported)) for item in parsed]
        in_flight = self._start_concurrently(planned)
        results = []
        out_of_time = False
        for i, (item, plan) in enumerate(planned):
            started = clock()
            future = in_flight.get(i)
            if future is not None and not out_of_time and started >= self.deadline - self._reserve(len(planned) - i):
                # Out of time: every call no worker has started is cancelled at once, so the workers
                # do not spend the time the remaining lines need finding out one by one.
                out_of_time = True
                for later in range(i, len(planned)):
                    if later in in_flight:
                        in_flight[later].cancel()
            if future is not None and future.cancelled():
                done = Submitted(Outcome.FAILED, 0, error_code="DeadlineExceeded", error=NOT_ATTEMPTED)
                result, calling = self._submitted(item, plan, done), 0.0
            elif future is not None:
                calling = clock()
                done = future.result()  # the wait for a call is not this record's CPU: not counted
                result, calling = self._submitted(item, plan, done), clock() - calling
            else:
                result, calling = self._decide(item, plan, records_left=len(planned) - i)
            self._log(item, result._replace(rule=plan.rule))
            self._spent_outside_calls += clock() - started - calling
            results.append(result)
        return results

    def _start_concurrently(self, planned: list[tuple[Any, Plan]]) -> dict[int, Any]:
        """Submit plans handed to the container's workers when an event has more than one."""
        submits = [i for i, (_, plan) in enumerate(planned) if isinstance(plan, Submit)]
        if len(submits) < 2 or self.fn.settings.concurrency < 2 or self.credentials.current is None:
            return {}
        workers = self.fn.workers()
        total = len(planned)
        return {i: workers.submit(self._call, planned[i][0], planned[i][1], None, total) for i in submits}

    def _decide(self, item: CosUploadRecord | RecordError, plan: Plan, records_left: int) -> tuple[RecordResult, float]:
        """A record's result in this thread, and the seconds of it spent in MPS calls."""
        base = RecordResult(item.position, item.bucket, item.key, Outcome.FAILED)
        if isinstance(plan, Skip):
            return base._replace(outcome=Outcome.SKIPPED, reason=plan.reason), 0.0
        if isinstance(plan, Fail):
            return base._replace(session_id=plan.session_id, error_code=plan.error_code, error=plan.error), 0.0
        if self.credentials.current is None:
            return base._replace(
                session_id=plan.session_id, error_code="MissingCredentials", error=MISSING_CREDENTIALS
            ), 0.0
        calling = self.runtime.clock()
        done = self._call(item, plan, self.deadline - self._reserve(records_left), len(self.logged) + records_left)
        calling = self.runtime.clock() - calling
        return self._submitted(item, plan, done), calling

    def _call(self, item: Any, plan: Submit, deadline: float | None, total: int) -> Submitted:
        """Submit one record (in this thread or a worker's): the only place that talks to MPS.

        A worker works out its deadline when it starts the record, from what logging has cost so
        far: the main thread is still writing earlier records' lines meanwhile.
        """
        from .mps_client import sdk_log_redaction

        if deadline is None:
            deadline = self.deadline - self._reserve(total - len(self.logged))
        region = self.fn.settings.mps_region or self.function_region or item.region
        policy = self.policy._replace(deadline=deadline)
        # the SDK's DEBUG log shows requests and answers: redact this invocation's secrets from it
        with self.fn.client(region, self.credentials.current) as api, sdk_log_redaction(self.out.log.redact):  # type: ignore[arg-type]
            return submit(api.process_image, plan.request, self.credentials, policy, self.runtime)

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
        times: dict[str, Any] = {"event_time": None, "time": _iso(now)}  # for `autoenhance report`
        if isinstance(item, CosUploadRecord) and item.event_time is not None:
            result = result._replace(since_event_s=round(now - item.event_time, 3))
            times["event_time"] = _iso(item.event_time)
        fields = self.out.log.clean({**log_fields(result), **times, **self.out.common})
        level = "ERROR" if result.outcome is Outcome.FAILED else "INFO"
        self.out.log.emit(level, f"record {result.outcome.value}", fields, cleaned=True)
        self.logged.append(fields)


def _iso(seconds: float) -> str:
    """UTC, to the millisecond, as CLS and MPS print times."""
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_function: Function | None = None


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    """SCF calls this; the function object lives as long as the container."""
    global _function
    if _function is None:
        _function = load_function()
    return _function.handle(event, context)


def reset_container() -> None:
    """Forget container state, as a fresh SCF container would (used by tests and the CLI)."""
    global _function
    _function = None


__all__: list[str] = [
    "AutoEnhanceFunction",
    "RecordsNotSubmittedError",
    "RefusedConfiguration",
    "load_function",
    "main_handler",
    "reset_container",
]
