"""The HTTP plumbing both fakes share: a fast keep-alive handler base and a loopback server.

Each fake's `server.py` only turns a request into its backend's `Reply` and writes it; what
is here makes them quick (no per-request header parsing by the email package, TCP_NODELAY),
countable (connections accepted) and clean to stop (idle keep-alive connections closed).
"""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self


class FastHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a test can count connections per client
    server: LoopbackServer
    fields: dict[str, str]  # request headers, lowercased names
    raw_requestline: bytes  # set by the base class before parse_request()

    def parse_request(self) -> bool:
        # The base class parses headers with the email package, which costs more than a whole
        # backend call; a plain loop keeps the fakes well below the SDKs' own per-call cost.
        words = self.raw_requestline.decode("latin-1").split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.close_connection = True
            return False
        self.command, self.path, self.request_version = words
        self.fields = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            # Header values are UTF-8 on the wire when they are not ASCII (x-cos-meta-*).
            self.fields[name.strip().lower()] = value.strip().encode("latin-1").decode("utf-8", "replace")
        connection = self.fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        return True

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[FastHandler], backend: Any) -> None:
        self.backend = backend
        self.connections_opened = 0
        self._open: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conn_lock:
            self.connections_opened += 1
            self._open.add(sock)
        return sock, addr

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._conn_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._conn_lock:
            open_now = list(self._open)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that time out or hang up mid-answer are part of the tests, not server bugs.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class BackgroundServer:
    """Serves a backend on loopback from a daemon thread: `with Server(backend) as s:`."""

    handler: type[FastHandler]
    thread_name = "fake"

    def __init__(self, backend: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        self._httpd = LoopbackServer((host, port), self.handler, backend)  # bound now: the port is known
        self._thread: threading.Thread | None = None

    @property
    def ip(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (a keep-alive client opens one)."""
        return self._httpd.connections_opened

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        # Idle keep-alive connections would otherwise hold their handler threads forever.
        self._httpd.close_open_connections()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
