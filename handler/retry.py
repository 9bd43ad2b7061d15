"""Pure decisions about one failed MPS attempt: what its error code means, and how to back off.

`classify` turns a wire or transport error code into an `ErrorKind`; `RetryPolicy` holds every
knob of the retry loop (`call_with_retries` in handler/submit.py, which every MPS call of the
project goes through), with the function's and backfill's settings side by side. Nothing here
does I/O.
"""

from __future__ import annotations

import enum
import random
from typing import Callable, NamedTuple

from .errors import INVALID_RESPONSE, NETWORK_CONNECT_FAILED, NETWORK_ERROR_PREFIX


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"  # retry while the policy allows: the same request may succeed later
    THROTTLED = "throttled"  # over MPS's rate limit: transient, and a signal to slow down
    DUPLICATE = "duplicate"  # MPS already has a task for this SessionId: the record is done
    SESSION_ID_REJECTED = "session_id_rejected"  # the endpoint does not know SessionId: resend without it
    CREDENTIALS_STALE = "credentials_stale"  # the temporary token expired: re-read the keys, retry once
    PERMANENT = "permanent"  # repeating the same request cannot help


DUPLICATE_CODE = "InvalidParameterValue.SessionId"

# Codes the SDK or the HTTP edge raises itself, and MPS's server-side ones (docs/tencent-cloud.md#errors).
_TRANSIENT_CODES = frozenset(
    {
        "ClientNetworkError",  # the SDK's wrapper for a refused, reset or timed-out connection
        "ServerNetworkError",  # the SDK's code for a non-200 HTTP status
        "InternalError",
        "ServiceUnavailable",
        "ResourceUnavailable",
        "FailedOperation.NetWorkError",
        INVALID_RESPONSE,  # a 200 we could not read: the task may exist, SessionId makes a retry safe
    }
)
# Prefixes of transient families: MPS internal errors, and the HTTP edge's own codes for a
# transport fault (NetworkError.<what happened>: constants in handler/errors.py, decided in
# handler/transport.py).
_TRANSIENT_PREFIXES = ("InternalError.", NETWORK_ERROR_PREFIX)
THROTTLED_PREFIX = "RequestLimitExceeded"


def classify(code: str, sent_session_id: bool = True) -> ErrorKind:
    if code == DUPLICATE_CODE:
        return ErrorKind.DUPLICATE
    if code.startswith(THROTTLED_PREFIX):
        return ErrorKind.THROTTLED
    if code in _TRANSIENT_CODES or code.startswith(_TRANSIENT_PREFIXES):
        return ErrorKind.TRANSIENT
    if code == "UnknownParameter" and sent_session_id:
        return ErrorKind.SESSION_ID_REJECTED
    if code == "AuthFailure.TokenFailure":
        return ErrorKind.CREDENTIALS_STALE
    # Invalid parameters, auth/CAM denials, FailedOperation.InvalidMpsUser, unknown codes.
    return ErrorKind.PERMANENT


class RetryPolicy(NamedTuple):
    """How hard one MPS call is tried. The function is bounded by its deadline, backfill and the CLI by attempts.

    base, cap: exponential backoff with full jitter, uniform in [0, min(cap, base * 2**n)] before
        retry n+1, where n+1 is the counted attempt that just failed. Full jitter spreads calls
        that were throttled together instead of having them retry in lock-step against the rate limit.
    max_attempts: counted attempts after which a transient error ends trying (None: only the
        deadline or the caller's stop ends them). How attempts are counted, for every caller alike:
        - every attempt made is counted (including one refused for its SessionId or for an
          expired token: each of those is retried at most once per call), except
        - a throttled attempt when a shared limiter paces the calls: throttling then says
          "slower", not "broken"; the limiter slows every caller down and the attempt is retried
          at the next slot without backoff, as long as the deadline and the caller allow.
        Without a limiter a throttled attempt is a transient failure like any other: counted,
        and followed by a backoff.
    min_call_seconds: never start a call with less time than this left before the deadline
        (a call that cannot finish only costs MPS a task whose answer is lost).
    """

    base: float = 0.2
    cap: float = 5.0
    max_attempts: int | None = None
    min_call_seconds: float = 0.25

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        return rand() * min(self.cap, self.base * (2**retry))


FUNCTION_RETRY = RetryPolicy()  # bounded by the invocation's time limit
BACKFILL_RETRY = RetryPolicy(max_attempts=8)  # no deadline: a run may take hours


# Transient codes after which the request may have reached MPS and created the task although
# no answer arrived: a later `duplicate` for the same SessionId is then most likely our own task.
_ANSWER_LOST_CODES = frozenset({"ClientNetworkError", "ServerNetworkError", INVALID_RESPONSE})
_NOT_SENT_CODES = frozenset({NETWORK_CONNECT_FAILED})  # nothing reached MPS


def answer_may_be_lost(code: str) -> bool:
    return code not in _NOT_SENT_CODES and (code in _ANSWER_LOST_CODES or code.startswith(NETWORK_ERROR_PREFIX))
