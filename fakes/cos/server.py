"""The HTTP face of the fake COS: a thin keep-alive server in front of a CosBackend.

All API behaviour lives in the backend; this module only moves bytes and carries out the
`Reply` the backend decided on (answer, delay, or hang up). The SDK reaches it with
`CosConfig(Region=..., IP="127.0.0.1", Port=server.port, Scheme="http", ...)`: requests go to
http://127.0.0.1:PORT/<encoded key> with `Host: <bucket>.cos.<region>.myqcloud.com`.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING

from .backend import CosBackend, Reply

if TYPE_CHECKING:
    from typing_extensions import Self

_CHUNK = 1 << 20  # size-only objects are streamed in 1 MiB pieces of zeros: memory stays flat
_ZEROS = bytes(_CHUNK)
_ONE_WRITE = 256 * 1024  # answers up to this size go out in one write (see _write)


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
            # Header values are UTF-8 on the wire when they are not ASCII (x-cos-meta-*).
            self.fields[name.strip().lower()] = value.strip().encode("latin-1").decode("utf-8", "replace")
        connection = self.fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        return True

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        reply = self.server.backend.respond(self.command, self.path, self.fields, body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True  # the client sees the connection closed with no answer
            return
        self._write(reply)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = _serve

    def _read_body(self) -> bytes | None:
        if "chunked" in self.fields.get("transfer-encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.fields.get("content-length") or 0)
        except ValueError:
            self._refuse(b"bad Content-Length")
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        # The SDK streams file-like bodies of unknown length with Transfer-Encoding: chunked.
        pieces: list[bytes] = []
        while True:
            size_line = self.rfile.readline(65537).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self._refuse(b"bad chunk size")
                return None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(pieces)
            pieces.append(self.rfile.read(size))
            self.rfile.readline(65537)  # the CRLF after each chunk

    def _refuse(self, message: bytes) -> None:
        self.close_connection = True
        self.wfile.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(message)}\r\n\r\n".encode("latin-1")
            + message
        )

    def _write(self, reply: Reply) -> None:
        status = reply.status
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"Content-Length: {reply.content_length}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        lines.append("Server: tencent-cos")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        if not reply.send_body or self.command == "HEAD":
            self.wfile.write(head)
            return
        # One write, one segment: split writes meet the client's delayed ACK and cost ~40 ms.
        # Only bodies too big to copy cheaply go out in pieces.
        if len(reply.body) + reply.zeros <= _ONE_WRITE:
            self.wfile.write(head + reply.body + _ZEROS[: reply.zeros])
            return
        self.wfile.write(head)
        if reply.body:
            self.wfile.write(reply.body)
        left = reply.zeros
        while left > 0:
            piece = min(left, _CHUNK)
            self.wfile.write(memoryview(_ZEROS)[:piece])
            left -= piece

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: CosBackend) -> None:
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


class FakeCosServer:
    """`with FakeCosServer(backend) as server:` serves `backend` at `server.url` on loopback."""

    def __init__(self, backend: CosBackend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        self._httpd = _Server((host, port), backend)  # bound now, so `port` is known before start()
        self._thread: threading.Thread | None = None

    @property
    def ip(self) -> str:
        """What CosConfig(IP=...) takes."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """What CosConfig(Port=...) takes."""
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
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-cos", daemon=True
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
