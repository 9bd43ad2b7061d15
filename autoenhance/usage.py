"""`autoenhance usage`'s engine: MPS's billed image processing per day, next to what the logs submitted.

DescribeUsageData (docs/tencent-cloud.md#describeusagedata) answers per day, a day starting at
midnight Beijing time (its `Time` values carry +08:00), for at most 90 days per query and nothing
older than 365 days. So the range is checked here before anything is sent, split into queries of
at most 90 days, and the function's log lines are counted into the same Beijing days.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from handler.results import Outcome
from handler.times import parse_time

from .function_logs import LoggedRecord

DAY_ZONE = dt.timezone(dt.timedelta(hours=8), "UTC+8")
MAX_QUERY_DAYS = 90
MAX_DAYS_BACK = 365
IMAGE_TYPE = "ImageProcess"


class UsageRangeError(ValueError):
    """A range MPS would refuse, or no range at all (a usage error)."""


def today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now, DAY_ZONE).date()


def earliest(now: float) -> dt.date:
    """The first day a query may start on: its midnight is within 365 days of `now`."""
    return today(now) - dt.timedelta(days=MAX_DAYS_BACK - 1)


def check_range(since: dt.date, until: dt.date | None, now: float) -> tuple[dt.date, dt.date, list[str]]:
    """The days to ask for, and notes for the reader; UsageRangeError when MPS would refuse them."""
    notes = []
    last = today(now)
    until = until or last
    if since > last:
        raise UsageRangeError(f"--since {since} is in the future (today is {last} in UTC+8, MPS's day)")
    if until > last:
        notes.append(f"--until {until} is in the future: showing up to today, {last}")
        until = last
    if until < since:
        raise UsageRangeError(f"--until {until} is before --since {since}")
    first = earliest(now)
    if since < first:
        raise UsageRangeError(
            f"--since {since} is more than {MAX_DAYS_BACK} days back: MPS keeps usage data for the last "
            f"{MAX_DAYS_BACK} days, so the earliest day that can be asked for is {first}"
        )
    return since, until, notes


def queries(since: dt.date, until: dt.date) -> list[dict[str, str]]:
    """StartTime/EndTime pairs of at most 90 days each, covering since..until (Beijing days)."""
    out = []
    start = since
    while start <= until:
        end = min(until, start + dt.timedelta(days=MAX_QUERY_DAYS - 1))
        out.append(
            {
                "StartTime": dt.datetime(start.year, start.month, start.day, tzinfo=DAY_ZONE).isoformat(),
                "EndTime": dt.datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=DAY_ZONE).isoformat(),
            }
        )
        start = end + dt.timedelta(days=1)
    return out


class DayUsage(NamedTuple):
    tasks: int  # Count: tasks MPS ran that day
    billed: int  # Usage: images, the unit ImageProcess is billed in


def mps_usage(
    fetch_usage: Callable[[dict[str, Any]], dict[str, Any]],
    since: dt.date,
    until: dt.date,
    process_regions: list[str] | None = None,
) -> tuple[dict[dt.date, DayUsage], int]:
    """What DescribeUsageData says per day (`fetch_usage(params)` returns its Response); and the queries made."""
    days: dict[dt.date, DayUsage] = {}
    asked = queries(since, until)
    for window in asked:
        params: dict[str, Any] = {**window, "Types": [IMAGE_TYPE]}
        if process_regions:
            params["ProcessRegions"] = list(process_regions)
        response = fetch_usage(params)
        for data in response.get("Data") or []:
            if not isinstance(data, dict) or data.get("TaskType") != IMAGE_TYPE:
                continue
            for item in data.get("Summary") or []:
                day = _day_of(item.get("Time")) if isinstance(item, dict) else None
                if day is None or not since <= day <= until:
                    continue
                before = days.get(day, DayUsage(0, 0))
                days[day] = DayUsage(before.tasks + _int(item.get("Count")), before.billed + _int(item.get("Usage")))
    return days, len(asked)


def _day_of(value: Any) -> dt.date | None:
    """The day a Summary item's Time starts, in the zone it is written in (MPS writes +08:00)."""
    seconds = parse_time(value, units="auto")
    if seconds is None:
        return None
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text).date()
    except ValueError:
        return dt.datetime.fromtimestamp(seconds, DAY_ZONE).date()


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class LoggedSubmissions(NamedTuple):
    """The submitted records of the logs, counted per Beijing day."""

    per_day: Counter[dt.date]
    undated: int  # submitted records with no time stamp, in the line or around it
    outside: int  # submitted records on days outside the range


def submitted_per_day(records: Iterable[LoggedRecord], since: dt.date, until: dt.date) -> LoggedSubmissions:
    """Submitted records per Beijing day: the line's `time`, else the time stamp of what wraps it."""
    per_day: Counter[dt.date] = Counter()
    undated = outside = 0
    seen: set[str] = set()  # TaskIds: a log given twice counts once
    for logged in records:
        result = logged.record.result
        if result.outcome is not Outcome.SUBMITTED:
            continue
        if result.task_id:
            if result.task_id in seen:
                continue
            seen.add(result.task_id)
        at = logged.record.time if logged.record.time is not None else logged.logged_at
        if at is None:
            undated += 1
            continue
        day = dt.datetime.fromtimestamp(at, DAY_ZONE).date()
        if since <= day <= until:
            per_day[day] += 1
        else:
            outside += 1
    return LoggedSubmissions(per_day, undated, outside)


class DayRow(NamedTuple):
    day: dt.date
    tasks: int
    billed: int
    submitted: int | None  # None without --logs

    @property
    def difference(self) -> int | None:
        return None if self.submitted is None else self.tasks - self.submitted

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "day",
            "date": self.day.isoformat(),
            "mps_tasks": self.tasks,
            "mps_billed_images": self.billed,
            "submitted": self.submitted,
            "difference": self.difference,
        }


def day_rows(
    since: dt.date, until: dt.date, usage: dict[dt.date, DayUsage], submitted: LoggedSubmissions | None
) -> list[DayRow]:
    """One row per day of the range (at most 365), days MPS did not mention as zero."""
    rows = []
    day = since
    while day <= until:
        got = usage.get(day, DayUsage(0, 0))
        rows.append(DayRow(day, got.tasks, got.billed, None if submitted is None else submitted.per_day[day]))
        day += dt.timedelta(days=1)
    return rows
