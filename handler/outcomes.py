"""Pure decisions: what an MPS error code means for a record, and how long to back off."""

from __future__ import annotations

import random
from typing import Callable

# Outcome kinds of one ProcessImage attempt.
TRANSIENT = "transient"  # retry in this invocation while time allows
DUPLICATE = "duplicate"  # MPS already has a task for this SessionId: the record is done
SESSION_ID_REJECTED = "session_id_rejected"  # endpoint does not know SessionId: resend without it
CREDENTIALS_STALE = "credentials_stale"  # temporary token expired: re-read credentials, retry once
PERMANENT = "permanent"  # no retry in this invocation

DUPLICATE_CODE = "InvalidParameterValue.SessionId"

# Transport-level codes the SDK raises itself (tencent-spec.md §4.4).
_TRANSIENT_CODES = frozenset(
    {
        "ClientNetworkError",  # refused, reset, timeout
        "ServerNetworkError",  # non-200 HTTP status
        "InternalError",
        "ServiceUnavailable",
        "ResourceUnavailable",
        "FailedOperation.NetWorkError",
        "InvalidResponse",  # a 200 we could not read: the task may exist, SessionId makes retry safe
    }
)


def classify(code: str, message: str = "", sent_session_id: bool = True) -> str:
    if code == DUPLICATE_CODE:
        return DUPLICATE
    if code.startswith(("RequestLimitExceeded", "InternalError.")):
        return TRANSIENT
    if code in _TRANSIENT_CODES:
        return TRANSIENT
    if code == "UnknownParameter" and sent_session_id:
        return SESSION_ID_REJECTED
    if code == "AuthFailure.TokenFailure":
        return CREDENTIALS_STALE
    # Invalid parameters, auth/CAM denials, FailedOperation.InvalidMpsUser, unknown codes:
    # repeating the same request cannot help.
    return PERMANENT


def backoff_delay(
    attempt: int, base: float = 0.2, cap: float = 5.0, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads concurrent invocations that were throttled together, instead of
    having them retry in lock-step against the 20 requests/s limit.
    """
    return rand() * min(cap, base * (2**attempt))
