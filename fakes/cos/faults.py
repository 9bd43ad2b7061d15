"""The failures the fake COS can be told to produce, on top of the shared transport faults.

fakes/core/faults.py has the transport faults (drop, lost_answer, slow, cut_body, stall_body,
trickle_body, bad_encoding); here is the one answer only COS gives: an XML error with a status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..core.faults import Fault


@dataclass(frozen=True)
class CosFault(Fault):
    """A failure to inject. Build with the class methods, e.g. `CosFault.error(503, "SlowDown")`."""

    status: int = 500

    REFUSALS: ClassVar[frozenset[str]] = frozenset({"drop", "error"})

    @classmethod
    def error(cls, status: int, code: str, message: str = "") -> CosFault:
        """An XML error answer with this status and code; nothing is processed."""
        return cls("error", status=status, code=code, message=message or f"Injected fault: {code}.")
