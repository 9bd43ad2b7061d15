"""The fake COS on the wire: XML-API requests of any method, the bucket named in the Host header.

The SDK reaches it with `CosConfig(Region=..., IP="127.0.0.1", Port=server.port, Scheme="http",
...)`: requests go to http://127.0.0.1:PORT/<encoded key> with
`Host: <bucket>.cos.<region>.myqcloud.com`. Everything else is shared (fakes/core/server.py)
or the wire layer's (CosResponses.respond), which the server builds around the backend it serves.
"""

from __future__ import annotations

from email.utils import formatdate

from ..core.reply import Reply
from ..core.server import BackgroundServer, FastHandler
from .responses import CosResponses


class _Handler(FastHandler):
    def answer(self, body: bytes) -> Reply:
        reply: Reply = self.server.responses.respond(self.command, self.path, self.fields, body)
        return reply

    def common_headers(self) -> list[tuple[str, str]]:
        return [("Date", formatdate(usegmt=True)), ("Server", "tencent-cos")]

    do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = FastHandler.serve


class FakeCosServer(BackgroundServer):
    """`with FakeCosServer(backend) as server:` serves `backend` at `server.url` on loopback;
    `server.responses` is its wire layer (a CosResponses).

    `ip` and `port` are what CosConfig(IP=..., Port=...) takes."""

    handler = _Handler
    responses_class = CosResponses
    responses: CosResponses
    thread_name = "fake-cos"
