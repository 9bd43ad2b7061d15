"""What the fake MPS and the fake COS share, so each fake holds only its own service's rules.

A request travels: `server.py` (bytes off the socket) -> the service's `responses.py` (parse,
authenticate against `credentials.py`, take the next fault from `faults.py`, dispatch to the
service's backend, log in `calls.py`) -> a `reply.py` Reply -> `server.py` (bytes onto the
socket, mangled as the fault says). `backend.py` is the base both backends build on. The server
builds the responses around the backend it serves; a backend imports nothing of either.
"""

from .backend import ServiceBackend
from .calls import CallLog
from .clock import FakeClock
from .credentials import Credential, Credentials
from .exceptions import ApiError
from .faults import Fault, FaultQueue
from .reply import Reply
from .server import BackgroundServer, FastHandler, LoopbackServer

__all__ = [
    "ApiError",
    "BackgroundServer",
    "CallLog",
    "Credential",
    "Credentials",
    "FakeClock",
    "FastHandler",
    "Fault",
    "FaultQueue",
    "LoopbackServer",
    "Reply",
    "ServiceBackend",
]
