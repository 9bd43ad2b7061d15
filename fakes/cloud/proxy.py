"""The fake Tencent Cloud as the deploy toolkit reaches it: an HTTPS proxy that ends TLS itself.

The toolkit has no endpoint setting: it calls https://scf.tencentcloudapi.com and the COS
bucket domains. Its HTTP library honours HTTPS_PROXY, so the rehearsal points that here: each
CONNECT is accepted, the tunnel's TLS is ended with a certificate for the requested host issued
by a per-run test CA (`trustme`; Node trusts it through NODE_EXTRA_CA_CERTS), and the requests
inside are answered by the wire layer of the service that owns the host. A host no fake serves
is refused, so a call the rehearsal does not model fails loudly instead of reaching the network.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl

from ..core.reply import Reply
from ..core.server import BackgroundServer, FastHandler


class Request(NamedTuple):
    """One request as it came through the proxy; `action` is a cloud API's Action ("" for COS)."""

    method: str
    host: str
    target: str
    action: str


class WireLayer(Protocol):
    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Reply: ...


class _Tunnelled(FastHandler):
    """The HTTP requests inside one tunnel: answered by the service that owns the Host."""

    def answer(self, body: bytes) -> Reply:
        host = self.fields.get("host", "").split(":", 1)[0]
        router: CloudRouter = self.server.responses
        router.record(self.command, host, self.path, body)
        service = router.route(host)
        if service is None:
            return Reply(502, body=f"no fake serves {host}".encode(), content_type="text/plain")
        reply: Reply = service.respond(self.command, self.path, self.fields, body)
        return reply

    do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = FastHandler.serve


class _Connect(FastHandler):
    """One CONNECT: accept it, end TLS with the host's certificate, then serve the tunnel."""

    def do_CONNECT(self) -> None:
        host = self.path.rsplit(":", 1)[0]
        router: CloudRouter = self.server.responses
        if router.route(host) is None:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.close_connection = True
            router.refused.append(host)
            return
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self.wfile.flush()
        try:
            tls = router.context_for(host).wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        try:
            _Tunnelled(tls, self.client_address, self.server)
        except (ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def answer(self, body: bytes) -> Reply:  # a plain-HTTP request through the proxy: not modelled
        return Reply(501, body=b"only CONNECT (HTTPS) is served", content_type="text/plain")

    do_GET = do_POST = do_PUT = FastHandler.serve


class CloudRouter:
    """Host -> the wire layer that answers it; issues a TLS certificate per host from the run's CA."""

    def __init__(self, routes: Callable[[str], WireLayer | None], ca: Any) -> None:
        self.route = routes
        self.ca = ca  # a trustme.CA
        self.refused: list[str] = []  # CONNECT hosts no fake serves
        self.requests: list[Request] = []  # every request through a tunnel, in arrival order
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def record(self, method: str, host: str, target: str, body: bytes) -> None:
        action = ""
        if host.endswith(".tencentcloudapi.com"):
            action = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")
        with self._lock:
            self.requests.append(Request(method, host, target, action))

    def context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            if host not in self._contexts:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                self.ca.issue_cert(host).configure_cert(context)
                self._contexts[host] = context
            return self._contexts[host]


class CloudProxy(BackgroundServer):
    """`with CloudProxy(router) as proxy:` HTTPS_PROXY=proxy.url reaches the fakes `router` names."""

    handler = _Connect
    responses_class = staticmethod(lambda router: router)
    thread_name = "fake-cloud-proxy"

    def write_ca(self, path: Path) -> Path:
        """The CA certificate as PEM, for NODE_EXTRA_CA_CERTS."""
        self.responses.ca.cert_pem.write_to_path(str(path))
        return path


__all__ = ["CloudProxy", "CloudRouter", "Request", "WireLayer"]
