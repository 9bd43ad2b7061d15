"""`autoenhance usage`: MPS's image-processing usage per day (DescribeUsageData), next to the logs.

What MPS will bill (Usage, in images) and how many tasks it counted, per day, beside the number of
records the function's logs say it submitted that day (`--logs`), so a mismatch shows. Embedded fake
MPS by default, --live for the real one; the engine is `autoenhance/usage.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from typing import Any

from ..function_logs import UnreadableLog, check_paths, log_records
from ..local.credentials import environment_credentials
from ..mps_queries import DEFAULT_RATE, MpsQueries
from ..usage import (
    DAY_ZONE,
    DayRow,
    LoggedSubmissions,
    UsageRangeError,
    check_range,
    day_rows,
    mps_usage,
    submitted_per_day,
)
from .common import EXIT_OK, UsageError, mps_region, mps_target, print_json, settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "usage",
        help="MPS's billed image processing per day (DescribeUsageData), next to what the logs submitted",
        description="Ask MPS's DescribeUsageData for ImageProcess usage per day (days in UTC+8, as MPS "
        "counts them; at most 90 days per query, so longer ranges are split; the last 365 days only) and "
        "show it next to the records the function's logs (--logs) say were submitted that day.",
    )
    p.add_argument("--since", required=True, metavar="DATE", help="first day, YYYY-MM-DD (within the last 365 days)")
    p.add_argument("--until", metavar="DATE", help="last day, YYYY-MM-DD (default: today)")
    p.add_argument(
        "--logs",
        nargs="+",
        action="extend",
        metavar="FILE",
        help="the function's log lines to count submissions from (as `report` reads them: gzip, '-' for stdin)",
    )
    p.add_argument(
        "--process-region",
        action="append",
        metavar="REGION",
        help="MPS processing region to count (repeatable; MPS's default: ap-guangzhou)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per day, then a summary object")
    p.add_argument(
        "--live", action="store_true", help="ask the real MPS with TENCENTCLOUD_SECRETID/SECRETKEY[/SESSIONTOKEN]"
    )
    p.set_defaults(run=run)


def _date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date YYYY-MM-DD (e.g. 2026-01-31)") from None


def run(args: argparse.Namespace) -> int:
    since = _date("--since", args.since)
    assert since is not None
    try:
        first, last, notes = check_range(since, _date("--until", args.until), time.time())
    except UsageRangeError as exc:
        raise UsageError(str(exc)) from None
    if args.logs:
        if args.logs.count("-") > 1:
            raise UsageError("'-' (stdin) can be given once")
        problem = check_paths(args.logs)
        if problem:
            raise UsageError(f"--logs {problem}")
    for note in notes:
        print(f"autoenhance usage: {note}", file=sys.stderr)
    with mps_target(args.live) as mps:
        return _usage(args, first, last, mps.name)


def _usage(args: argparse.Namespace, since: dt.date, until: dt.date, target: str) -> int:
    from handler.credentials import CredentialProvider
    from handler.mps_client import MpsApi

    config = settings()
    region = mps_region(config)
    keys = environment_credentials()
    mps = MpsQueries(
        lambda: MpsApi(config.endpoint, region, keys, config.http_timeout),
        CredentialProvider(os.environ),
        config.http_timeout,
        rate=DEFAULT_RATE,
    )

    def fetch_usage(params: dict[str, Any]) -> dict[str, Any]:
        answer = mps.fetch_usage(params)
        if answer.error is not None:
            err = answer.error
            raise UsageError(f"MPS refused DescribeUsageData: {err.code}: {err.message}")
        return answer.response or {}

    usage, queries = mps_usage(fetch_usage, since, until, args.process_region)
    try:
        submitted = submitted_per_day(log_records(args.logs), since, until) if args.logs else None
    except UnreadableLog as exc:
        raise UsageError(str(exc)) from None
    rows = day_rows(since, until, usage, submitted)
    if args.json:
        for row in rows:
            print_json(row.as_json())
        print_json(_summary_json(rows, submitted, queries, since, until, target))
    else:
        print(describe(rows, submitted, queries, since, until, target))
    return EXIT_OK


def _totals(rows: list[DayRow]) -> tuple[int, int, int | None]:
    submitted = None if not rows or rows[0].submitted is None else sum(r.submitted or 0 for r in rows)
    return sum(r.tasks for r in rows), sum(r.billed for r in rows), submitted


def _summary_json(
    rows: list[DayRow], submitted: LoggedSubmissions | None, queries: int, since: dt.date, until: dt.date, target: str
) -> dict[str, Any]:
    tasks, billed, logged = _totals(rows)
    return {
        "type": "summary",
        "since": since.isoformat(),
        "until": until.isoformat(),
        "day_zone": str(DAY_ZONE),
        "mps_tasks": tasks,
        "mps_billed_images": billed,
        "submitted": logged,
        "days_differing": [r.day.isoformat() for r in rows if r.difference],
        "undated_records": None if submitted is None else submitted.undated,
        "records_outside_range": None if submitted is None else submitted.outside,
        "queries": queries,
        "target": target,
    }


def describe(
    rows: list[DayRow], submitted: LoggedSubmissions | None, queries: int, since: dt.date, until: dt.date, target: str
) -> str:
    logs = submitted is not None
    lines = [
        f"MPS image processing (DescribeUsageData, ImageProcess), {since} to {until}, days in UTC+8 [{target}]",
        f"  {'day':<10}  {'tasks':>7}  {'billed':>7}" + (f"  {'submitted':>9}  {'difference':>10}" if logs else ""),
    ]
    for r in rows:
        line = f"  {r.day.isoformat():<10}  {r.tasks:>7}  {r.billed:>7}"
        if logs:
            mark = "  <- differs" if r.difference else ""
            line += f"  {r.submitted:>9}  {r.difference:>+10}{mark}"
        lines.append(line)
    tasks, billed, logged = _totals(rows)
    total = f"  {'total':<10}  {tasks:>7}  {billed:>7}"
    if logs and logged is not None:
        total += f"  {logged:>9}  {tasks - logged:>+10}"
    lines.append(total)
    lines.append(
        f"  tasks: MPS's Count; billed: its Usage (images, what ImageProcess is billed by); {queries} quer"
        f"{'y' if queries == 1 else 'ies'} of at most 90 days"
    )
    if submitted is not None:
        differing = [r for r in rows if r.difference]
        lines.append(
            f"  submitted: records the logs say the function submitted; {len(differing)} day(s) differ"
            + (
                f"; {submitted.undated} submitted record(s) without a time stamp not counted"
                if submitted.undated
                else ""
            )
            + (f"; {submitted.outside} outside these days" if submitted.outside else "")
        )
    return "\n".join(lines)
