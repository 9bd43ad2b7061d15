"""The HTTP under the SDK: a wall-clock deadline on every call, and every transport fault as an error code.

Two gaps in the SDK's HTTP make the function break its promises at the edge
(docs/tencent-cloud.md#streaming-responses):

- Its timeout is requests', which bounds the connect and *each socket read*, not the call: an
  answer whose headers come late and whose body trickles in one byte at a time can take minutes,
  and SCF kills the function at its time limit before it logs anything.
- It sends with `stream=True`, so the body is read after the SDK's own error wrapping: a cut
  body, a bad Content-Encoding or a stall mid-body escapes as a raw requests/urllib3 exception.

`install_deadline(session)` mounts an adapter whose sockets give every read and write only the
time left until the call's deadline, so `with call_deadline(seconds):` bounds the whole call,
body included. `transport_error_code(exc)` names what happened to a call that raised.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_call = threading.local()  # .deadline, .clock and .expired, per calling thread


class DeadlineExceeded(socket.timeout):
    """The call's wall-clock deadline passed while it waited on the network."""


@contextlib.contextmanager
def call_deadline(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Every socket operation of the calls made inside ends by `seconds` from now on `clock`."""
    deadline = clock() + seconds
    _call.deadline, _call.clock, _call.expired = deadline, clock, False
    try:
        yield
    finally:
        # A read whose timeout the deadline shortened ends as an ordinary timeout: tell them apart by the time.
        _call.expired = _call.expired or clock() >= deadline - 0.005
        _call.deadline = None


def deadline_expired() -> bool:
    """Whether the last call of this thread was cut by its deadline."""
    return bool(getattr(_call, "expired", False))


def _time_left(limit: float | None) -> float | None:
    deadline = getattr(_call, "deadline", None)
    if deadline is None:
        return limit
    left = deadline - _call.clock()
    if left <= 0:
        _call.expired = True
        raise DeadlineExceeded("the call's deadline passed")
    return left if limit is None else min(limit, left)


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose reads and writes stop at the calling thread's deadline."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._limit = sock.gettimeout()  # what urllib3 set: the read timeout

    def settimeout(self, value: float | None) -> None:
        self._limit = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._limit

    def _bounded(self) -> None:
        self._sock.settimeout(_time_left(self._limit))

    # Arguments pass through untouched: plain and TLS sockets give their optional ones different defaults.
    def recv_into(self, *args: Any) -> int:
        self._bounded()
        return self._sock.recv_into(*args)

    def recv(self, *args: Any) -> bytes:
        self._bounded()
        return self._sock.recv(*args)

    def sendall(self, *args: Any) -> None:
        self._bounded()
        self._sock.sendall(*args)

    def send(self, *args: Any) -> int:
        self._bounded()
        return self._sock.send(*args)

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any) -> Any:
        # http.client reads the answer through makefile("rb"): route those reads through us.
        raw = socket.SocketIO(self, "rb" if "r" in mode else "wb")  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # socket.makefile's own bookkeeping
        if "r" in mode:
            return io.BufferedReader(raw, buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE)
        return io.BufferedWriter(raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def install_deadline(session: requests.Session) -> None:
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)


# -- what happened ------------------------------------------------------------------------------

# The edge's codes for transport faults. All start with NetworkError. and are transient
# (handler/retry.py); only ConnectFailed is known to have sent nothing.
CONNECT_FAILED = "NetworkError.ConnectFailed"  # refused, unreachable, DNS, connect timeout
CONNECTION_LOST = "NetworkError.ConnectionLost"  # reset or closed before an answer arrived
TIMEOUT = "NetworkError.Timeout"  # no byte for the read timeout
DEADLINE = "NetworkError.DeadlineExceeded"  # the call ran into the invocation's deadline
INCOMPLETE_ANSWER = "NetworkError.IncompleteAnswer"  # the body ended before its Content-Length
UNREADABLE_ANSWER = "NetworkError.UnreadableAnswer"  # Content-Encoding the body does not match
TLS = "NetworkError.TLS"  # handshake or certificate failure
OTHER = "NetworkError.Other"  # any other transport exception


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), *getattr(current, "args", ())]
        inner = next((n for n in nested if isinstance(n, BaseException)), None)
        current = inner or current.__cause__ or current.__context__


def transport_error_code(exc: BaseException) -> str | None:
    """The NetworkError.* code for a transport exception (raw or wrapped by the SDK), else None."""
    if deadline_expired():
        return DEADLINE
    chain = list(_chain(exc))
    kinds = tuple(type(e) for e in chain)

    def has(*types: type) -> bool:
        return any(issubclass(k, types) for k in kinds)

    if has(DeadlineExceeded):
        return DEADLINE
    if has(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
        return UNREADABLE_ANSWER
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        return TLS
    if has(
        requests.exceptions.ConnectTimeout,
        urllib3.exceptions.ConnectTimeoutError,
        urllib3.exceptions.NewConnectionError,
        urllib3.exceptions.NameResolutionError,
        requests.exceptions.InvalidURL,
    ):
        return CONNECT_FAILED
    if has(requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead, urllib3.exceptions.IncompleteRead):
        return INCOMPLETE_ANSWER
    if has(
        requests.exceptions.ReadTimeout,
        urllib3.exceptions.ReadTimeoutError,
        urllib3.exceptions.TimeoutError,
        socket.timeout,
    ):
        return TIMEOUT
    if has(
        requests.exceptions.ConnectionError,
        urllib3.exceptions.ProtocolError,
        http.client.HTTPException,
        ConnectionError,
    ):
        return CONNECTION_LOST
    if has(requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
        return OTHER
    return None
