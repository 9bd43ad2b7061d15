"""The base of the fakes' API errors: one subclass per wire error code, raised inside a backend.

A service's responses.py catches them and renders its own error answer (a JSON envelope for
MPS, an XML body for COS), so a rule is written as `raise NoSuchKey()` and not as a string
that every renderer must agree on.
"""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    """`code` is the wire error code; `message` defaults to the class's `default_message`."""

    code: ClassVar[str] = ""
    default_message: ClassVar[str] = ""

    def __init__(self, message: str = "") -> None:
        self.message = message or self.default_message
        super().__init__(f"{self.code}: {self.message}")
