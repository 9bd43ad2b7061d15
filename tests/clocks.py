"""An injected clock for deadline tests: time passes only when it is read or slept.

A deadline test on it proves the deadline logic, not the machine's speed: the function, the
transport's per-call deadline and (when shared) the fake MPS's rate limit all see the same time.
Reads cost `tick` each, like CPU shared by every thread; sleeps overlap like real ones: threads
sleeping at once move the clock to the latest wake-up, not by the sum of their sleeps.
"""

from __future__ import annotations

import threading


class VirtualClock:
    def __init__(self, tick: float = 0.0, start: float = 1000.0) -> None:
        self.now, self.tick = start, tick
        self._lock = threading.Lock()
        self._seen = threading.local()  # the time this thread last read

    def __call__(self) -> float:
        with self._lock:
            self.now += self.tick
            self._seen.at = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            wake = getattr(self._seen, "at", self.now) + seconds
            self.now = max(self.now, wake)
            self._seen.at = self.now
