"""The retry loop every MPS call goes through, and ProcessImage's submit on it: stub calls, an injected clock.

No server here: each attempt is a step of a script (an answer, or the MpsCallError to raise) that
takes a fixed time on a VirtualClock, so every deadline below is a number, not the machine's speed.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from clocks import VirtualClock

from handler.credentials import CredentialProvider, Credentials
from handler.errors import DEADLINE_EXCEEDED, NETWORK_CONNECT_FAILED, NETWORK_CONNECTION_LOST, MpsCallError
from handler.pacing import PacedLimiter
from handler.results import Outcome
from handler.retry import ErrorKind, RetryPolicy
from handler.runtime import Runtime
from handler.submit import (
    CallPolicy,
    LostAnswer,
    SessionIdSupport,
    Stop,
    SubmitPolicy,
    call_with_retries,
    submit,
)

HTTP_TIMEOUT = 10.0
ATTEMPT_SECONDS = 0.1  # what each stub attempt takes on the clock
OLD = {"TENCENTCLOUD_SECRETID": "AKIDold", "TENCENTCLOUD_SECRETKEY": "old-key", "TENCENTCLOUD_SESSIONTOKEN": "old"}
NEW = {**OLD, "TENCENTCLOUD_SECRETKEY": "new-key", "TENCENTCLOUD_SESSIONTOKEN": "new"}
OLD_KEYS = Credentials("AKIDold", "old-key", "old")
NEW_KEYS = Credentials("AKIDold", "new-key", "new")
REQUEST = {"SessionId": "s-1", "InputInfo": {"Type": "COS"}}


def error(code: str, message: str = "boom", request_id: str = "") -> MpsCallError:
    return MpsCallError(code, message, request_id)


THROTTLED = "RequestLimitExceeded"
TRANSIENT = "InternalError"
EXPIRED = "AuthFailure.TokenFailure"


class World:
    """The injected clock, sleep and randomness, with every backoff the loop slept."""

    def __init__(self, rand: float = 0.5) -> None:
        self.clock = VirtualClock()
        self.slept: list[float] = []
        self.runtime = Runtime(environ={}, clock=self.clock, sleep=self.sleep, rand=lambda: rand)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.sleep(seconds)

    def deadline_in(self, seconds: float) -> float:
        return self.clock.now + seconds


class Script:
    """A stub MPS call: attempt n takes steps[n] (raised when an error, else returned) and ATTEMPT_SECONDS."""

    def __init__(self, world: World, *steps: Any) -> None:
        self.world, self.steps = world, list(steps)
        self.signed_with: list[Credentials] = []
        self.timeouts: list[float] = []

    def __call__(self, credentials: Credentials, timeout: float) -> Any:
        self.signed_with.append(credentials)
        self.timeouts.append(timeout)
        self.world.clock.sleep(ATTEMPT_SECONDS)
        step = self.steps.pop(0)
        if callable(step):
            step = step()
        if isinstance(step, Exception):
            raise step
        return step


class CountingLimiter:
    """A limiter that always has a slot, and counts what the loop told it."""

    def __init__(self) -> None:
        self.slots = self.throttles = self.successes = 0

    def acquire(self, not_after: float | None = None) -> bool:
        self.slots += 1
        return True

    def throttled(self) -> None:
        self.throttles += 1

    def succeeded(self) -> None:
        self.successes += 1


def keys(env: dict[str, str] | None = None) -> CredentialProvider:
    return CredentialProvider(dict(OLD) if env is None else env)


def tried(world: World, script: Script, provider: CredentialProvider | None = None, **policy: Any):
    retry = policy.pop("retry", RetryPolicy())
    return call_with_retries(script, provider or keys(), CallPolicy(retry, HTTP_TIMEOUT, **policy), world.runtime)


# ---- the loop -------------------------------------------------------------------------------------


def test_an_answer_at_the_first_attempt_is_returned_with_its_latency():
    world = World()
    script = Script(world, {"TaskId": "t-1"})
    done = tried(world, script)
    assert done.stop is Stop.ANSWERED and done.answer == {"TaskId": "t-1"}
    assert done.error is None and done.kind is None and done.lost is None
    assert (done.attempts, done.counted, done.throttled) == (1, 1, 0)
    assert done.latency_ms == pytest.approx(ATTEMPT_SECONDS * 1000)
    assert script.signed_with == [OLD_KEYS] and script.timeouts == [HTTP_TIMEOUT]
    assert world.slept == []


def test_a_transient_error_is_retried_after_a_jittered_backoff():
    world = World(rand=0.5)
    script = Script(world, error(TRANSIENT), "answer")
    done = tried(world, script)
    assert done.stop is Stop.ANSWERED and done.answer == "answer"
    assert done.attempts == 2 and done.error is None and done.kind is None
    assert world.slept == [pytest.approx(RetryPolicy().backoff(0, lambda: 0.5))]


def test_throttled_attempts_paced_by_a_limiter_are_not_counted_nor_backed_off():
    world = World()
    limiter = CountingLimiter()
    steps = [error(THROTTLED)] * 3 + [error(TRANSIENT), "answer"]
    done = tried(world, Script(world, *steps), retry=RetryPolicy(max_attempts=2), limiter=limiter)
    assert done.stop is Stop.ANSWERED
    assert (done.attempts, done.throttled, done.counted) == (5, 3, 2)
    assert len(world.slept) == 1  # the transient error's backoff only: the limiter spaces the rest
    assert (limiter.slots, limiter.throttles, limiter.successes) == (5, 3, 1)


def test_throttled_attempts_without_a_limiter_count_and_back_off_like_transient_ones():
    world = World(rand=1.0)
    done = tried(world, Script(world, *[error(THROTTLED)] * 3, "never"), retry=RetryPolicy(max_attempts=3))
    assert done.stop is Stop.GAVE_UP and done.kind is ErrorKind.THROTTLED
    assert (done.attempts, done.throttled, done.counted) == (3, 3, 3)
    assert world.slept == [pytest.approx(0.2), pytest.approx(0.4)]


def test_transient_errors_stop_after_max_attempts():
    world = World(rand=1.0)
    done = tried(world, Script(world, *[error(TRANSIENT)] * 5), retry=RetryPolicy(max_attempts=3))
    assert done.stop is Stop.GAVE_UP and done.kind is ErrorKind.TRANSIENT
    assert done.attempts == 3 and done.error is not None and done.error.code == TRANSIENT
    assert world.slept == [pytest.approx(0.2), pytest.approx(0.4)]  # none after the last attempt


def test_no_attempt_starts_too_close_to_the_deadline():
    world = World()
    script = Script(world, "never")
    done = tried(world, script, deadline=world.deadline_in(RetryPolicy().min_call_seconds - 0.01))
    assert done.stop is Stop.OUT_OF_TIME and done.attempts == 0 and done.error is None
    assert script.signed_with == []


def test_an_attempt_gets_only_the_time_left_before_the_deadline():
    world = World()
    script = Script(world, "answer")
    tried(world, script, deadline=world.deadline_in(3.0))
    assert script.timeouts == [pytest.approx(3.0)]


def test_no_slot_from_the_limiter_before_the_deadline_ends_trying():
    world = World(rand=0.0)
    limiter = PacedLimiter(1.0, world.clock, world.sleep)  # the second slot comes about 1 s after the first
    script = Script(world, error(TRANSIENT), "never")
    done = tried(world, script, deadline=world.deadline_in(0.8), limiter=limiter)
    assert done.stop is Stop.NO_SLOT_IN_TIME and done.attempts == 1
    assert done.error is not None and done.error.code == TRANSIENT


def test_no_retry_when_the_backoff_would_end_too_close_to_the_deadline():
    world = World(rand=1.0)  # backoffs 0.2 then 0.4
    script = Script(world, error(TRANSIENT), error(TRANSIENT), "never")
    done = tried(world, script, deadline=world.deadline_in(1.0))
    # attempt 1 ends at +0.1, backs off to +0.3; attempt 2 ends at +0.4: +0.4 + 0.4 + 0.25 > +1.0
    assert done.stop is Stop.NO_TIME_TO_RETRY and done.attempts == 2
    assert world.slept == [pytest.approx(0.2)]


def test_stopping_ends_trying_before_a_retry():
    world = World()
    done = tried(world, Script(world, error(TRANSIENT), "never"), stopping=lambda: True)
    assert done.stop is Stop.STOPPED and done.attempts == 1 and world.slept == []


def test_stopping_ends_trying_after_a_paced_throttled_attempt():
    world = World()
    limiter = CountingLimiter()
    done = tried(world, Script(world, error(THROTTLED), "never"), limiter=limiter, stopping=lambda: True)
    assert done.stop is Stop.STOPPED and done.kind is ErrorKind.THROTTLED and done.attempts == 1
    assert limiter.throttles == 1  # the other workers still slow down


@pytest.mark.parametrize("code", ["InvalidParameter", "AuthFailure.UnauthorizedOperation", "SomethingNew"])
def test_a_permanent_error_ends_trying_at_once(code):
    world = World()
    limiter = CountingLimiter()
    done = tried(world, Script(world, error(code), "never"), limiter=limiter, retry=RetryPolicy(max_attempts=8))
    assert done.stop is Stop.FINAL and done.kind is ErrorKind.PERMANENT and done.attempts == 1
    assert done.error is not None and done.error.code == code
    assert world.slept == [] and limiter.successes == 0


def test_unknown_parameter_is_permanent_for_a_call_without_session_id_handling():
    world = World()
    done = tried(world, Script(world, error("UnknownParameter"), "never"))
    assert done.stop is Stop.FINAL and done.kind is ErrorKind.PERMANENT and done.attempts == 1


# ---- expired tokens -------------------------------------------------------------------------------


def rotate(env: dict[str, str], error_code: str = EXPIRED):
    """A step that rotates the keys in `env` while the attempt is in flight, then fails it."""

    def step() -> MpsCallError:
        env.update(NEW)
        return error(error_code)

    return step


def test_an_expired_token_is_retried_once_with_the_rotated_keys():
    world, env = World(), dict(OLD)
    script = Script(world, rotate(env), "answer")
    done = tried(world, script, keys(env))
    assert done.stop is Stop.ANSWERED and done.attempts == 2
    assert script.signed_with == [OLD_KEYS, NEW_KEYS]


def test_an_expired_token_with_no_newer_keys_ends_trying():
    world = World()
    done = tried(world, Script(world, error(EXPIRED), "never"))
    assert done.stop is Stop.FINAL and done.kind is ErrorKind.CREDENTIALS_STALE and done.attempts == 1


def test_an_expired_token_is_retried_only_once_per_call():
    world, env = World(), dict(OLD)
    later = {**NEW, "TENCENTCLOUD_SESSIONTOKEN": "newer"}
    script = Script(world, rotate(env), lambda: env.update(later) or error(EXPIRED), "never")
    done = tried(world, script, keys(env))
    assert done.stop is Stop.FINAL and done.attempts == 2 and done.error is not None and done.error.code == EXPIRED


def test_a_call_refused_with_keys_another_call_already_renewed_retries_with_them():
    """Interleaved: call A's first attempt is in flight while call B meets the rotation and re-reads the keys."""
    world, env = World(), dict(OLD)
    provider = keys(env)
    inner = Script(world, rotate(env), "answer B")
    finished: list[Any] = []

    def a_first_attempt() -> MpsCallError:
        finished.append(tried(world, inner, provider))  # B re-reads the keys: refresh() has nothing new for A
        return error(EXPIRED)

    outer = Script(world, a_first_attempt, "answer A")
    done = tried(world, outer, provider)
    assert finished[0].answer == "answer B"
    assert done.stop is Stop.ANSWERED and done.answer == "answer A" and done.attempts == 2
    assert outer.signed_with == [OLD_KEYS, NEW_KEYS]


