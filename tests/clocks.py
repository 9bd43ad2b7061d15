"""An injected clock for deadline tests: time passes only when it is read or slept.

A deadline test on it proves the deadline logic, not the machine's speed: the function, the
transport's per-call deadline and (when shared) the fake MPS's rate limit all see the same time.
"""

from __future__ import annotations

import threading


class VirtualClock:
    def __init__(self, tick: float = 0.0, start: float = 1000.0) -> None:
        self.now, self.tick = start, tick  # `tick`: what each read costs, like CPU spent between reads
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.tick
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
