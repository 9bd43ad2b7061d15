"""The one exception the fake raises internally; it becomes an API error envelope."""

from __future__ import annotations


class MpsError(Exception):
    """`code` is the wire error code (e.g. "InvalidParameterValue.SessionId")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