def test_every_call_in_flight_during_a_rotation_retries_with_the_new_keys():
    """Four records submitted at once, all signed with the old token; the keys rotate while they are in flight."""
    env = dict(OLD)
    provider = keys(env)
    in_flight = threading.Barrier(4, action=lambda: env.update(NEW))
    signed: list[Credentials] = []
    lock = threading.Lock()

    def process_image(request: dict[str, Any], credentials: Credentials, timeout: float) -> tuple[str, str]:
        with lock:
            signed.append(credentials)
        if credentials == OLD_KEYS:
            in_flight.wait(timeout=10)
            raise error(EXPIRED)
        return f"task-{request['SessionId']}", "req"

    results: dict[int, Any] = {}

    def record(n: int) -> None:
        policy = SubmitPolicy(RetryPolicy(), HTTP_TIMEOUT)
        results[n] = submit(process_image, {"SessionId": str(n)}, provider, policy, Runtime(environ={}))

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [results[n].outcome for n in range(4)] == [Outcome.SUBMITTED] * 4
    assert [results[n].task_id for n in range(4)] == [f"task-{n}" for n in range(4)]
    assert all(results[n].attempts == 2 for n in range(4))
    assert sorted(signed, key=lambda k: k.secret_key) == [NEW_KEYS] * 4 + [OLD_KEYS] * 4


