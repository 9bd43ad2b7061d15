"""The fake MPS's DescribeUsageData: per-day task counts from its own task history.

MPS returns, for each task type asked for, one `TaskStatData` whose `Summary` has one
`TaskStatDataItem` (`Time`, `Count`, `Usage`) per day; a day starts at midnight Beijing time
(the API's examples give `2019-07-02T00:00:00+08:00`). The request is checked as MPS documents
it: StartTime and EndTime required, EndTime not before StartTime, at most 90 days per query,
nothing older than 365 days (docs/tencent-cloud.md#describeusagedata). `Types` and
`ProcessRegions` take the values the SDK's model lists, read from its docstrings like every
other field the fake knows (fakes/mps/validation.py), so they cannot drift from the SDK.

What the fake counts (its own reading; MPS does not document how it counts): `Count` is the
ImageProcess tasks created that day, `Usage` those of them that did not finish FAIL (images
billed by the image, per TaskStatData's docstring: "ImageProcess: 用量单位为张"). Every other type
is all zeros: the fake runs image tasks only.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from handler.times import parse_time

from . import validation
from .exceptions import InvalidParameterValue, MissingParameter, MpsError
from .records import JsonDict, Task

DAY_ZONE = dt.timezone(dt.timedelta(hours=8))  # MPS's days are Beijing days
MAX_SPAN_SECONDS = 90 * 24 * 3600
MAX_AGE_SECONDS = 365 * 24 * 3600
DEFAULT_TYPES = ("Transcode",)  # "默认查询转码" (the request model's docstring)
DEFAULT_REGION = "ap-guangzhou"  # "默认返回 ap-guangzhou 园区"
IMAGE_TYPE = "ImageProcess"
_LISTED = re.compile(r"<li>\s*([A-Za-z0-9-]+)\s*[:：]")
# A date and time with a zone (Z or an offset), nothing around it: what the API's examples send.
# parse_time reads it; it would also read a date alone or a naive time (as UTC), which MPS refuses.
_ZONED = re.compile(r"\S+T\S*(?:Z|[+-]\d\d(?::?\d\d){0,2}(?:\.\d+)?)")


# The SDK's error code list has these two for out-of-range times; neither the SDK nor the API page
# says which one DescribeUsageData answers for which rule (docs/tencent-cloud.md#describeusagedata).
class InvalidStartTime(MpsError):
    code = "InvalidParameter.StartTime"


class InvalidEndTime(MpsError):
    code = "InvalidParameter.EndTime"


@functools.cache
def listed_values(model: str, field: str) -> frozenset[str]:
    """The values an SDK model's docstring lists for `field` (`<li>Value：meaning</li>`)."""
    import importlib

    cls = getattr(importlib.import_module("tencentcloud.mps.v20190612.models"), model)
    doc = cls.__init__.__doc__ or ""
    start = doc.find(f":param _{field}:")
    end = doc.find(":type", start)
    return frozenset(_LISTED.findall(doc[start:end])) if start >= 0 else frozenset()


def describe_usage_data(
    params: JsonDict, tasks: Iterable[Task], now: float, outcome_of: Callable[[str], Any]
) -> JsonDict:
    """The Response fields for `params`, counting `tasks`; `outcome_of(task_id)` is how a task
    ended (MpsBackend.outcome_of: None while it has not run)."""
    validation.validate("DescribeUsageDataRequest", params)
    start = _time(params, "StartTime", InvalidStartTime)
    end = _time(params, "EndTime", InvalidEndTime)
    if end < start:
        raise InvalidEndTime("EndTime must not be earlier than StartTime.")
    if end - start > MAX_SPAN_SECONDS:
        raise InvalidEndTime("The query time span must not exceed 90 days.")
    if start < now - MAX_AGE_SECONDS:
        raise InvalidStartTime("Only the last 365 days can be queried.")
    types = _listed(params, "Types", "DescribeUsageDataRequest") or list(DEFAULT_TYPES)
    regions = set(_listed(params, "ProcessRegions", "DescribeUsageDataRequest") or [DEFAULT_REGION])

    days = _days(start, end)
    counts: Counter[dt.date] = Counter()
    usage: Counter[dt.date] = Counter()
    for task in tasks:
        if not start <= task.created_at <= end or _park(task.region) not in regions:
            continue
        day = dt.datetime.fromtimestamp(task.created_at, DAY_ZONE).date()
        counts[day] += 1
        outcome = outcome_of(task.task_id)
        usage[day] += outcome is None or outcome.failure is None
    data = []
    for task_type in dict.fromkeys(types):  # each type once, in the order asked
        image = task_type == IMAGE_TYPE
        summary = [
            {"Time": _day_start(day), "Count": counts[day] if image else 0, "Usage": usage[day] if image else 0}
            for day in days
        ]
        data.append({"TaskType": task_type, "Summary": summary, "Details": []})
    return {"Data": data}


def _time(params: Mapping[str, Any], name: str, error: type[MpsError]) -> float:
    value = params.get(name)
    if value in (None, ""):
        raise MissingParameter(f"The parameter `{name}` is missing.")
    text = str(value)
    seconds = parse_time(text) if _ZONED.fullmatch(text) else None
    if seconds is None:
        raise error(f"`{name}` must be an ISO 8601 date and time with a zone, e.g. 2019-07-16T06:21:28Z.")
    return seconds


def _listed(params: Mapping[str, Any], field: str, model: str) -> list[str]:
    values = [str(v) for v in params.get(field) or []]
    allowed = listed_values(model, field)
    for value in values:
        if value not in allowed:
            raise InvalidParameterValue(
                f"The value `{value}` of `{field}` is invalid; allowed: {', '.join(sorted(allowed))}."
            )
    return values


def _park(region: str) -> str:
    """The processing region ("园区") a task counts under: its own when MPS lists it as one, else
    Guangzhou (the fake's reading: mainland regions have no park of their own in the list)."""
    return region if region in listed_values("DescribeUsageDataRequest", "ProcessRegions") else DEFAULT_REGION


def _days(start: float, end: float) -> list[dt.date]:
    first, last = (dt.datetime.fromtimestamp(t, DAY_ZONE).date() for t in (start, end))
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _day_start(day: dt.date) -> str:
    return dt.datetime(day.year, day.month, day.day, tzinfo=DAY_ZONE).isoformat()
