"""The record of every request a fake received, which is how tests see what a client really sent.

It is a list (tests compare it, slice it, iterate it) that handler threads append to safely.
"""

from __future__ import annotations

import threading
from typing import TypeVar

C = TypeVar("C")


class CallLog(list[C]):
    """Calls in arrival order; each service defines its own Call record."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def record(self, call: C) -> None:
        with self._lock:
            self.append(call)

    def snapshot(self) -> list[C]:
        """A copy that threads still serving cannot change under the caller."""
        with self._lock:
            return list(self)

    def clear(self) -> None:
        with self._lock:
            super().clear()
