"""The fake MPS on the wire: API 3.0 requests are POSTs to "/" naming their action in X-TC-Action.

Everything else is shared (fakes/core/server.py) or the backend's (MpsBackend.respond).
"""

from __future__ import annotations

from ..core.reply import Reply
from ..core.server import BackgroundServer, FastHandler


class _Handler(FastHandler):
    def answer(self, body: bytes) -> Reply:
        path, _, query = self.path.partition("?")
        if path != "/":
            return Reply(404, body=b"not found", content_type="text/plain")
        action = self.fields.get("x-tc-action", "")
        reply: Reply = self.server.backend.respond(action, self.fields, body, self.command, query)
        return reply

    do_GET = do_POST = FastHandler.serve


class FakeMpsServer(BackgroundServer):
    """`with FakeMpsServer(backend) as server:` serves `backend` at `server.url` on loopback."""

    handler = _Handler
    thread_name = "fake-mps"

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the form HttpProfile(endpoint=...) takes."""
        return f"{self.ip}:{self.port}"
