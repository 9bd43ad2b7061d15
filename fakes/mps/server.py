"""The HTTP face of the fake MPS: a thin keep-alive server in front of an MpsBackend.

All API behaviour lives in the backend; this module only moves bytes and carries out the
`Reply` the backend decided on (answer, delay, or hang up). The shared plumbing (fast header
parsing, connection counting, clean stop) is in ../http.py.
"""

from __future__ import annotations

import time
from http import HTTPStatus

from ..http import BackgroundServer, FastHandler


class _Handler(FastHandler):
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


class FakeMpsServer(BackgroundServer):
    """`with FakeMpsServer(backend) as server:` serves `backend` at `server.url` on loopback."""

    handler = _Handler
    thread_name = "fake-mps"

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the form HttpProfile(endpoint=...) takes."""
        return f"{self.ip}:{self.port}"
