"""One pacer for every call of one MPS action in a container (or a backfill run, a report): MPS's per-account rate.

Shared by passing it as the retry loop's `limiter` (handler/submit.py `CallPolicy`), which takes a
slot before each attempt and reports each throttled or answered one.

MPS allows ProcessImage 20 requests/s per account (docs/tencent-cloud.md#rate-limit). Calls are
spaced 2% under the rate (clock and network jitter would otherwise put a 21st call in some 1-second
window); a throttled answer slows the pace by 10% (down to a quarter of it), and successes bring
it back within about a second. The clock and sleep are the runtime's, so tests inject them.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class PacedLimiter:
    HEADROOM = 0.98

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.target = self.rate = rate * self.HEADROOM
        self._next = clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def acquire(self, not_after: float | None = None) -> bool:
        """Wait for the next slot; False (and no slot taken) when it comes later than `not_after`."""
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            if not_after is not None and at > not_after:
                return False
            self._next = at + 1.0 / self.rate
        if at > now:
            self._sleep(at - now)
        return True

    def throttled(self) -> None:
        with self._lock:
            self.rate = max(self.target / 4, self.rate * 0.9)
            self._next = max(self._next, self._clock() + 1.0 / self.rate)

    def succeeded(self) -> None:
        with self._lock:
            self.rate = min(self.target, self.rate + self.target / 50)
