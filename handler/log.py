"""One JSON object per line, with every known secret value scrubbed before it is written."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

REDACTED = "***"


class Redactor:
    """Replaces secret values (role key, session token, uploaders' Authorization headers).

    The function never logs the event or the credentials on purpose; this is the backstop
    for values that reach a message indirectly (an SDK error text, a malformed field).
    """

    def __init__(self, secrets: Iterable[str | None]):
        # Longest first so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class JsonLog:
    def __init__(self, redact: Redactor, stream: TextIO | None = None):
        self.redact = redact
        self._stream = stream

    def emit(self, level: str, message: str, fields: Mapping[str, Any]) -> None:
        line = json.dumps({"level": level, "message": message, **fields}, ensure_ascii=False, default=str)
        stream = self._stream or sys.stdout  # looked up late so a redirect (CLI, tests) applies
        stream.write(self.redact(line) + "\n")
        stream.flush()
