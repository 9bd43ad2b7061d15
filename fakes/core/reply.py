"""One answer as it is to go on the wire, decided before a byte is written.

A backend's answer and an injected fault both end up as a Reply, so the server has one way
to write (or withhold, or mangle) every answer of both fakes, and tests can hand the server a
Reply of their own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer puts on the wire.

    The body is `body` followed by `zeros` zero bytes (COS objects seeded with a size only are
    generated, never stored). `content_type`, when set, is sent first as Content-Type; `length`
    overrides Content-Length (HEAD describes an object but sends no body).

    How it is sent: `delay` seconds pass before the status line; `drop` closes the connection
    with nothing sent; `cut_at` sends only that many body bytes, then waits `hold` seconds and
    closes (Content-Length still promises the whole body); `trickle` sends the body one byte
    every that many seconds. Every wait ends early when the server stops.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    zeros: int = 0
    length: int | None = None
    send_body: bool = True
    delay: float = 0.0
    drop: bool = False
    content_type: str | None = None
    cut_at: int | None = None
    hold: float = 0.0
    trickle: float = 0.0

    @property
    def content_length(self) -> int:
        return len(self.body) + self.zeros if self.length is None else self.length
