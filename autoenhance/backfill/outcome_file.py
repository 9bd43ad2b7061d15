"""The `backfill --report` file: one key -> outcome row per object, as CSV or JSON lines."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import IO, Any

from handler.results import REPORT_FIELDS, RecordResult, report_row


class OutcomeFile:
    """key -> outcome rows, streamed to CSV or JSON lines as results arrive (never held in memory).

    No path: rows are dropped (a run without --report). An existing file is appended to, so a
    resumed run adds to the rows of the run it continues.
    """

    FIELDS = REPORT_FIELDS

    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._csv: Any = None
        if path is not None:
            self._file = path.open("a" if path.exists() else "w", encoding="utf-8", newline="")
            if path.suffix == ".csv":
                self._csv = csv.DictWriter(self._file, self.FIELDS)
                if self._file.tell() == 0:
                    self._csv.writeheader()

    def write(self, result: RecordResult) -> None:
        if self._file is None:
            return
        row = report_row(result)
        with self._lock:
            if self._file is None:
                return
            if self._csv is not None:
                self._csv.writerow(row)
            else:
                self._file.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Rows written after this (a worker still finishing after a second Ctrl-C) are dropped."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
