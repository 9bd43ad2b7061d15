"""MPS's read-only actions the CLI asks, one method each: `autoenhance report`'s and `usage`'s calls.

Every call goes through the function's own retry loop (`call_with_retries`, handler/submit.py),
paced under the action's rate by the function's own pacer shared by every thread, with a bounded
number of counted attempts as backfill has: throttling slows the pacer and is not counted,
transient errors back off, an expired token is retried once with the keys now in the environment.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from handler.errors import MpsCallError
from handler.pacing import PacedLimiter
from handler.retry import RetryPolicy
from handler.runtime import Runtime
from handler.submit import CallPolicy, Stop, call_with_retries

if TYPE_CHECKING:
    from handler.submit import Keys

# DescribeImageTaskDetail: 20 requests/s on the Chinese API page, 100/s on the international one
# (docs/tencent-cloud.md#rate-limit); the lower figure is the one that cannot be exceeded.
DEFAULT_RATE = 20.0
QUERY_RETRY = RetryPolicy(max_attempts=8)  # no deadline (a report may take hours): a bounded number of tries


class Answer(NamedTuple):
    """What MPS said to one query: its Response, or the error that ended the asking."""

    response: dict[str, Any] | None
    error: MpsCallError | None = None
    attempts: int = 0


class MpsQueries:
    """The CLI's MPS queries, from any number of threads under one pacer.

    `make_api()` builds an `MpsApi` (one per thread: each keeps its own connection); `credentials`
    is a `CredentialProvider`. `stopping` (set on Ctrl-C) ends retries early. `calls` and
    `throttled` count every attempt of every query, for the summary.
    """

    def __init__(
        self,
        make_api: Callable[[], Any],
        credentials: Keys,
        http_timeout: float,
        rate: float = DEFAULT_RATE,
        retry: RetryPolicy = QUERY_RETRY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ):
        self._make_api, self._credentials = make_api, credentials
        self.limiter = PacedLimiter(rate, clock, sleep)
        self.stopping = threading.Event()
        self._policy = CallPolicy(
            retry, http_timeout, limiter=self.limiter, stopping=self.stopping.is_set, cancelled=self.stopping.is_set
        )
        self._runtime = Runtime(clock=clock, sleep=sleep, rand=rand)
        self._local = threading.local()
        self.calls = 0
        self.throttled = 0
        self._count = threading.Lock()

    def fetch_task_detail(self, task_id: str) -> Answer:
        """DescribeImageTaskDetail: one task's status, results and errors."""
        return self._ask("DescribeImageTaskDetail", {"TaskId": task_id})

    def fetch_usage(self, params: dict[str, Any]) -> Answer:
        """DescribeUsageData: the account's usage per day over StartTime..EndTime."""
        return self._ask("DescribeUsageData", params)

    def _api(self) -> Any:
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = self._make_api()
        return api

    def _ask(self, action: str, params: dict[str, Any]) -> Answer:
        api = self._api()
        tried = call_with_retries(
            lambda keys, timeout: api.call(action, params, keys, timeout),
            self._credentials,
            self._policy,
            self._runtime,
        )
        with self._count:
            self.calls += tried.attempts
            self.throttled += tried.throttled
        if tried.stop is Stop.ANSWERED:
            return Answer(tried.answer, None, tried.attempts)
        return Answer(None, tried.error, tried.attempts)


def is_auth_error(code: str) -> bool:
    """Codes that every further call would get too: the keys or their permissions."""
    return code.startswith(("AuthFailure", "UnauthorizedOperation")) or code == "FailedOperation.InvalidMpsUser"
