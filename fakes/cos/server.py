"""The HTTP face of the fake COS: a thin keep-alive server in front of a CosBackend.

All API behaviour lives in the backend; this module only moves bytes and carries out the
`Reply` the backend decided on (answer, delay, or hang up); the shared plumbing is in
../http.py. The SDK reaches it with
`CosConfig(Region=..., IP="127.0.0.1", Port=server.port, Scheme="http", ...)`: requests go to
http://127.0.0.1:PORT/<encoded key> with `Host: <bucket>.cos.<region>.myqcloud.com`.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from ..http import BackgroundServer, FastHandler
from .backend import Reply

_CHUNK = 1 << 20  # size-only objects are streamed in 1 MiB pieces of zeros: memory stays flat
_ZEROS = bytes(_CHUNK)
_ONE_WRITE = 256 * 1024  # answers up to this size go out in one write (see _write)


class _Handler(FastHandler):
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


class FakeCosServer(BackgroundServer):
    """`with FakeCosServer(backend) as server:` serves `backend` at `server.url` on loopback.

    `ip` and `port` are what CosConfig(IP=..., Port=...) takes."""

    handler = _Handler
    thread_name = "fake-cos"
