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

from collections.abc import Mapping
from typing import Any, Union

from .config import ConfigurationError, Settings, load_settings
from .cos_event import CosUploadRecord, MalformedEventError, RecordError, authorization_headers, parse_records
from .credentials import MISSING_CREDENTIALS, CredentialProvider, Credentials
from .log import JsonLog, Redactor, printable
from .plan import Fail, Skip, plan_record
from .results import Outcome, RecordResult, count, log_fields
from .retry import FUNCTION_RETRY
from .runtime import Runtime
from .submit import SubmitPolicy, submit

DEFAULT_TIME_LIMIT_MS = 3000  # SCF's default timeout, assumed when the context lacks one
MAX_MARGIN_SECONDS = 2.0  # kept back from the time limit to return cleanly (and log)
# What one record costs outside MPS calls (parse, plan, log), until this invocation has measured
# it. Each record's calls stop early enough to leave twice that for every record still to log:
# on a small SCF instance the CPU share is small, and thousands of log lines take real time.
FIRST_RECORD_COST_SECONDS = 0.0002


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
    """Container-lifetime state: settings, pooled MPS clients, the cold-start flag."""

    def __init__(self, settings: Settings, runtime: Runtime | None = None):
        self.settings = settings
        self.runtime = runtime or Runtime()
        self._clients: dict[str, Any] = {}
        self._cold = True
        self.session_ids_supported = True  # until an endpoint refuses SessionId

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
        results = [inv.process(item, records_left=len(parsed) - i) for i, item in enumerate(parsed)]
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

    def client_for(self, region: str, credentials: Credentials) -> Any:
        client = self._clients.get(region)
        if client is None:
            from .mps_client import MpsApi  # imported on first submission: skips stay cheap

            s = self.settings
            client = MpsApi(s.endpoint, region, credentials, s.http_timeout, clock=self.runtime.clock)
            self._clients[region] = client
        return client


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
        self.policy = SubmitPolicy(FUNCTION_RETRY, fn.settings.http_timeout, deadline=deadline)
        self.logged: list[dict[str, Any]] = []  # each result as logged (redacted once, here)
        self._spent_outside_calls = 0.0  # by the records processed so far
        self._calling = 0.0  # time inside submit() for the current record

    def _reserve(self, records_left: int) -> float:
        """Time to keep back for finishing (planning and logging) the records not yet done."""
        done = len(self.logged)
        per_record = max(FIRST_RECORD_COST_SECONDS, self._spent_outside_calls / done if done else 0.0)
        return 2 * per_record * records_left

    def process(self, item: CosUploadRecord | RecordError, records_left: int = 1) -> RecordResult:
        clock = self.runtime.clock
        started, self._calling = clock(), 0.0
        self.policy = self.policy._replace(deadline=self.deadline - self._reserve(records_left))
        result = self._process(item)
        if isinstance(item, CosUploadRecord) and item.event_time is not None:
            result = result._replace(since_event_s=round(self.runtime.wall_clock() - item.event_time, 3))
        fields = self.out.log.clean({**log_fields(result), **self.out.common})
        level = "ERROR" if result.outcome is Outcome.FAILED else "INFO"
        self.out.log.emit(level, f"record {result.outcome.value}", fields, cleaned=True)
        self.logged.append(fields)
        self._spent_outside_calls += clock() - started - self._calling
        return result

    def _process(self, item: CosUploadRecord | RecordError) -> RecordResult:
        settings = self.fn.settings
        base = RecordResult(item.position, item.bucket, item.key, Outcome.FAILED)
        plan = plan_record(item, settings, send_session_id=self.fn.session_ids_supported)
        if isinstance(plan, Skip):
            return base._replace(outcome=Outcome.SKIPPED, reason=plan.reason)
        if isinstance(plan, Fail):
            return base._replace(session_id=plan.session_id, error_code=plan.error_code, error=plan.error)
        assert isinstance(item, CosUploadRecord)  # only a parsed record can be planned for submission
        base = base._replace(session_id=plan.session_id)
        credentials = self.credentials.current
        if credentials is None:
            return base._replace(error_code="MissingCredentials", error=MISSING_CREDENTIALS)
        region = settings.mps_region or self.function_region or item.region
        api = self.fn.client_for(region, credentials)
        from .mps_client import sdk_log_redaction

        calling = self.runtime.clock()
        with sdk_log_redaction(self.out.log.redact):  # the SDK's DEBUG log shows requests and answers
            done = submit(api.process_image, plan.request, self.credentials, self.policy, self.runtime)
        self._calling = self.runtime.clock() - calling
        if done.session_id_refused and self.fn.session_ids_supported:
            self.fn.session_ids_supported = False
            self.out.emit(
                "WARN",
                "MPS rejected the SessionId parameter (UnknownParameter); submitting without it from now on "
                "in this container. Without SessionId a redelivered event can create a second task.",
            )
        sent_session_id = "SessionId" in plan.request and not done.session_id_refused
        return base._replace(
            outcome=done.outcome,
            session_id=plan.session_id if sent_session_id or done.outcome is not Outcome.SUBMITTED else None,
            task_id=done.task_id,
            mps_request_id=done.mps_request_id,
            reason=done.reason,
            error_code=done.error_code,
            error=done.error,
            attempts=done.attempts,
            latency_ms=done.latency_ms,
        )


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
