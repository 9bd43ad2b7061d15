"""The one retry loop of every MPS call, and the ProcessImage submit path on it.

`call_with_retries` owns every decision between "make this call" and "here is what happened",
whatever the action: the classification of each error (handler/retry.py), backoff, the deadline,
the pacing of a shared limiter, the caller's stop, and one retry with the current keys when MPS
says the token expired. The function and backfill reach it through `submit` (ProcessImage, which
adds SessionId handling); the CLI's report and usage call it directly for DescribeImageTaskDetail
and DescribeUsageData. What differs between callers is only the policy they pass: a deadline for
the function, bounded attempts, a shared limiter and a Ctrl-C for backfill and the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .credentials import Credentials
from .errors import DEADLINE_EXCEEDED, INTERRUPTED, MpsCallError
from .results import Outcome, RecordResult
from .retry import ErrorKind, RetryPolicy, answer_may_be_lost, classify
from .runtime import Runtime

if TYPE_CHECKING:  # types for the checker only: each class built at import is paid at every cold start
    from typing import Protocol

    # (request, credentials, timeout seconds) -> (TaskId, RequestId); raises MpsCallError.
    ProcessImage = Callable[[dict[str, Any], Credentials, float], tuple[str, str]]
    # One attempt of any MPS call: (credentials, timeout seconds) -> its answer; raises MpsCallError.
    Attempt = Callable[[Credentials, float], Any]

    class Limiter(Protocol):
        """Spaces calls across workers (handler/pacing.py)."""

        def acquire(self, not_after: float | None = None) -> bool: ...
        def throttled(self) -> None: ...
        def succeeded(self) -> None: ...

    class Keys(Protocol):
        """Where the loop reads the keys each attempt is signed with (handler/credentials.py's CredentialProvider)."""

        current: Credentials | None

        def refresh(self) -> bool: ...


def _never() -> bool:
    return False


class CallPolicy(NamedTuple):
    """How one MPS call is tried; `RetryPolicy` documents how attempts are counted."""

    retry: RetryPolicy
    http_timeout: float  # the longest one attempt may take (MPS_TIMEOUT_SECONDS)
    deadline: float | None = None  # runtime.clock() time after which no attempt starts (the function's)
    limiter: Limiter | None = None  # shared pacing; with one, throttled attempts are not counted
    stopping: Callable[[], bool] = _never  # the caller's Ctrl-C: retry nothing more
    # The caller's Ctrl-C, for a caller that also cancels a first attempt: none starts once it says
    # so, not even after the wait for a limiter slot (the call then was never sent).
    cancelled: Callable[[], bool] = _never


class Stop:
    """Why trying stopped (plain constants, not an enum: cheaper to build at a cold start)."""

    ANSWERED = "answered"  # the last attempt returned an answer
    FINAL = "final"  # an error trying again cannot change (permanent, duplicate, expired keys with none newer)
    GAVE_UP = "gave up"  # a transient error on the last attempt `RetryPolicy.max_attempts` allows
    STOPPED = "stopped"  # the caller's `stopping()` said so before a retry
    CANCELLED = "cancelled"  # the caller's `cancelled()` said so before an attempt (the first one included)
    NO_TIME_TO_RETRY = "no time to retry"  # the backoff would end too close to the deadline
    OUT_OF_TIME = "out of time"  # too close to the deadline to start an attempt
    NO_SLOT_IN_TIME = "no slot in time"  # the limiter's next slot comes too close to the deadline


class LostAnswer(NamedTuple):
    """An attempt that may have reached MPS although its answer never arrived."""

    attempt: int
    code: str


class Tried:
    """How one call's attempts ended (a plain class: one is made per call, and built cheaply at import)."""

    __slots__ = ("answer", "attempts", "counted", "error", "kind", "latency_ms", "lost", "stop", "throttled")

    def __init__(
        self,
        stop: str,  # a `Stop` constant
        answer: Any = None,  # the call's answer when `stop` is ANSWERED
        error: MpsCallError | None = None,  # the error that ended trying, or the last before time ran out
        kind: ErrorKind | None = None,  # what `error` means (a SessionId refusal with none left to drop: PERMANENT)
        attempts: int = 0,  # every attempt made
        counted: int = 0,  # the attempts `RetryPolicy.max_attempts` counts
        throttled: int = 0,  # attempts MPS answered with RequestLimitExceeded
        latency_ms: float | None = None,  # the last attempt's
        lost: LostAnswer | None = None,  # the first attempt whose answer may have been lost
    ):
        self.stop, self.answer, self.error, self.kind = stop, answer, error, kind
        self.attempts, self.counted, self.throttled, self.latency_ms, self.lost = (
            attempts, counted, throttled, latency_ms, lost,
        )  # fmt: skip

    def __repr__(self) -> str:
        return "Tried(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


class _Trying:
    """One call's attempts so far: what each error kind's decision reads and updates."""

    def __init__(
        self,
        credentials: Keys,
        policy: CallPolicy,
        runtime: Runtime,
        on_rejected_session_id: Callable[[], bool] | None,
    ):
        self.credentials, self.policy, self.runtime = credentials, policy, runtime
        self.on_rejected_session_id = on_rejected_session_id
        self.attempts = self.throttled = 0
        self.latency_ms: float | None = None
        self.lost: LostAnswer | None = None
        self.signed_with: Credentials | None = None  # the keys of the latest attempt
        self.renewed_keys = False  # the one retry after an expired token is spent
        self.error: MpsCallError | None = None
        self.kind: ErrorKind | None = None

    @property
    def counted(self) -> int:
        return self.attempts - (self.throttled if self.policy.limiter is not None else 0)

    def answered(self, answer: Any) -> Tried:
        return Tried(Stop.ANSWERED, answer, None, None, *self._counts())

    def ended(self, stop: str, kind: ErrorKind | None = None) -> Tried:
        return Tried(stop, None, self.error, self.kind if kind is None else kind, *self._counts())

    def _counts(self) -> tuple[int, int, int, float | None, LostAnswer | None]:
        return self.attempts, self.counted, self.throttled, self.latency_ms, self.lost


def call_with_retries(
    call: Attempt,
    credentials: Keys,
    policy: CallPolicy,
    runtime: Runtime,
    *,
    on_rejected_session_id: Callable[[], bool] | None = None,
) -> Tried:
    """Make `call` until it answers or trying must stop; never raises MpsCallError.

    `call(credentials, timeout_seconds)` makes one attempt signed with `credentials` and raises
    `MpsCallError` when it fails. `credentials.current` is read before every attempt, so rotated
    keys are used as soon as they are read. `on_rejected_session_id`, for calls that send a
    SessionId: called when the endpoint answers UnknownParameter; it makes `call` send none from
    then on and returns True, or returns False when the call sent none (the error is then final).

    The report's DescribeImageTaskDetail, from any number of threads under one pacer::

        stop = threading.Event()  # set by the Ctrl-C handler
        policy = CallPolicy(RetryPolicy(max_attempts=8), http_timeout, limiter=PacedLimiter(20.0),
                            stopping=stop.is_set)
        tried = call_with_retries(
            lambda keys, timeout: api.call("DescribeImageTaskDetail", {"TaskId": task_id}, keys, timeout),
            CredentialProvider(os.environ), policy, Runtime(clock=clock, sleep=sleep, rand=rand),
        )
        detail = tried.answer if tried.stop is Stop.ANSWERED else None  # else tried.error says why
    """
    trying = _Trying(credentials, policy, runtime, on_rejected_session_id)
    while True:
        timeout = _time_for_an_attempt(trying)
        if isinstance(timeout, str):  # a Stop: why no attempt may start
            return trying.ended(timeout)
        try:
            answer = _attempt(trying, call, timeout)
        except MpsCallError as err:
            trying.error, trying.kind = err, _classify(trying, err)
            ended = _AFTER[trying.kind](trying, err)
            if ended is not None:
                return ended
            continue
        if policy.limiter is not None:
            policy.limiter.succeeded()
        return trying.answered(answer)


def _latest_start(policy: CallPolicy) -> float | None:
    return None if policy.deadline is None else policy.deadline - policy.retry.min_call_seconds


def _time_for_an_attempt(trying: _Trying) -> float | str:
    """The next attempt's timeout once it may start (after a limiter slot), or why none may."""
    policy, clock = trying.policy, trying.runtime.clock
    if policy.cancelled():
        return Stop.CANCELLED
    if policy.deadline is not None and policy.deadline - clock() < policy.retry.min_call_seconds:
        return Stop.OUT_OF_TIME
    if policy.limiter is not None and not policy.limiter.acquire(not_after=_latest_start(policy)):
        return Stop.NO_SLOT_IN_TIME
    if policy.cancelled():  # while waiting for the slot
        return Stop.CANCELLED
    if policy.deadline is None:
        return policy.http_timeout
    remaining = policy.deadline - clock()  # after the wait for a slot: the attempt ends by the deadline
    if remaining < policy.retry.min_call_seconds:
        return Stop.OUT_OF_TIME
    return min(policy.http_timeout, remaining)


def _attempt(trying: _Trying, call: Attempt, timeout: float) -> Any:
    clock = trying.runtime.clock
    trying.attempts += 1
    # Remembered per attempt: an expired token is retried only when the keys have changed since.
    trying.signed_with = trying.credentials.current
    started = clock()
    try:
        return call(trying.signed_with, timeout)  # type: ignore[arg-type]  # callers check for keys first
    finally:
        trying.latency_ms = round((clock() - started) * 1000, 1)


def _classify(trying: _Trying, err: MpsCallError) -> ErrorKind:
    return classify(err.code, sent_session_id=trying.on_rejected_session_id is not None)


def _final(trying: _Trying, err: MpsCallError) -> Tried:
    return trying.ended(Stop.FINAL)


def _duplicate(trying: _Trying, err: MpsCallError) -> Tried:
    if trying.policy.limiter is not None:
        trying.policy.limiter.succeeded()  # MPS answered at this pace
    return trying.ended(Stop.FINAL)


def _session_id_rejected(trying: _Trying, err: MpsCallError) -> Tried | None:
    resend = trying.on_rejected_session_id
    if resend is None or not resend():
        return trying.ended(Stop.FINAL, ErrorKind.PERMANENT)  # nothing left to drop
    return None


def _credentials_stale(trying: _Trying, err: MpsCallError) -> Tried | None:
    """Once per call, retry with the keys now in the environment when they differ from the attempt's.

    Compared with the attempt's keys, not with the previous read: when calls in flight are refused
    together, the first re-reads the rotated keys and the others must retry with them too.
    """
    if trying.renewed_keys:
        return trying.ended(Stop.FINAL)
    trying.renewed_keys = True
    trying.credentials.refresh()
    current = trying.credentials.current
    if current is None or current == trying.signed_with:
        return trying.ended(Stop.FINAL)
    return None


def _throttled(trying: _Trying, err: MpsCallError) -> Tried | None:
    trying.throttled += 1
    limiter = trying.policy.limiter
    if limiter is None:  # nothing paces the calls: a throttled attempt is a transient failure
        return _transient(trying, err)
    limiter.throttled()  # slows every worker down; not a failure of this call
    if trying.policy.stopping():
        return trying.ended(Stop.STOPPED)
    return None


def _transient(trying: _Trying, err: MpsCallError) -> Tried | None:
    policy, runtime = trying.policy, trying.runtime
    if trying.lost is None and answer_may_be_lost(err.code):
        trying.lost = LostAnswer(trying.attempts, err.code)
    max_attempts = policy.retry.max_attempts
    if max_attempts is not None and trying.counted >= max_attempts:
        return trying.ended(Stop.GAVE_UP)
    if policy.stopping():
        return trying.ended(Stop.STOPPED)
    delay = policy.retry.backoff(trying.counted - 1, runtime.rand)
    if policy.deadline is not None and runtime.clock() + delay + policy.retry.min_call_seconds > policy.deadline:
        return trying.ended(Stop.NO_TIME_TO_RETRY)
    runtime.sleep(delay)
    return None


# What follows a failed attempt, by what its error means: None to try again, else how trying ended.
_AFTER: dict[ErrorKind, Callable[[_Trying, MpsCallError], Tried | None]] = {
    ErrorKind.TRANSIENT: _transient,
    ErrorKind.THROTTLED: _throttled,
    ErrorKind.DUPLICATE: _duplicate,
    ErrorKind.SESSION_ID_REJECTED: _session_id_rejected,
    ErrorKind.CREDENTIALS_STALE: _credentials_stale,
    ErrorKind.PERMANENT: _final,
}


# ---- ProcessImage: the function's and backfill's submit path -----------------------------------


class SessionIdSupport:
    """Whether the endpoint takes SessionId, learnt once and shared by every call of a container."""

    def __init__(self) -> None:
        self.supported = True
        self.warned = False  # the container has logged that it stopped sending SessionId


class SubmitPolicy(NamedTuple):
    """`CallPolicy` and what ProcessImage adds: the duplicate's words and the shared SessionId support."""

    retry: RetryPolicy
    http_timeout: float  # the longest one call may take (MPS_TIMEOUT_SECONDS)
    deadline: float | None = None  # runtime.clock() time after which no call starts (the function's)
    limiter: Limiter | None = None  # shared pacing; with one, throttled attempts are not counted
    stopping: Callable[[], bool] = _never  # backfill's Ctrl-C: retry nothing more
    cancelled: Callable[[], bool] = _never  # a Ctrl-C that also cancels a first attempt (`CallPolicy`)
    duplicate_reason: str = "MPS already has a task for this SessionId (earlier delivery)"
    session_ids: SessionIdSupport | None = None  # shared: once refused, no call sends SessionId again

    def call_policy(self) -> CallPolicy:
        return CallPolicy(self.retry, self.http_timeout, self.deadline, self.limiter, self.stopping, self.cancelled)


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


class _ProcessImageCall:
    """ProcessImage of one request, sent without its SessionId once the endpoint refused it here or elsewhere."""

    def __init__(self, process_image: ProcessImage, request: dict[str, Any], session_ids: SessionIdSupport | None):
        self.process_image, self.request, self.session_ids = process_image, request, session_ids
        self.refused = False  # sent without SessionId because the endpoint refuses it

    @property
    def sends_session_id(self) -> bool:
        return "SessionId" in self.request

    def __call__(self, credentials: Credentials, timeout: float) -> tuple[str, str]:
        if self.sends_session_id and self.session_ids is not None and not self.session_ids.supported:
            self._drop_session_id()  # another call learnt it meanwhile
        return self.process_image(self.request, credentials, timeout)

    def session_id_rejected(self) -> bool:
        if not self.sends_session_id:
            return False
        self._drop_session_id()
        if self.session_ids is not None:
            self.session_ids.supported = False
        return True

    def _drop_session_id(self) -> None:
        self.request = {k: v for k, v in self.request.items() if k != "SessionId"}
        self.refused = True


def submit(
    process_image: ProcessImage,
    request: dict[str, Any],
    credentials: Keys,
    policy: SubmitPolicy,
    runtime: Runtime,
) -> Submitted:
    """ProcessImage for one record, retried by `call_with_retries`; how it ended, in the record's words."""
    call = _ProcessImageCall(process_image, request, policy.session_ids)
    rejected = call.session_id_rejected if call.sends_session_id else None
    tried = call_with_retries(call, credentials, policy.call_policy(), runtime, on_rejected_session_id=rejected)
    done = Submitted(
        Outcome.FAILED,
        tried.attempts,
        session_id_refused=call.refused,
        throttled=tried.throttled,
        session_id_sent=call.sends_session_id,
    )
    if tried.stop is Stop.ANSWERED:
        task_id, request_id = tried.answer
        return done._replace(
            outcome=Outcome.SUBMITTED, task_id=task_id, mps_request_id=request_id, latency_ms=tried.latency_ms
        )
    request_id = tried.error.request_id if tried.error is not None and tried.error.request_id else None
    if tried.kind is ErrorKind.DUPLICATE:
        reason = _lost_answer_reason(tried.lost) if tried.lost is not None else policy.duplicate_reason
        return done._replace(
            outcome=Outcome.DUPLICATE, latency_ms=tried.latency_ms, reason=reason, mps_request_id=request_id
        )
    code, error = _failure(tried, paced=policy.limiter is not None)
    latency = None if tried.stop in _OUT_OF_TIME_WHILE else tried.latency_ms
    return done._replace(error_code=code, error=error, latency_ms=latency, mps_request_id=request_id)


def _lost_answer_reason(lost: LostAnswer) -> str:
    return (
        f"MPS already has a task for this SessionId: attempt {lost.attempt} of this invocation got no "
        f"answer ({lost.code}) and most likely created it. MPS gives no TaskId for a duplicate and cannot "
        "look a task up by SessionId, so the TaskId is unknown: find the task by its input and creation "
        "time in the MPS console's task list or with DescribeImageTasks (docs/tencent-cloud.md#finding-a-task)"
    )


# Why a record whose call was cancelled before it was sent failed (0 attempts: nothing reached MPS).
NOT_SENT = "stopped before this record's call was sent (0 attempts)"
_OUT_OF_TIME_WHILE = {Stop.OUT_OF_TIME: "", Stop.NO_SLOT_IN_TIME: "waiting for a slot under the rate limit "}
_TRANSIENT_END = {
    Stop.GAVE_UP: "gave up after {counted} attempts",
    Stop.STOPPED: "stopped before retrying",
    Stop.CANCELLED: "stopped before retrying",
    Stop.NO_TIME_TO_RETRY: "no time left to retry in this invocation",
}


def _failure(tried: Tried, paced: bool) -> tuple[str, str]:
    """The failed record's error code and error."""
    err = tried.error
    if tried.stop in _OUT_OF_TIME_WHILE:
        spent = f"invocation time budget exhausted {_OUT_OF_TIME_WHILE[tried.stop]}after {tried.attempts} attempt(s)"
        return (DEADLINE_EXCEEDED, spent) if err is None else (err.code, f"{spent}; last error: {err.message}")
    if err is None and tried.stop is Stop.CANCELLED:
        return INTERRUPTED, NOT_SENT
    assert err is not None  # every other stop but ANSWERED follows an error
    # A paced throttled attempt stopped by the caller was no failure of its own: its message alone.
    if tried.stop in _TRANSIENT_END and not (paced and tried.kind is ErrorKind.THROTTLED):
        return err.code, f"{err.message} (transient; {_TRANSIENT_END[tried.stop].format(counted=tried.counted)})"
    return err.code, err.message
