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

    # Above this many secrets (one Authorization header per record of a big event), look them up
    # by their last characters (a signature's, for Authorization headers, which all start alike)
    # instead of searching for each: the cost per text then stays flat instead of growing with
    # the event, which made a big event overrun its time limit.
    _INDEX_ABOVE = 16
    _TAIL = 4  # = the minimum secret length

    def __init__(self, secrets: Iterable[str | None]):
        # Longest first so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= self._TAIL}, key=len, reverse=True)
        self._shortest = len(self._secrets[-1]) if self._secrets else 0
        self._by_tail: dict[str, list[str]] | None = None
        if len(self._secrets) > self._INDEX_ABOVE:
            self._by_tail = {}
            for secret in self._secrets:
                self._by_tail.setdefault(secret[-self._TAIL :], []).append(secret)

    def __call__(self, text: str) -> str:
        candidates = self._secrets
        if not candidates or len(text) < self._shortest:
            return text
        if self._by_tail is not None:
            n = self._TAIL
            tails = self._by_tail.keys() & {text[i : i + n] for i in range(len(text) - n + 1)}
            if not tails:
                return text
            candidates = sorted((s for t in tails for s in self._by_tail[t]), key=len, reverse=True)
        for secret in candidates:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


_LINE_BREAKS_IN_JSON = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


class JsonLog:
    def __init__(self, redact: Redactor, stream: TextIO | None = None):
        self.redact = redact
        self._stream = stream

    def emit(self, level: str, message: str, fields: Mapping[str, Any], *, cleaned: bool = False) -> None:
        """Write one line; `cleaned=True` when `fields` already went through `clean`."""
        # Redact each value before serialising, not the serialised line: the line stays valid JSON
        # whatever a secret looks like, and a secret JSON would escape ('"', '\\') is still found.
        record = {"level": level, "message": self.redact(message), **(fields if cleaned else self.clean(fields))}
        line = json.dumps(record, ensure_ascii=False)
        # A lone surrogate (JSON can carry "\ud800" in a key) cannot be written to a UTF-8 stdout:
        # write it as the JSON escape it came as. The line stays valid JSON with the same content.
        line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        # Valid JSON, but a reader that splits lines with str.splitlines() or JavaScript's rules
        # would cut the record in two at these: write them as JSON escapes too.
        line = line.translate(_LINE_BREAKS_IN_JSON)
        stream = self._stream or sys.stdout  # looked up late so a redirect (CLI, tests) applies
        stream.write(line + "\n")
        stream.flush()

    def clean(self, value: Any) -> Any:
        """`value` with every secret redacted from every string in it."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, Mapping):
            return {str(k): self.clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.clean(v) for v in value]
        return self.redact(str(value))


_UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(32), 127, *range(0x80, 0xA0))}
_UNPRINTABLE.update({0x2028: "\\u2028", 0x2029: "\\u2029"})  # line separators some log viewers honour


def printable(text: str) -> str:
    """`text` with control characters escaped: a crafted key cannot forge a line in a plain-text message."""
    return text.translate(_UNPRINTABLE)
