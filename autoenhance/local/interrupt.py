"""A command's Ctrl-C: the first stops it cleanly, the second at once.

SCF never interrupts the function; a terminal does. The first Ctrl-C sets `requested`, which the
function (`Runtime.stopping`), backfill and report read where they decide to start a call, and says
at once on stderr how many calls are in flight and how long they may take; nothing is cut in half,
so every record that was sent gets its line. The second raises KeyboardInterrupt.

The handler runs in the main thread between two bytecodes, possibly while that thread holds a lock
or is inside a write to stderr: it takes no lock (a flag, a count read as it is) and writes its
message with one `os.write`, so it can neither deadlock nor trip over a half-done buffered write.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from typing_extensions import Self

SLEEP_SLICE = 0.05  # seconds: how soon a backoff notices the Ctrl-C


class CtrlC:
    """Installed for the `with` block (from the main thread only), the old handler restored after.

    `in_flight()` is the number of calls on the wire, for the message; `timeout` the longest one may
    take (MPS_TIMEOUT_SECONDS); `on_stop()` runs in the handler, so it must take no lock the main
    thread may hold.
    """

    def __init__(
        self,
        command: str,
        in_flight: Callable[[], int],
        timeout: float,
        on_stop: Callable[[], None] | None = None,
    ):
        self.command, self._in_flight, self.timeout, self._on_stop = command, in_flight, timeout, on_stop
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def stopping(self) -> bool:
        return self.requested

    def sleep(self, seconds: float) -> None:
        """A backoff that ends early at Ctrl-C (in slices: waking a thread would need a lock)."""
        end = time.monotonic() + seconds
        while not self.requested:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(SLEEP_SLICE, left))

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self._on_stop is not None:
            self._on_stop()
        n = self._in_flight()
        text = (
            f"autoenhance {self.command}: stopping: {n} call(s) in flight end within {self.timeout:g} s "
            "(MPS_TIMEOUT_SECONDS); no new call starts. Ctrl-C again to quit at once.\n"
        )
        # On a terminal the line may follow a progress bar or the typed ^C.
        os.write(2, (("\n" if _tty() else "") + text).encode())


def _tty() -> bool:
    try:
        return os.isatty(2)
    except OSError:
        return False
