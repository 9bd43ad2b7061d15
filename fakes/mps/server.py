"""The HTTP face of the fake MPS: a thin keep-alive server in front of an MpsBackend.

All API behaviour lives in the backend; this module only moves bytes and carries out the
`Reply` the backend decided on (answer, delay, or hang up).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING

from .backend import MpsBackend

if TYPE_CHECKING:
    from typing_extensions import Self


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a test can count connections per client
    server: _Server
    fields: dict[str, str]  # request headers, lowercased names
    raw_requestline: bytes  # set by the base class before parse_request()

    def parse_request(self) -> bool:
        # The base class parses headers with the email package, which costs more than the whole
        # backend; a plain loop keeps the fake well below the SDK's own per-call cost.
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
            self.fields[name.strip().lower()] = value.strip()
        connection = self.fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        return True

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            length = int(self.fields.get("content-length") or 0)
        except ValueError:
            self.close_connection = True
            self._write(400, b"bad Content-Length", "text/plain")
            return
        body = self.rfile.read(length) if length > 0 else b""
        if path != "/":
            self._write(404, b"not found", "text/plain")
            return
        action = self.fields.get("x-tc-action", "")
        reply = self.server.backend.respond(action, self.fields, body, self.command, query)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True  # the client sees the connection closed with no answer
            return
        self._write(reply.status, reply.body, reply.content_type)

    do_GET = do_POST

    def _write(self, status: int, body: bytes, content_type: str) -> None:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        close = "Connection: close\r\n" if self.close_connection else ""
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{close}\r\n"
        )
        # One write, one segment: split writes meet the client's delayed ACK and cost ~40 ms.
        self.wfile.write(head.encode("latin-1") + body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: MpsBackend) -> None:
        self.backend = backend
        self.connections_opened = 0
        self._open: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

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


class FakeMpsServer:
    """`with FakeMpsServer(backend) as server:` serves `backend` at `server.url` on loopback."""

    def __init__(self, backend: MpsBackend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        self._httpd = _Server((host, port), backend)  # bound now, so `url` is known before start()
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the form HttpProfile(endpoint=...) takes."""
        host, port = self._httpd.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (a keep-alive client opens one)."""
        return self._httpd.connections_opened

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-mps", daemon=True
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
