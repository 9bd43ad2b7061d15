"""A backfill's progress on disk: what is finished, so --resume submits nothing twice.

Written atomically as the run goes (at most every `CHECKPOINT_EVERY` seconds, and at the end),
and refused on --resume unless it has the shape `Checkpoint.save` writes and is this job's.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from .listing import Listed

CHECKPOINT_EVERY = 1.0  # seconds


class Checkpoint:
    """Listing progress: everything up to `marker` is finished, plus `done_after` past it."""

    def __init__(self, path: Path | None, identity: dict[str, Any]):
        self.path, self.identity = path, identity
        self.marker = ""
        self.done_after: set[str] = set()
        self.in_flight: set[str] = set()
        self.counts: dict[str, int] = {}
        self.settled = 0  # objects listed in this run and finished, filtered out or skipped
        self._order: dict[int, str] = {}  # seq -> key, for objects not yet folded into marker
        self._finished: set[int] = set()
        self._lowest = 0
        self._saved_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, identity: dict[str, Any]) -> Checkpoint:
        saved = read_checkpoint(path)
        # Checkpoints from before --resubmit carry no generation: theirs is the normal run's, "".
        if {"generation": "", **saved["identity"]} != {"generation": "", **identity}:
            raise ValueError(
                f"checkpoint {path} is for {saved.get('identity')}, not {identity}: same bucket, region, "
                "prefix and task configuration needed to resume"
            )
        cp = cls(path, identity)
        cp.marker = saved["marker"]
        cp.done_after = set(saved["done_after"])
        cp.counts = dict(saved["counts"])
        return cp

    def started(self, item: Listed) -> None:
        with self._lock:
            self._order[item.seq] = item.key
            self.in_flight.add(item.key)

    def finished(self, item: Listed, outcome: str | None) -> None:
        """`outcome` None: listed but needing no work (filtered out, or finished before a resume)."""
        with self._lock:
            self._order[item.seq] = item.key
            self.in_flight.discard(item.key)
            if outcome is not None:
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
                self.done_after.add(item.key)
            self._finished.add(item.seq)
            self.settled += 1
            while self._lowest in self._finished:  # fold the finished prefix into the marker
                self._finished.discard(self._lowest)
                self.marker = self._order.pop(self._lowest)
                self.done_after.discard(self.marker)
                self._lowest += 1
            due = time.monotonic() - self._saved_at >= CHECKPOINT_EVERY
        if due:
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            state = {
                "identity": self.identity,
                "marker": self.marker,
                "done_after": sorted(k for k in self.done_after if k > self.marker),
                "in_flight": sorted(self.in_flight),
                "counts": self.counts,
            }
            self._saved_at = time.monotonic()
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a crash leaves the old or the new file, never half


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint file's content, refused (ValueError) unless it has the shape `Checkpoint.save` writes."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from None
    problem = checkpoint_problem(saved)
    if problem:
        raise ValueError(
            f"checkpoint {path} is not a backfill checkpoint: {problem} "
            "(pass the file a backfill run wrote, or start again without --resume)"
        )
    return dict(saved)


def checkpoint_problem(saved: Any) -> str | None:
    """What makes `saved` (a parsed checkpoint file) unusable, None when it has the shape `save` writes."""

    def kind(value: Any) -> str:
        names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        return names.get(type(value), "a number")

    if not isinstance(saved, dict):
        return f"it holds {kind(saved)}, not an object"
    missing = [name for name in ("identity", "marker", "done_after", "counts") if name not in saved]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(saved["identity"], dict):
        return f"identity should be an object, got {kind(saved['identity'])}"
    if not isinstance(saved["marker"], str):
        return f"marker should be a string, got {kind(saved['marker'])}"
    for name in ("done_after", "in_flight"):
        keys = saved.get(name, [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return f"{name} should be an array of keys (strings)"
    counts = saved["counts"]
    if not isinstance(counts, dict):
        return f"counts should be an object, got {kind(counts)}"
    for outcome, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            return f"counts.{outcome} should be a non-negative integer, got {n if isinstance(n, int) else kind(n)}"
    return None
