"""A merged event's submissions, handed to the container's workers.

Imported only by an invocation that hands calls to the workers (handler/index.py): a one-record
event, the usual one, never pays for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .index import AutoEnhanceFunction
    from .submit import Submitted


class Callers:
    """A merged event's submissions, started in the event's order by as few of the container's
    workers as keep up with the pacer (`AutoEnhanceFunction.callers_needed`, looked at after each
    call): each worker takes the next record until none is left, the calls stop, or fewer workers
    would do; one that finds more are needed hands another worker the same loop."""

    def __init__(self, call: Any, positions: list[int], fn: AutoEnhanceFunction):
        self._call = call  # position -> Submitted
        self._positions = positions  # the records to submit, in the event's order
        self._fn = fn
        self._taken = 0  # how many of them a worker has started
        self._cut: int | None = None  # the position from which no call starts (out of time, or told to stop)
        self._results: dict[int, Any] = {}  # position -> Submitted, or the exception the call raised
        self._handled = set(positions)
        self._running = 0  # workers in the loop
        self._sleeping = 0  # of them, those backing off before a retry: not counted as calling
        self._cond = threading.Condition()

    def handles(self, position: int) -> bool:
        return position in self._handled

    def start(self) -> None:
        """Hand the calls to a first worker; RuntimeError when no thread can start (none is running then)."""
        with self._cond:
            self._running = 1
        self._fn.workers().submit(self._work)

    def _hand_over(self) -> None:
        """Start one more worker, from a worker. A thread that cannot start (a thread or memory limit)
        leaves the work queued in the pool, and this worker runs it once it is free."""
        try:
            self._fn.workers().submit(self._work)
        except RuntimeError:
            pass

    def stop(self) -> None:
        """No record not started yet will be."""
        with self._cond:
            if self._cut is None:
                self._cut = self._positions[self._taken] if self._taken < len(self._positions) else -1
            self._cond.notify_all()

    @contextlib.contextmanager
    def sleeping(self) -> Iterator[None]:
        """A worker backing off before a retry: another takes the next record meanwhile."""
        with self._cond:
            self._sleeping += 1
            more = self._claim_room()
        if more:
            self._hand_over()
        try:
            yield
        finally:
            with self._cond:
                self._sleeping -= 1

    def _claim_room(self) -> bool:
        """Under the lock: whether one more worker may start, counted as running when it may."""
        if not self._room_for_one_more():
            return False
        self._running += 1
        return True

    def _room_for_one_more(self) -> bool:
        calling = self._running - self._sleeping
        left = len(self._positions) - self._taken
        return (
            self._cut is None
            and left > 0
            and calling < self._fn.callers_needed()
            and self._running < self._fn.settings.concurrency
        )

    def never_started(self, position: int) -> bool:
        with self._cond:
            return self._cut is not None and 0 <= self._cut <= position

    def result(self, position: int) -> Submitted | None:
        """The record's submission once made; None when the calls stopped before it started."""
        with self._cond:
            while position not in self._results:
                if self._cut is not None and 0 <= self._cut <= position:
                    return None
                self._cond.wait()
            done = self._results[position]
        if isinstance(done, BaseException):
            raise done
        return done

    def _work(self) -> None:
        while True:
            with self._cond:
                left = len(self._positions) - self._taken
                if self._cut is not None or left == 0 or self._running - self._sleeping > self._fn.callers_needed():
                    self._running -= 1
                    return
                position = self._positions[self._taken]
                self._taken += 1
                more = self._claim_room()
            if more:
                self._hand_over()
            try:
                done: Any = self._call(position)
            except BaseException as exc:  # noqa: BLE001  (handed to the main thread, raised there)
                done = exc
            with self._cond:
                self._results[position] = done
                self._cond.notify_all()
