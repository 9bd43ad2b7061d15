"""The report's summary: counters over the rows, and the upload-to-finished latency percentiles."""

from __future__ import annotations

import array
import collections
import math
from collections.abc import Sequence
from typing import Any

from .rows import FAILED, RESULTS, UploadRow


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Summary:
    """Counters over the rows; the only thing that grows is one float per finished task's latency."""

    def __init__(self) -> None:
        self.uploads = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.results: collections.Counter[str] = collections.Counter()
        self.error_codes: collections.Counter[str] = collections.Counter()
        self.rules: dict[str, collections.Counter[str]] = {}
        self.latencies = array.array("d")
        self.from_state = 0
        self.recovered = 0  # failed records a later (or earlier) delivery submitted after all

    def add(self, row: UploadRow) -> None:
        self.uploads += 1
        self.outcomes[row.outcome or "?"] += 1
        self.results[row.result] += 1
        if row.error_code:
            self.error_codes[row.error_code] += 1
        self.rules.setdefault(row.rule or "-", collections.Counter())[row.result] += 1
        if row.latency_s is not None:
            self.latencies.append(float(row.latency_s))

    @property
    def failed(self) -> int:
        return self.results[FAILED] - self.recovered

    def latency(self) -> dict[str, float | int | None]:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        return {
            "count": len(ordered),
            "p50": percentile(ordered, 50),
            "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99),
            "max": ordered[-1],
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "uploads": self.uploads,
            "outcomes": dict(self.outcomes),
            "results": {r: self.results[r] for r in RESULTS if self.results[r]},
            "failed": self.failed,
            "recovered": self.recovered,
            "error_codes": dict(self.error_codes.most_common()),
            "rules": {rule: dict(c) for rule, c in sorted(self.rules.items())},
            "latency_s": self.latency(),
            "from_state": self.from_state,
        }
