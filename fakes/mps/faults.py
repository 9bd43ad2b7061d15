"""The failures the fake MPS can be told to produce, on top of the shared transport faults.

fakes/core/faults.py has the transport faults (drop, lost_answer, slow, cut_body, stall_body,
trickle_body, bad_encoding); here are the answers only an MPS endpoint gives: API error
envelopes, gateway statuses, and a Content-Type that makes the SDK skip its error check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from ..core.faults import Fault as _TransportFault
from ..core.reply import Reply


@dataclass(frozen=True)
class Fault(_TransportFault):
    """A failure to inject. Build with the class methods, e.g. `Fault.error("InternalError")`."""

    media_type: str = ""  # for kind "content_type"

    REFUSALS: ClassVar[frozenset[str]] = frozenset({"drop", "error", "http_status"})

    @classmethod
    def error(cls, code: str, message: str = "") -> Fault:
        """An API error envelope with this code; nothing is processed."""
        return cls("error", code=code, message=message or f"Injected fault: {code}.")

    @classmethod
    def http_status(cls, status: int) -> Fault:
        """A non-200 answer with a text body (a gateway failing); nothing is processed."""
        return cls("http_status", status=status)

    @classmethod
    def content_type(cls, content_type: str) -> Fault:
        """Answer normally but with this Content-Type (the SDK then skips its error check)."""
        return cls("content_type", media_type=content_type)

    @classmethod
    def parse(cls, key: str | Fault) -> Fault:
        """A fault from a set_fault_rates key: a Fault, "drop", "lost_answer", "http_<status>"
        or an error code."""
        if isinstance(key, Fault):
            return key
        named = {"drop": cls.drop, "lost_answer": cls.lost_answer}
        if key in named:
            return named[key]()
        if key.startswith("http_") and key[5:].isdigit():
            return cls.http_status(int(key[5:]))
        return cls.error(key)

    def _shape_content_type(self, reply: Reply) -> Reply:
        return replace(reply, content_type=self.media_type)