# ---- ProcessImage: submit -------------------------------------------------------------------------


class Mps:
    """A stub ProcessImage: attempt n takes steps[n]; every request it was sent is kept."""

    def __init__(self, world: World, *steps: Any) -> None:
        self.script = Script(world, *steps)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any], credentials: Credentials, timeout: float) -> tuple[str, str]:
        self.requests.append(request)
        return self.script(credentials, timeout)


def submitted(world: World, mps: Mps, request: dict[str, Any] = REQUEST, **policy: Any):
    retry = policy.pop("retry", RetryPolicy())
    return submit(mps, request, keys(), SubmitPolicy(retry, HTTP_TIMEOUT, **policy), world.runtime)


def test_a_submitted_record_has_its_task_and_request_ids():
    world = World()
    done = submitted(world, Mps(world, ("task-1", "req-1")))
    assert (done.outcome, done.task_id, done.mps_request_id, done.attempts) == (Outcome.SUBMITTED, "task-1", "req-1", 1)
    assert done.latency_ms == pytest.approx(ATTEMPT_SECONDS * 1000)
    assert done.session_id_sent and not done.session_id_refused


def test_a_refused_session_id_is_resent_without_it_and_the_container_learns_it():
    world, support = World(), SessionIdSupport()
    mps = Mps(world, error("UnknownParameter"), ("task-1", "req-1"))
    done = submitted(world, mps, session_ids=support)
    assert done.outcome is Outcome.SUBMITTED and done.attempts == 2
    assert "SessionId" in mps.requests[0] and "SessionId" not in mps.requests[1]
    assert done.session_id_refused and not done.session_id_sent
    assert not support.supported
    assert REQUEST["SessionId"] == "s-1"  # the plan's request is not changed


