"""The fake MPS on the wire: API 3.0 requests are POSTs to "/" naming their action in X-TC-Action.

Everything else is shared (fakes/core/server.py) or the wire layer's (MpsResponses.respond),
which the server builds around the backend it serves.
"""

from __future__ import annotations

from ..core.reply import Reply
from ..core.server import BackgroundServer, FastHandler
from .responses import MpsResponses


class _Handler(FastHandler):
    def answer(self, body: bytes) -> Reply:
        path, _, query = self.path.partition("?")
        if path != "/":
            return Reply(404, body=b"not found", content_type="text/plain")
        action = self.fields.get("x-tc-action", "")
        reply: Reply = self.server.responses.respond(action, self.fields, body, self.command, query)
        return reply

    do_GET = do_POST = FastHandler.serve


class FakeMpsServer(BackgroundServer):
    """`with FakeMpsServer(backend) as server:` serves `backend` at `server.url` on loopback;
    `server.responses` is its wire layer (an MpsResponses)."""

    handler = _Handler
    responses_class = MpsResponses
    responses: MpsResponses
    thread_name = "fake-mps"

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the form HttpProfile(endpoint=...) takes."""
        return f"{self.ip}:{self.port}"
