"""The loopback HTTP server both fakes run: bytes in, a Reply out, written as it says.

Each fake's server.py only names the methods it serves and hands the request to its wire layer
(the service's responses.py, built by the server around the backend it serves). What is here
makes the fakes quick (no per-request header parsing by the email package, TCP_NODELAY, one
write per small answer), countable (connections accepted), clean to stop (idle keep-alive
connections closed) and able to fail the way networks do (a Reply may say to wait, hang up, cut
the body short or trickle it). Every wait is on the server's `stopping` event, so a stopped
server never leaves a thread sleeping in a fault.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .reply import Reply

if TYPE_CHECKING:
    from typing_extensions import Self

_CHUNK = 1 << 20  # generated zeros are streamed in 1 MiB pieces: memory stays flat
_ZEROS = bytes(_CHUNK)
_ONE_WRITE = 256 * 1024  # answers up to this size go out in one write (see _send_whole)


class FastHandler(BaseHTTPRequestHandler):
    """Reads one request, asks `answer()` for its Reply, writes it. Subclasses implement
    `answer()` and bind the methods they serve: `do_GET = do_POST = FastHandler.serve`."""

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

    # ---- one request ----------------------------------------------------------------------------

    def serve(self) -> None:
        body = self._read_body()
        if body is not None:
            self.send(self.answer(body))

    def answer(self, body: bytes) -> Reply:
        raise NotImplementedError

    def common_headers(self) -> list[tuple[str, str]]:
        """Headers every answer of this service carries (COS: Date and Server)."""
        return []

    def _read_body(self) -> bytes | None:
        """The request body; None when it is unreadable (a 400 has been sent)."""
        if "chunked" in self.fields.get("transfer-encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.fields.get("content-length") or 0)
        except ValueError:
            self._refuse(b"bad Content-Length")
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        # The COS SDK streams file-like bodies of unknown length with Transfer-Encoding: chunked.
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

    # ---- writing a Reply ------------------------------------------------------------------------

    def send(self, reply: Reply) -> None:
        if reply.delay and self.server.stopping.wait(reply.delay):
            reply = Reply(drop=True)  # stopped while waiting: hang up
        if reply.drop:
            self.close_connection = True  # the client sees the connection closed with no answer
            return
        head = self._head(reply)
        if not reply.send_body or self.command == "HEAD":
            self.wfile.write(head)
        elif reply.cut_at is not None:
            self.wfile.write(head + _first_bytes(reply, reply.cut_at))
            self.server.stopping.wait(reply.hold)
        elif reply.trickle:
            self.wfile.write(head)
            self._trickle(reply)
        else:
            self._send_whole(head, reply)
        if reply.cut_at is not None:
            self.close_connection = True  # what Content-Length promised never comes

    def _head(self, reply: Reply) -> bytes:
        status = reply.status
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}"]
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"Content-Length: {reply.content_length}")
        lines += [f"{name}: {value}" for name, value in self.common_headers()]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def _send_whole(self, head: bytes, reply: Reply) -> None:
        # One write, one segment: split writes meet the client's delayed ACK and cost ~40 ms.
        # Only bodies too big to copy cheaply go out in pieces.
        if len(reply.body) + reply.zeros <= _ONE_WRITE:
            self.wfile.write(head + reply.body + _ZEROS[: reply.zeros])
            return
        self.wfile.write(head)
        for piece in _pieces(reply):
            self.wfile.write(piece)

    def _trickle(self, reply: Reply) -> None:
        for piece in _pieces(reply):
            for i in range(len(piece)):
                self.wfile.write(piece[i : i + 1])
                if self.server.stopping.wait(reply.trickle):
                    self.close_connection = True
                    return


def _pieces(reply: Reply) -> Iterator[bytes | memoryview]:
    if reply.body:
        yield reply.body
    left = reply.zeros
    while left > 0:
        piece = min(left, _CHUNK)
        yield memoryview(_ZEROS)[:piece]
        left -= piece


def _first_bytes(reply: Reply, count: int) -> bytes:
    zeros = min(max(count - len(reply.body), 0), reply.zeros)
    return reply.body[:count] + bytes(zeros)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[FastHandler], responses: Any) -> None:
        self.responses = responses  # the service's wire layer: what the handlers ask for each answer
        self.connections_opened = 0
        self.stopping = threading.Event()  # set by stop(): every fault's wait ends
        self.handlers_running = 0  # threads serving a connection right now
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

    def process_request_thread(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        with self._conn_lock:
            self.handlers_running += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self.handlers_running -= 1

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
    """Serves a backend on loopback from a daemon thread: `with Server(backend) as s:`.

    The server owns the wire layer (`responses`, built from `responses_class` around the backend);
    the backend never learns it is served, so the same backend can be driven without HTTP."""

    handler: type[FastHandler]
    responses_class: Callable[[Any], Any]
    thread_name = "fake"

    def __init__(self, backend: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        self.responses = self.responses_class(backend)
        self._httpd = LoopbackServer((host, port), self.handler, self.responses)  # bound now: the port is known
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

    @property
    def handlers_running(self) -> int:
        """Threads serving a connection right now (after stop(), none for long: faults end)."""
        return self._httpd.handlers_running

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.stopping.set()  # first: handlers waiting in a fault give up now
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
