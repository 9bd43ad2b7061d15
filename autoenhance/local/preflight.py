"""`--live`'s reachability check: one TCP connection to each endpoint before any work starts.

The submit path retries a refused or unreachable endpoint for as long as its budget allows,
which is right for the function and looks like a hang on a laptop. A command that is about to
call a real endpoint connects to it once, with a short timeout, and stops with the reason when
that fails. The function itself never runs this.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 3.0  # seconds: a reachable endpoint answers a TCP handshake far sooner


class UnreachableError(RuntimeError):
    """An endpoint `--live` needs cannot be reached (a usage error: exit code 2)."""


def require_reachable(url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Resolve `url`'s host and open (then close) a TCP connection to it; UnreachableError if that fails."""
    parts = urlsplit(url)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnreachableError(f"cannot reach {url}: the port is not a number") from None
    if not host:
        raise UnreachableError(f"cannot reach {url}: no host in the URL")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnreachableError(f"cannot reach {url}: cannot resolve {host} ({_reason(exc)})") from None
    last: OSError | None = None
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            return
        except OSError as exc:
            last = exc
    reason = "no address" if last is None else _reason(last, timeout)
    raise UnreachableError(f"cannot reach {url}: {reason}")


def _reason(exc: BaseException, timeout: float = CONNECT_TIMEOUT) -> str:
    if isinstance(exc, socket.timeout):
        return f"no answer to a TCP connection within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
