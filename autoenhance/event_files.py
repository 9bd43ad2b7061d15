"""Read events the way developers have them: files, directories, stdin, DLQ JSON-lines exports."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class EventFileError(ValueError):
    """A path that does not exist or does not hold JSON (a usage error: exit code 2)."""


@dataclass(frozen=True)
class SourcedEvent:
    source: str  # 'events/put.json' or 'dlq.jsonl:3', shown next to results
    event: Any  # parsed JSON, true/false/null intact


def _parse_text(text: str, name: str) -> list[SourcedEvent]:
    try:
        return [SourcedEvent(name, json.loads(text))]
    except ValueError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise EventFileError(f"{name}: not valid JSON ({whole_error})") from None
    events = []
    for n, line in lines:  # JSON lines: one event per line, as a dead-letter export gives them
        try:
            events.append(SourcedEvent(f"{name}:{n}", json.loads(line)))
        except ValueError as exc:
            raise EventFileError(f"{name}:{n}: not valid JSON ({exc})") from None
    return events


def read_events(paths: list[str]) -> list[SourcedEvent]:
    events: list[SourcedEvent] = []
    for raw in paths:
        if raw == "-":
            events.extend(_parse_text(sys.stdin.read(), "<stdin>"))
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
            if not files:
                raise EventFileError(f"{raw}: directory has no .json or .jsonl files")
        elif path.is_file():
            files = [path]
        else:
            raise EventFileError(f"{raw}: no such file or directory")
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise EventFileError(f"{file}: cannot read ({exc})") from None
            events.extend(_parse_text(text, str(file)))
    return events
