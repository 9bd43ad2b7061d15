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
from requests.cookies import RequestsCookieJar
from requests.hooks import default_hooks
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .errors import (
    NETWORK_CONNECT_FAILED,
    NETWORK_CONNECTION_LOST,
    NETWORK_DEADLINE,
    NETWORK_INCOMPLETE_ANSWER,
    NETWORK_OTHER,
    NETWORK_TIMEOUT,
    NETWORK_TLS,
    NETWORK_UNREADABLE_ANSWER,
)

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


class LeanSession(requests.Session):
    """A requests Session whose `request` prepares the SDK's calls without what they never use.

    The SDK sends every call through `Session.request` (a str body, its own headers, `stream=True`):
    that rebuilds, per call, a cookie jar from two merges (and asks it for a Cookie header), the
    URL's parse and IDNA normalisation, and merges for params, auth and hooks the SDK never passes.
    Here the URL is normalised once per endpoint and the rest is what `Session.request` ends up
    with for such a call: the same headers (session's then the call's), body, Content-Length,
    proxies, verify and timeout, sent by the same `Session.send`. Anything else (cookies, auth,
    params, files, hooks, `trust_env`) goes the ordinary way.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # see handler/mps_client.py: proxies come from the SDK, explicitly
        self._urls: dict[str, str] = {}

    def request(
        self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None, cookies: Any = None,
        files: Any = None, auth: Any = None, timeout: Any = None, allow_redirects: bool = True, proxies: Any = None,
        hooks: Any = None, stream: Any = None, verify: Any = None, cert: Any = None, json: Any = None,
    ) -> requests.Response:  # fmt: skip
        if (
            params or cookies or files or auth or hooks or json is not None or self.trust_env or self.auth
            or self.params or len(self.cookies) or any(self.hooks.values())
            or not isinstance(data, (str, bytes)) or not isinstance(url, str) or "@" in url
        ):  # fmt: skip
            return super().request(
                method, url, params=params, data=data, headers=headers, cookies=cookies, files=files, auth=auth,
                timeout=timeout, allow_redirects=allow_redirects, proxies=proxies, hooks=hooks, stream=stream,
                verify=verify, cert=cert, json=json,
            )  # fmt: skip
        prep = requests.PreparedRequest()
        prep.prepare_method(method)
        prepared_url = self._urls.get(url)
        if prepared_url is None:
            prep.prepare_url(url, None)
            if len(self._urls) > 8:
                self._urls.clear()
            self._urls[url] = prepared_url = str(prep.url)
        prep.url = prepared_url
        prep.prepare_headers(merge_setting(headers, self.headers, dict_class=CaseInsensitiveDict))
        prep._cookies = RequestsCookieJar()  # what an empty jar prepares to
        prep.prepare_body(data, None, None)
        prep.hooks = default_hooks()
        settings = self.merge_environment_settings(prep.url, proxies or {}, stream, verify, cert)
        return self.send(prep, timeout=timeout, allow_redirects=allow_redirects, **settings)


# -- what happened ------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), *getattr(current, "args", ())]
        inner = next((n for n in nested if isinstance(n, BaseException)), None)
        current = inner or current.__cause__ or current.__context__


_CONNECT_PHASE = (
    requests.exceptions.ConnectTimeout,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.NameResolutionError,
    requests.exceptions.InvalidURL,
)


def transport_error_code(exc: BaseException) -> str | None:
    """The NetworkError.* code for a transport exception (raw or wrapped by the SDK), else None."""
    chain = list(_chain(exc))
    kinds = tuple(type(e) for e in chain)

    def has(*types: type) -> bool:
        return any(issubclass(k, types) for k in kinds)

    # A connect that never completed sent nothing, even when its timeout was all the time the call
    # had: ConnectFailed, so no later duplicate is blamed on it as a lost answer.
    if has(*_CONNECT_PHASE) and not has(DeadlineExceeded):
        return NETWORK_CONNECT_FAILED
    if deadline_expired() or has(DeadlineExceeded):
        return NETWORK_DEADLINE
    if has(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
        return NETWORK_UNREADABLE_ANSWER
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        return NETWORK_TLS
    if has(requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead, urllib3.exceptions.IncompleteRead):
        return NETWORK_INCOMPLETE_ANSWER
    if has(
        requests.exceptions.ReadTimeout,
        urllib3.exceptions.ReadTimeoutError,
        urllib3.exceptions.TimeoutError,
        socket.timeout,
    ):
        return NETWORK_TIMEOUT
    if has(
        requests.exceptions.ConnectionError,
        urllib3.exceptions.ProtocolError,
        http.client.HTTPException,
        ConnectionError,
    ):
        return NETWORK_CONNECTION_LOST
    if has(requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
        return NETWORK_OTHER
    return None
