"""The state file: the tasks whose answer cannot change, kept so that an interrupted report resumes
without asking MPS again (`autoenhance report --resume`)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from . import ReportError
from .rows import UploadRow

STATE_KIND = "autoenhance-report-state"
STATE_VERSION = 1


class StateFile:
    """JSON lines: a header `{"kind", "version", "logs"}`, then one `{"task_id", "row"}` per finished task.

    Appended and flushed row by row, so Ctrl-C or a crash loses at most the line being written
    (a torn last line is ignored on reading, as is a row that is not one: its task is asked again).
    Only tasks whose answer cannot change are kept.
    """

    def __init__(self, path: Path):
        self.path = path
        self._out: IO[str] | None = None
        self._lock = threading.Lock()
        self.written = 0

    def start(self, logs: Sequence[str], resume: bool) -> None:
        if resume:
            header = self.header()
            if header.get("logs") != list(logs):
                raise ReportError(
                    f"--resume: {self.path} is the state of a report of {' '.join(header.get('logs') or [])}, "
                    f"not of {' '.join(logs)} (give the same log files, or start again without --resume)"
                )
            self._out = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  (closed in close())
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._write({"kind": STATE_KIND, "version": STATE_VERSION, "logs": list(logs)})

    def header(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as f:
                first = json.loads(f.readline() or "null")
        except (OSError, ValueError) as exc:
            raise ReportError(f"{self.path}: not a report state file ({exc})") from None
        if not isinstance(first, dict) or first.get("kind") != STATE_KIND:
            raise ReportError(f"{self.path}: not a report state file (no {STATE_KIND} header)")
        if first.get("version") != STATE_VERSION:
            raise ReportError(
                f"{self.path}: state file version {first.get('version')}, this report reads {STATE_VERSION}"
            )
        return first

    def rows(self) -> Iterator[tuple[str, UploadRow]]:
        """The finished tasks already in the file, one at a time (read before `start(resume=True)`)."""
        with open(self.path, encoding="utf-8") as f:
            f.readline()
            for line in f:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue  # the line a kill cut short
                if not (isinstance(item, dict) and isinstance(item.get("task_id"), str)):
                    continue
                row = UploadRow.from_json(item["row"]) if isinstance(item.get("row"), dict) else None
                if row is not None:
                    yield item["task_id"], row

    def add(self, task_id: str, row: UploadRow) -> None:
        self._write({"task_id": task_id, "row": row.as_json()})
        self.written += 1

    def _write(self, value: dict[str, Any]) -> None:
        with self._lock:
            assert self._out is not None
            self._out.write(json.dumps(value, ensure_ascii=False) + "\n")
            self._out.flush()

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.flush()
                os.fsync(self._out.fileno())
                self._out.close()
                self._out = None
