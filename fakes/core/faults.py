"""Injected failures: what a fault does to an answer, and which request meets which fault.

A fault either refuses a request (nothing is processed: a dropped connection, or an error
answer the service renders) or shapes the answer to a request that WAS processed - the task
is created, the object stored - so a client's retry meets its own first attempt. The shaping
faults are the transport failures a client meets in the field: the answer lost, late, cut
short after its headers, trickling, stalling, or with a Content-Encoding it does not have.
Both fakes use these constructors; each adds its own error answers (fakes/*/faults.py).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from .reply import Reply

if TYPE_CHECKING:
    from typing_extensions import Self


@dataclass(frozen=True)
class Fault:
    """A failure to inject; build it with the class methods, e.g. `Fault.cut_body()`."""

    kind: str
    code: str = ""
    message: str = ""
    status: int = 200
    seconds: float = 0.0
    sent_bytes: int | None = None
    encoding: str = ""

    # The kinds that answer without processing the request; a service adds its error answers.
    REFUSALS: ClassVar[frozenset[str]] = frozenset({"drop"})

    @property
    def refuses(self) -> bool:
        return self.kind in self.REFUSALS

    @classmethod
    def drop(cls) -> Self:
        """Close the connection without answering; nothing is processed."""
        return cls("drop")

    @classmethod
    def lost_answer(cls, after_headers: bool = False) -> Self:
        """Process the request, then close without answering. With `after_headers`, the status
        line and headers arrive first and the body never does: the same fault as `cut_body()`."""
        return cls.cut_body() if after_headers else cls("lost_answer")

    @classmethod
    def slow(cls, seconds: float) -> Self:
        """Process the request, then wait this long before the status line (late headers)."""
        return cls("slow", seconds=_wait(seconds))

    @classmethod
    def cut_body(cls, sent_bytes: int = 0) -> Self:
        """Process the request; send the headers (Content-Length: the whole body) and only the
        first `sent_bytes` of the body, then close the connection."""
        return cls("cut_body", sent_bytes=_count(sent_bytes))

    @classmethod
    def stall_body(cls, seconds: float, sent_bytes: int | None = None) -> Self:
        """Process the request; send the headers and `sent_bytes` of the body (default: half),
        then nothing for `seconds`, then close the connection."""
        return cls("stall_body", seconds=_wait(seconds), sent_bytes=None if sent_bytes is None else _count(sent_bytes))

    @classmethod
    def trickle_body(cls, seconds: float) -> Self:
        """Process the request; send the headers, then the whole body one byte every `seconds`."""
        return cls("trickle_body", seconds=_wait(seconds))

    @classmethod
    def bad_encoding(cls, encoding: str = "gzip") -> Self:
        """Process the request; answer with `Content-Encoding: <encoding>` over a body that is
        not encoded so."""
        return cls("bad_encoding", encoding=encoding)

    def shape(self, reply: Reply) -> Reply:
        """The answer to a processed request, as this fault puts it on the wire."""
        shaped: Reply = getattr(self, "_shape_" + self.kind)(reply)
        return shaped

    def _shape_lost_answer(self, reply: Reply) -> Reply:
        return replace(reply, drop=True)

    def _shape_slow(self, reply: Reply) -> Reply:
        return replace(reply, delay=reply.delay + self.seconds)

    def _shape_cut_body(self, reply: Reply) -> Reply:
        return replace(reply, cut_at=_short_of(reply, self.sent_bytes or 0))

    def _shape_stall_body(self, reply: Reply) -> Reply:
        sent = reply.content_length // 2 if self.sent_bytes is None else self.sent_bytes
        return replace(reply, cut_at=_short_of(reply, sent), hold=self.seconds)

    def _shape_trickle_body(self, reply: Reply) -> Reply:
        return replace(reply, trickle=self.seconds)

    def _shape_bad_encoding(self, reply: Reply) -> Reply:
        return replace(reply, headers=(*reply.headers, ("Content-Encoding", self.encoding)))


F = TypeVar("F", bound=Fault)


@dataclass
class _Rates(Generic[F]):
    rates: list[tuple[F, float]]
    action: str | None
    rng: random.Random


class FaultQueue(Generic[F]):
    """Which request meets which fault: queued faults first (FIFO), then seeded random draws.

    `action` is the service's name for the request's API (MPS action, COS operation); None
    matches any.
    """

    def __init__(self) -> None:
        self._queued: list[tuple[str | None, F]] = []
        self._rates: _Rates[F] | None = None
        self._lock = threading.Lock()

    def inject(self, fault: F, times: int = 1, action: str | None = None) -> None:
        """Queue `fault` for the next `times` requests of `action`."""
        with self._lock:
            self._queued.extend([(action, fault)] * times)

    def set_rates(self, rates: Iterable[tuple[F, float]], seed: int = 0, action: str | None = None) -> None:
        """Random faults at these rates (summing to at most 1), drawn from an RNG seeded with
        `seed`, so a run is reproducible. No rates: no random faults."""
        parsed = list(rates)
        if any(rate < 0 for _, rate in parsed) or sum(rate for _, rate in parsed) > 1:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")
        with self._lock:
            self._rates = _Rates(parsed, action, random.Random(seed)) if parsed else None

    def next(self, action: str) -> F | None:
        """The fault this request of `action` meets, if any (consumed)."""
        with self._lock:
            for i, (wanted, fault) in enumerate(self._queued):
                if wanted is None or wanted == action:
                    del self._queued[i]
                    return fault
            rates = self._rates
            if rates is None or (rates.action is not None and rates.action != action):
                return None
            draw = rates.rng.random()
        for fault, rate in rates.rates:
            if draw < rate:
                return fault
            draw -= rate
        return None

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._rates = None


def _wait(seconds: float) -> float:
    # Every wait is bounded: a fault must never hold a test (or a server thread) forever.
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"a fault waits a finite, non-negative number of seconds, not {seconds!r}")
    return float(seconds)


def _count(sent_bytes: int) -> int:
    if sent_bytes < 0:
        raise ValueError(f"sent_bytes must be >= 0, not {sent_bytes!r}")
    return sent_bytes


def _short_of(reply: Reply, sent: int) -> int:
    """`sent`, but at least one byte short of the body, so the answer is always incomplete."""
    return max(0, min(sent, reply.content_length - 1))
