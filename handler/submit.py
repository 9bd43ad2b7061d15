"""The one submit path: call ProcessImage for one record until it is done, for the function and backfill.

`submit` owns every decision between "here is the request" and "here is what happened": the
classification of each answer (handler/retry.py), backoff, the deadline, resending without
SessionId when an endpoint refuses it, one credential refresh when the token expired, and the
pacing of a shared rate limiter. What differs between the function and backfill is only the
`SubmitPolicy` they pass: a deadline for the function, attempts and a limiter for backfill.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Protocol

from .credentials import CredentialProvider, Credentials
from .mps_errors import MpsCallError
from .results import Outcome, RecordResult
from .retry import ErrorKind, RetryPolicy, answer_may_be_lost, classify
from .runtime import Runtime

# (request, credentials, timeout seconds) -> (TaskId, RequestId); raises MpsCallError.
ProcessImage = Callable[[dict[str, Any], Credentials, float], "tuple[str, str]"]


class Limiter(Protocol):
    """Spaces calls across workers (handler/pacing.py)."""

    def acquire(self, not_after: float | None = None) -> bool: ...
    def throttled(self) -> None: ...
    def succeeded(self) -> None: ...


class SessionIdSupport:
    """Whether the endpoint takes SessionId, learnt once and shared by every call of a container."""

    def __init__(self) -> None:
        self.supported = True
        self.warned = False  # the container has logged that it stopped sending SessionId


class SubmitPolicy(NamedTuple):
    retry: RetryPolicy
    http_timeout: float  # the longest one call may take (MPS_TIMEOUT_SECONDS)
    deadline: float | None = None  # runtime.clock() time after which no call starts (the function's)
    limiter: Limiter | None = None  # shared pacing; with one, throttled attempts are not counted
    stopping: Callable[[], bool] = lambda: False  # backfill's Ctrl-C: retry nothing more
    duplicate_reason: str = "MPS already has a task for this SessionId (earlier delivery)"
    session_ids: SessionIdSupport | None = None  # shared: once refused, no call sends SessionId again


class Submitted(NamedTuple):
    """How one record's submission ended; the caller adds the record's identity."""

    outcome: Outcome  # SUBMITTED, DUPLICATE or FAILED
    attempts: int
    task_id: str | None = None
    mps_request_id: str | None = None
    latency_ms: float | None = None
    reason: str | None = None
    error_code: str | None = None
    error: str | None = None
    session_id_refused: bool = False  # the endpoint refused SessionId: sent without it
    throttled: int = 0  # attempts MPS answered with RequestLimitExceeded
    session_id_sent: bool = True  # the last attempt carried the SessionId

    def into(self, record: RecordResult) -> RecordResult:
        """`record` (its identity and SessionId) with how its submission ended."""
        keeps_session_id = self.session_id_sent or self.outcome is not Outcome.SUBMITTED
        return record._replace(
            outcome=self.outcome,
            session_id=record.session_id if keeps_session_id else None,
            task_id=self.task_id,
            mps_request_id=self.mps_request_id,
            reason=self.reason,
            error_code=self.error_code,
            error=self.error,
            attempts=self.attempts,
            latency_ms=self.latency_ms,
        )


def _lost_answer_reason(attempt: int, code: str) -> str:
    return (
        f"MPS already has a task for this SessionId: attempt {attempt} of this invocation got no "
        f"answer ({code}) and most likely created it. MPS gives no TaskId for a duplicate and cannot "
        "look a task up by SessionId, so the TaskId is unknown: find the task by its input and creation "
        "time in the MPS console's task list or with DescribeImageTasks (docs/tencent-cloud.md#finding-a-task)"
    )


def _latest_start(policy: SubmitPolicy) -> float | None:
    return None if policy.deadline is None else policy.deadline - policy.retry.min_call_seconds


def submit(
    process_image: ProcessImage,
    request: dict[str, Any],
    credentials: CredentialProvider,
    policy: SubmitPolicy,
    runtime: Runtime,
) -> Submitted:
    clock, retry = runtime.clock, policy.retry
    attempts = throttled = 0
    refreshed = refused = False
    lost_at: tuple[int, str] | None = None  # the first attempt whose answer never arrived
    last: MpsCallError | None = None

    def ended(outcome: Outcome, **fields: Any) -> Submitted:
        sent = "SessionId" in request
        return Submitted(
            outcome, attempts, session_id_refused=refused, throttled=throttled, session_id_sent=sent, **fields
        )

    def failed(code: str, error: str, latency: float | None = None) -> Submitted:
        request_id = last.request_id if last is not None and last.request_id else None
        return ended(Outcome.FAILED, error_code=code, error=error, latency_ms=latency, mps_request_id=request_id)

    def out_of_time(while_doing: str) -> Submitted:
        spent = f"invocation time budget exhausted {while_doing}after {attempts} attempt(s)"
        if last is None:
            return failed("DeadlineExceeded", spent)
        return failed(last.code, f"{spent}; last error: {last.message}")

    while True:
        if policy.deadline is not None and policy.deadline - clock() < retry.min_call_seconds:
            return out_of_time("")
        if policy.limiter is not None and not policy.limiter.acquire(not_after=_latest_start(policy)):
            return out_of_time("waiting for a slot under the rate limit ")
        timeout = policy.http_timeout
        if policy.deadline is not None:  # measured after the wait for a slot: the call ends by the deadline
            remaining = policy.deadline - clock()
            if remaining < retry.min_call_seconds:
                return out_of_time("")
            timeout = min(timeout, remaining)
        if "SessionId" in request and policy.session_ids is not None and not policy.session_ids.supported:
            request = {k: v for k, v in request.items() if k != "SessionId"}  # another call learnt it meanwhile
            refused = True
        attempts += 1
        started = clock()
        try:
            task_id, request_id = process_image(request, credentials.current, timeout)  # type: ignore[arg-type]
        except MpsCallError as err:
            latency = round((clock() - started) * 1000, 1)
            last = err
            kind = classify(err.code, sent_session_id="SessionId" in request)
            if kind is ErrorKind.DUPLICATE:
                if policy.limiter is not None:
                    policy.limiter.succeeded()
                reason = _lost_answer_reason(*lost_at) if lost_at is not None else policy.duplicate_reason
                return ended(
                    Outcome.DUPLICATE, latency_ms=latency, reason=reason, mps_request_id=err.request_id or None
                )
            if kind is ErrorKind.SESSION_ID_REJECTED:
                request = {k: v for k, v in request.items() if k != "SessionId"}
                refused = True
                if policy.session_ids is not None:
                    policy.session_ids.supported = False
                continue
            if kind is ErrorKind.CREDENTIALS_STALE and not refreshed:
                refreshed = True
                if credentials.refresh():
                    continue
            if kind is ErrorKind.THROTTLED:
                throttled += 1
                if policy.limiter is not None:
                    policy.limiter.throttled()  # the limiter slows every worker down; not a failure
                    if policy.stopping():
                        return failed(err.code, err.message, latency)
                    continue
            if kind in (ErrorKind.TRANSIENT, ErrorKind.THROTTLED):
                if lost_at is None and answer_may_be_lost(err.code):
                    lost_at = (attempts, err.code)
                counted = attempts - (throttled if policy.limiter is not None else 0)
                if retry.max_attempts is not None and counted >= retry.max_attempts:
                    return failed(err.code, f"{err.message} (transient; gave up after {counted} attempts)", latency)
                if policy.stopping():
                    return failed(err.code, f"{err.message} (transient; stopped before retrying)", latency)
                delay = retry.backoff(counted - 1, runtime.rand)
                if policy.deadline is not None and clock() + delay + retry.min_call_seconds > policy.deadline:
                    return failed(
                        err.code, f"{err.message} (transient; no time left to retry in this invocation)", latency
                    )
                runtime.sleep(delay)
                continue
            return failed(err.code, err.message, latency)
        if policy.limiter is not None:
            policy.limiter.succeeded()
        latency = round((clock() - started) * 1000, 1)
        return ended(Outcome.SUBMITTED, task_id=task_id, mps_request_id=request_id, latency_ms=latency)
