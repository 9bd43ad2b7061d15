"""The base of both backends: what every fake account has besides its service's data.

Credentials, injected faults, the call log, the clock and reset() are the same for every
service, so they are written once here; a service's backend adds its data and one method per
API action, and its responses.py reads these to authenticate, inject and record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from .calls import CallLog
from .credentials import Credentials
from .faults import Fault, FaultQueue

C = TypeVar("C")
F = TypeVar("F", bound=Fault)


class ServiceBackend(Generic[C, F]):
    """`clock` stamps calls and the service's data (pass a FakeClock in tests; signatures always
    use real time); `latency_seconds` is added to every answer (a network, for benchmarks)."""

    def __init__(self, *, clock: Callable[[], float] | None = None, latency_seconds: float = 0.0) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.latency_seconds = latency_seconds
        self.calls: CallLog[C] = CallLog()
        self.credentials = Credentials()
        self.faults: FaultQueue[F] = FaultQueue()
        self._lock = threading.Lock()  # the server is threaded: every access to the data holds it

    def add_credential(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        """Accept requests signed with this key; with a token, they must also carry it (temporary
        credentials, like an SCF execution role's)."""
        self.credentials.add(secret_id, secret_key, token)

    def reset(self) -> None:
        """Back to a new backend with the same settings: no data, calls, faults or credentials."""
        self.calls.clear()
        self.credentials.clear()
        self.faults.clear()
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        """Forget the service's data (called with the lock held)."""
        raise NotImplementedError
