"""A clock tests can set, so task ages, SessionId expiry and Last-Modified never depend on wall time.

Signatures are always checked against real time: the SDKs sign with it.
"""

from __future__ import annotations


class FakeClock:
    """A settable clock: `clock()` is the time; `advance()` and `set()` move it."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, t: float) -> None:
        self._now = t
