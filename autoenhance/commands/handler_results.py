"""The CLI's one reader of what the function returns: per-record results, summaries, plans.

`replay` shows what `main_handler` returned (and what `plan_record` decided, for --dry-run),
and `backfill` the outcome counts of its summary, only through these functions, so a change in
the handler's result types is adapted here and nowhere else. Nothing here decides anything: it
calls, counts and describes.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any, NamedTuple

from handler.config import Settings
from handler.results import COUNTED, Outcome, describe

from ..local.scf import scf_context

OUTCOMES = tuple(o.value for o in COUNTED)  # the counts a summary carries, in order


class Invocation(NamedTuple):
    summary: dict[str, Any]  # main_handler's return value (or the one its exception carries)
    error: str | None  # why the invocation failed (SCF would retry it), None when it succeeded


def invoke(event: Any) -> Invocation:
    """Call main_handler on `event` as SCF would; its JSON log lines go to stderr."""
    from handler.errors import MalformedEventError, RecordsNotSubmittedError
    from handler.index import main_handler

    with contextlib.redirect_stdout(sys.stderr):
        try:
            return Invocation(main_handler(event, scf_context(event)), None)
        except RecordsNotSubmittedError as exc:
            return Invocation(exc.summary, str(exc))
        except MalformedEventError as exc:
            return Invocation({"records": 0, "results": []}, str(exc))


def invocation_json(invocation: Invocation) -> dict[str, Any]:
    """What `replay --json` prints for one invocation: the function's return value."""
    summary, error = invocation
    return {**summary, "invocation_error": error} if error else summary


def describe_result(result: dict[str, Any]) -> str:
    """One record's result (as main_handler returned it) as the three lines `replay` prints."""
    return describe(result)


def describe_invocation(label: str, invocation: Invocation) -> str:
    """An invocation's heading and its records, one `describe_result` each."""
    summary = invocation.summary
    lines = [f"{label}: {summary.get('records', 0)} record(s)"]
    lines.extend(describe_result(result) for result in summary.get("results", []))
    if invocation.error:
        lines.append(f"  invocation failed: {invocation.error}")
    return "\n".join(lines)


class Tally:
    """The outcome counts over a run of invocations, for `replay`'s last line and exit code."""

    def __init__(self) -> None:
        self.invocations = 0
        self.failed_invocations = 0
        self.counts = dict.fromkeys(OUTCOMES, 0)

    def add(self, invocation: Invocation) -> None:
        self.invocations += 1
        self.failed_invocations += invocation.error is not None
        for outcome in OUTCOMES:
            self.counts[outcome] += invocation.summary.get(outcome, 0)

    @property
    def any_failed(self) -> bool:
        return bool(self.failed_invocations or self.counts[Outcome.FAILED.value])

    def describe(self, target: str) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.counts.items())
        return f"{self.invocations} invocation(s), {sum(self.counts.values())} record(s): {counts} [{target}]"


def describe_plan(item: Any, settings: Settings) -> tuple[str, bool]:
    """What `replay --dry-run` prints under a parsed record: `plan_record`'s decision, and whether it failed."""
    from handler.plan import Skip, Submit, plan_record

    plan = plan_record(item, settings)
    rule = f"  rule: {plan.rule}\n" if settings.rules or plan.rule else ""
    if isinstance(plan, Submit):
        request = json.dumps(plan.request, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        return f"{rule}  would call ProcessImage with:\n  {request}", False
    if isinstance(plan, Skip):
        return f"{rule}  skipped: {plan.reason}", False
    return f"{rule}  failed: {plan.error_code}: {plan.error}", True


def describe_backfill_counts(summary: dict[str, Any], dry_run: bool) -> str:
    """A backfill summary's outcome counts, '3 submitted, 0 duplicate, ...' (with would_submit on a dry run)."""
    counts = summary["counts"]
    kinds = [*OUTCOMES, *([Outcome.WOULD_SUBMIT.value] if dry_run else [])]
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in kinds)


def backfill_failed(summary: dict[str, Any]) -> bool:
    """Whether a backfill summary counts a failed object."""
    return bool(summary["counts"].get(Outcome.FAILED.value))
