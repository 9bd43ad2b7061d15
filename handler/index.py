"""SCF entry point: every image uploaded to COS becomes exactly one MPS ProcessImage task.

`main_handler(event, context)` parses each record, decides whether to submit it, submits
it with a deterministic SessionId (so SCF's redeliveries never create a second task), and
returns a summary. It raises `RecordsNotSubmittedError` exactly when at least one record
could not be submitted, so SCF retries the invocation and finally dead-letters it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from typing import Any, Callable, TextIO

from .config import ConfigurationError, Settings, load_settings
from .cos_event import (
    CosUploadRecord,
    MalformedEventError,
    RecordError,
    authorization_headers,
    parse_records,
)
from .log import JsonLog, Redactor
from .outcomes import (
    CREDENTIALS_STALE,
    DUPLICATE,
    SESSION_ID_REJECTED,
    TRANSIENT,
    backoff_delay,
    classify,
)
from .request import plan_record

DEFAULT_TIME_LIMIT_MS = 3000  # SCF's default timeout, assumed when the context lacks one
MIN_CALL_SECONDS = 0.25  # never start a call with less time than this left
MAX_MARGIN_SECONDS = 2.0  # kept back from the time limit to return cleanly (and log)


class RecordsNotSubmittedError(RuntimeError):
    """At least one record was not submitted; SCF should retry (SessionId makes that safe)."""

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__(message)
        self.summary = summary


def time_budget(context: Mapping[str, Any]) -> float:
    """Seconds this invocation may spend on MPS calls, leaving a margin to finish cleanly."""
    limit = context.get("time_limit_in_ms")
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit <= 0:
        limit = DEFAULT_TIME_LIMIT_MS
    seconds = float(limit) / 1000.0
    return seconds - min(MAX_MARGIN_SECONDS, seconds * 0.2)


def read_credentials(env: Mapping[str, str]) -> Any:
    """The execution role's temporary keys, as SCF injects them (no underscore in the names)."""
    from .mps_client import Credentials

    secret_id, secret_key = env.get("TENCENTCLOUD_SECRETID", ""), env.get("TENCENTCLOUD_SECRETKEY", "")
    if not secret_id.strip() or not secret_key.strip():
        return None
    # Trimmed alike: a stray line ending (a token pasted from a CRLF file) would make an invalid header.
    token = env.get("TENCENTCLOUD_SESSIONTOKEN", "").strip()
    return Credentials(secret_id.strip(), secret_key.strip(), token or None)


class AutoEnhanceFunction:
    """Container-lifetime state: settings, pooled MPS clients, the cold-start flag."""

    def __init__(
        self,
        settings: Settings | ConfigurationError,
        environ: Mapping[str, str] = os.environ,
        stream: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ):
        self.settings = settings
        self._environ = environ
        self._stream = stream
        self._sleep, self._clock, self._rand = sleep, clock, rand
        self._clients: dict[str, Any] = {}
        self._cold = True
        self.session_ids_supported = True

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, **kwargs: Any) -> AutoEnhanceFunction:
        try:
            settings: Settings | ConfigurationError = load_settings(environ)
        except ConfigurationError as exc:
            settings = exc
        return cls(settings, environ, **kwargs)

    # -- one invocation ------------------------------------------------------------------

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        started = self._clock()
        ctx: Mapping[str, Any] = context if isinstance(context, Mapping) else {}
        cold, self._cold = self._cold, False
        inv = _Invocation(self, event, ctx, started + time_budget(ctx), cold)

        if isinstance(self.settings, ConfigurationError):
            inv.log.emit(
                "ERROR",
                "configuration refused",
                {"error_code": "InvalidConfiguration", "error": str(self.settings), **inv.common},
            )
            raise self.settings
        for warning in self.settings.warnings if cold else ():
            inv.log.emit("WARN", warning, inv.common)
        try:
            parsed = parse_records(event, inv.function_region, self.settings.region_codes)
        except MalformedEventError as exc:
            inv.log.emit("ERROR", "malformed event", {"error_code": "MalformedEvent", "error": str(exc), **inv.common})
            raise

        results = [inv.process(item) for item in parsed]
        counts = {
            k: sum(1 for r in results if r["outcome"] == k) for k in ("submitted", "duplicate", "skipped", "failed")
        }
        summary: dict[str, Any] = {**inv.common, "records": len(results), **counts, "results": results}
        failed = [r for r in results if r["outcome"] == "failed"]
        if failed:
            lines = "; ".join(
                f"[{r['index']}] {r['bucket'] or '?'}/{r['key'] or '?'}: {r['error_code']}" for r in failed
            )
            message = f"{len(failed)} of {len(results)} records not submitted: {lines}"
            raise RecordsNotSubmittedError(inv.log.redact(message), summary)
        return summary

    def client_for(self, region: str, credentials: Any) -> Any:
        client = self._clients.get(region)
        if client is None:
            from .mps_client import MpsApi  # imported on first submission: skips stay cheap

            assert isinstance(self.settings, Settings)
            client = MpsApi(self.settings.endpoint, region, credentials, self.settings.http_timeout)
            self._clients[region] = client
        return client