def test_a_session_id_another_call_learnt_is_refused_is_not_sent():
    world, support = World(), SessionIdSupport()
    support.supported = False
    mps = Mps(world, ("task-1", "req-1"))
    done = submitted(world, mps, session_ids=support)
    assert "SessionId" not in mps.requests[0]
    assert done.outcome is Outcome.SUBMITTED and done.attempts == 1 and done.session_id_refused


def test_unknown_parameter_without_a_session_id_fails_the_record():
    world = World()
    request = {k: v for k, v in REQUEST.items() if k != "SessionId"}
    done = submitted(world, Mps(world, error("UnknownParameter", "no such field"), "never"), request)
    assert (done.outcome, done.error_code, done.error, done.attempts) == (
        Outcome.FAILED,
        "UnknownParameter",
        "no such field",
        1,
    )


def test_a_duplicate_after_a_lost_answer_says_which_attempt_most_likely_created_the_task():
    world = World(rand=0.0)
    mps = Mps(world, error(NETWORK_CONNECTION_LOST), error("InvalidParameterValue.SessionId", request_id="req-2"))
    done = submitted(world, mps)
    assert done.outcome is Outcome.DUPLICATE and done.attempts == 2 and done.task_id is None
    assert done.mps_request_id == "req-2" and done.error_code is None
    assert done.reason is not None and done.reason.startswith(
        "MPS already has a task for this SessionId: attempt 1 of this invocation got no answer "
        f"({NETWORK_CONNECTION_LOST}) and most likely created it."
    )


def test_a_duplicate_after_errors_that_sent_nothing_has_the_policys_reason():
    world = World(rand=0.0)
    mps = Mps(world, error(NETWORK_CONNECT_FAILED), error("InvalidParameterValue.SessionId"))
    done = submitted(world, mps, duplicate_reason="MPS already has a task for this object version")
    assert done.outcome is Outcome.DUPLICATE and done.mps_request_id is None
    assert done.reason == "MPS already has a task for this object version"


def test_the_loop_remembers_the_first_attempt_whose_answer_was_lost():
    world = World(rand=0.0)
    script = Script(world, error(NETWORK_CONNECT_FAILED), error("ClientNetworkError"), error(TRANSIENT), "answer")
    assert tried(world, script).lost == LostAnswer(2, "ClientNetworkError")


@pytest.mark.parametrize(
    ("steps", "policy", "expected"),
    [
        pytest.param(
            [error(TRANSIENT, "busy")] * 3,
            {"retry": RetryPolicy(max_attempts=3)},
            "busy (transient; gave up after 3 attempts)",
            id="gave-up",
        ),
        pytest.param(
            [error(TRANSIENT, "busy")],
            {"stopping": lambda: True},
            "busy (transient; stopped before retrying)",
            id="stopped",
        ),
        pytest.param(
            [error(THROTTLED, "slow down")],
            {"stopping": lambda: True, "limiter": CountingLimiter()},
            "slow down",
            id="stopped-while-paced-throttled",
        ),
        pytest.param(
            [error(THROTTLED, "slow down")] * 2,
            {"retry": RetryPolicy(max_attempts=2)},
            "slow down (transient; gave up after 2 attempts)",
            id="unpaced-throttled-gave-up",
        ),
        pytest.param([error("InvalidParameter", "bad")], {}, "bad", id="permanent"),
    ],
)
def test_the_words_of_a_failed_record(steps, policy, expected):
    world = World()
    done = submitted(world, Mps(world, *steps), **policy)
    assert done.outcome is Outcome.FAILED and done.error == expected
    assert done.latency_ms == pytest.approx(ATTEMPT_SECONDS * 1000)


def test_a_record_with_no_time_left_for_a_backoff_fails_with_the_last_error():
    world = World(rand=1.0)
    mps = Mps(world, error(TRANSIENT, "busy", "req-1"), error(TRANSIENT, "busy", "req-2"), "never")
    done = submitted(world, mps, deadline=world.deadline_in(1.0))
    assert (done.outcome, done.error_code, done.mps_request_id, done.attempts) == (
        Outcome.FAILED,
        TRANSIENT,
        "req-2",
        2,
    )
    assert done.error == "busy (transient; no time left to retry in this invocation)"


def test_a_record_out_of_time_before_any_attempt_is_a_deadline_failure():
    world = World()
    mps = Mps(world, "never")
    done = submitted(world, mps, deadline=world.deadline_in(0.1))
    assert (done.outcome, done.error_code, done.error, done.attempts, done.latency_ms) == (
        Outcome.FAILED,
        DEADLINE_EXCEEDED,
        "invocation time budget exhausted after 0 attempt(s)",
        0,
        None,
    )
    assert mps.requests == []


def test_a_record_with_no_slot_before_the_deadline_fails_with_the_last_error_and_no_latency():
    world = World(rand=0.0)
    limiter = PacedLimiter(1.0, world.clock, world.sleep)
    done = submitted(
        world, Mps(world, error(TRANSIENT, "busy", "req-1"), "never"), deadline=world.deadline_in(0.8), limiter=limiter
    )
    assert (done.error_code, done.mps_request_id, done.latency_ms) == (TRANSIENT, "req-1", None)
    assert done.error == (
        "invocation time budget exhausted waiting for a slot under the rate limit after 1 attempt(s); last error: busy"
    )