class _Invocation:
    """Per-invocation state: deadline, credentials, log, common log fields."""

    def __init__(self, fn: AutoEnhanceFunction, event: Any, ctx: Mapping[str, Any], deadline: float, cold: bool):
        self.fn, self.deadline = fn, deadline
        env = fn._environ
        self.credentials = read_credentials(env)  # per invocation: SCF rotates the role's keys
        self.function_region: str | None = env.get("TENCENTCLOUD_REGION") or ctx.get("tencentcloud_region") or None
        secrets = [*authorization_headers(event), *(self.credentials or ("", "", ""))[1:]]
        self.log = JsonLog(Redactor(secrets), fn._stream)
        self.common: dict[str, Any] = {"scf_request_id": str(ctx.get("request_id", "")), "cold_start": cold}

    def process(self, item: CosUploadRecord | RecordError) -> dict[str, Any]:
        # Redacted once, here: the result is logged, returned, and quoted in a raised error.
        result: dict[str, Any] = self.log.clean(self._process(item))
        level = "ERROR" if result["outcome"] == "failed" else "INFO"
        self.log.emit(level, f"record {result['outcome']}", result, cleaned=True)
        return result

    def _result(self, item: CosUploadRecord | RecordError, outcome: str, **fields: Any) -> dict[str, Any]:
        since_event = None
        if isinstance(item, CosUploadRecord) and item.event_time is not None:
            since_event = round(time.time() - item.event_time, 3)
        result: dict[str, Any] = {
            "index": item.position,
            "bucket": item.bucket,
            "key": item.key,
            "outcome": outcome,
            "reason": None,
            "session_id": None,
            "task_id": None,
            "mps_request_id": None,
            "error_code": None,
            "error": None,
            "attempts": 0,
            "latency_ms": None,
            "since_event_s": since_event,
            **self.common,
        }
        result.update(fields)
        return result

    def _process(self, item: CosUploadRecord | RecordError) -> dict[str, Any]:
        settings = self.fn.settings
        assert isinstance(settings, Settings)
        plan = plan_record(item, settings, send_session_id=self.fn.session_ids_supported)
        if plan.action != "submit" or plan.params is None:
            return self._result(
                item,
                plan.action,
                session_id=plan.session_id,
                reason=plan.reason,
                error_code=plan.error_code,
                error=plan.error,
            )
        assert isinstance(item, CosUploadRecord)
        if self.credentials is None:
            return self._result(
                item,
                "failed",
                session_id=plan.session_id,
                error_code="MissingCredentials",
                error=(
                    "TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY are not set: bind an execution role to the "
                    "function (role: in serverless.yml) so SCF injects temporary credentials"
                ),
            )
        region = settings.mps_region or self.function_region or item.region
        return self._submit(item, plan.params, region, settings.http_timeout)

    def _submit(
        self, item: CosUploadRecord, params: dict[str, Any], region: str, http_timeout: float
    ) -> dict[str, Any]:
        from .mps_client import MpsCallError, sdk_log_redaction

        fn = self.fn
        client = fn.client_for(region, self.credentials)
        attempts, refreshed, probing_without_session = 0, False, False
        session_id = params.get("SessionId")
        last_code, last_error, last_request_id = "DeadlineExceeded", "", ""

        def failed(error_code: str, error: str, latency: float | None = None) -> dict[str, Any]:
            return self._result(item, "failed", session_id=session_id, attempts=attempts, latency_ms=latency,
                                error_code=error_code, error=error, mps_request_id=last_request_id or None)  # fmt: skip

        while True:
            remaining = self.deadline - fn._clock()
            if remaining < MIN_CALL_SECONDS:
                spent = f"invocation time budget exhausted after {attempts} attempt(s)"
                return failed(last_code, spent + (f"; last error: {last_error}" if last_error else ""))
            attempts += 1
            t0 = fn._clock()
            try:
                with sdk_log_redaction(self.log.redact):  # the SDK's DEBUG log shows requests and answers
                    task_id, request_id = client.process_image(params, self.credentials, min(http_timeout, remaining))
            except MpsCallError as err:
                latency = round((fn._clock() - t0) * 1000, 1)
                last_code, last_error, last_request_id = err.code, err.message, err.request_id
                kind = classify(err.code, err.message, sent_session_id="SessionId" in params)
                if kind == DUPLICATE:
                    return self._result(
                        item,
                        "duplicate",
                        session_id=session_id,
                        attempts=attempts,
                        latency_ms=latency,
                        mps_request_id=err.request_id or None,
                        reason="MPS already has a task for this SessionId (earlier delivery)",
                    )
                if kind == SESSION_ID_REJECTED:
                    params = {k: v for k, v in params.items() if k != "SessionId"}
                    probing_without_session = True
                    continue
                if kind == CREDENTIALS_STALE and not refreshed:
                    refreshed, fresh = True, read_credentials(fn._environ)
                    if fresh is not None and fresh != self.credentials:
                        self.credentials = fresh
                        continue
                if kind == TRANSIENT:
                    delay = backoff_delay(attempts - 1, rand=fn._rand)
                    if fn._clock() + delay + MIN_CALL_SECONDS <= self.deadline:
                        fn._sleep(delay)
                        continue
                    return failed(
                        err.code, f"{err.message} (transient; no time left to retry in this invocation)", latency
                    )
                return failed(err.code, err.message, latency)
            latency = round((fn._clock() - t0) * 1000, 1)
            if probing_without_session and fn.session_ids_supported:
                fn.session_ids_supported = False
                self.log.emit(
                    "WARN",
                    (
                        "MPS rejected the SessionId parameter (UnknownParameter); submitting without it from now on "
                        "in this container. Without SessionId a redelivered event can create a second task."
                    ),
                    self.common,
                )
            return self._result(
                item,
                "submitted",
                session_id=params.get("SessionId"),
                attempts=attempts,
                latency_ms=latency,
                task_id=task_id,
                mps_request_id=request_id,
            )


_function: AutoEnhanceFunction | None = None


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    """SCF calls this; the function object lives as long as the container."""
    global _function
    if _function is None:
        _function = AutoEnhanceFunction.from_environment(os.environ)
    return _function.handle(event, context)


def reset_container() -> None:
    """Forget container state, as a fresh SCF container would (used by tests and the CLI)."""
    global _function
    _function = None


__all__: list[str] = ["AutoEnhanceFunction", "RecordsNotSubmittedError", "main_handler", "reset_container"]
