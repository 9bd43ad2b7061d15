"""`autoenhance usage` and the fake MPS's DescribeUsageData, through the real SDKs.

MPS counts days from midnight Beijing time, answers at most 90 days per query and nothing older
than 365 days; the command splits ranges and refuses the rest before sending anything.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings
from typing import Any

import pytest
from repo import autoenhance as run
from repo import user_env
from report_lines import record
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from autoenhance.usage import DAY_ZONE, UsageRangeError, check_range, earliest, queries, today
from fakes.core.clock import FakeClock
from fakes.harness import BUCKET, REGION, start_mps
from fakes.identities import OPERATOR
from fakes.mps import validation

NOW = 1_767_225_600.0 + 12 * 3600  # 2026-01-01T12:00:00Z = 20:00 in Beijing


def noon(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=DAY_ZONE).timestamp()


def seed(mps: Any, day: dt.date, count: int, tag: str) -> None:
    mps.backend.restore_tasks(
        {
            "task_id": f"{tag}{i:04d}",
            "session_id": "",
            "params": {
                "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/a.jpg"}}
            },
            "created_at": noon(day) + i,
            "secret_id": mps.identity.secret_id,
            "region": REGION,
        }
        for i in range(count)
    )


def usage_calls(mps: Any) -> list[Any]:
    return [c for c in mps.backend.calls.snapshot() if c.action == "DescribeUsageData"]


# ---- the range ------------------------------------------------------------------------------------


def test_a_long_range_is_split_into_consecutive_queries_of_at_most_90_days():
    since, until = dt.date(2025, 6, 1), dt.date(2025, 12, 17)  # 200 days
    windows = queries(since, until)
    assert len(windows) == 3
    starts = [dt.datetime.fromisoformat(w["StartTime"]) for w in windows]
    ends = [dt.datetime.fromisoformat(w["EndTime"]) for w in windows]
    assert starts[0] == dt.datetime(2025, 6, 1, tzinfo=DAY_ZONE) and ends[-1].date() == until
    for start, end in zip(starts, ends):
        assert dt.timedelta(0) < end - start <= dt.timedelta(days=90)
        assert start.utcoffset() == dt.timedelta(hours=8) and (start.hour, end.hour, end.minute) == (0, 23, 59)
    for end, next_start in zip(ends, starts[1:]):
        assert next_start - end == dt.timedelta(seconds=1)  # no day skipped, none asked twice
    assert queries(until, until) == [{"StartTime": "2025-12-17T00:00:00+08:00", "EndTime": "2025-12-17T23:59:59+08:00"}]


def test_ranges_mps_would_refuse_are_refused_with_the_reason():
    assert today(NOW) == dt.date(2026, 1, 1) and earliest(NOW) == dt.date(2025, 1, 2)
    assert check_range(dt.date(2025, 1, 2), None, NOW) == (dt.date(2025, 1, 2), dt.date(2026, 1, 1), [])
    with pytest.raises(
        UsageRangeError, match=r"more than 365 days back.*earliest day that can be asked for is 2025-01-02"
    ):
        check_range(dt.date(2025, 1, 1), None, NOW)
    with pytest.raises(UsageRangeError, match="before --since"):
        check_range(dt.date(2025, 6, 2), dt.date(2025, 6, 1), NOW)
    with pytest.raises(UsageRangeError, match="in the future"):
        check_range(dt.date(2026, 1, 2), None, NOW)
    _since, until, notes = check_range(dt.date(2025, 12, 1), dt.date(2026, 3, 1), NOW)
    assert until == dt.date(2026, 1, 1) and "showing up to today" in notes[0]


# ---- the fake's DescribeUsageData --------------------------------------------------------------


def typed_client(mps: Any) -> mps_client.MpsClient:
    http = HttpProfile(protocol="http", endpoint=mps.host, reqTimeout=10)
    return mps_client.MpsClient(mps.credential, REGION, ClientProfile(httpProfile=http))


def test_the_fake_counts_its_task_history_per_beijing_day_as_the_sdk_models_it(make_fake_mps, fake_cos):
    clock = FakeClock(NOW)
    mps = make_fake_mps(cos=fake_cos, clock=clock, rate_limit_per_second=None)
    seed(mps, dt.date(2025, 12, 30), 2, "A")
    seed(mps, dt.date(2025, 12, 31), 1, "B")
    body = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/missing.jpg"}},
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
    }
    mps.client().call_json("ProcessImage", body)  # today; its input is not in the bucket: it fails
    clock.advance(10)

    req = models.DescribeUsageDataRequest()
    req.from_json_string(
        json.dumps(
            {
                "StartTime": "2025-12-30T00:00:00+08:00",
                "EndTime": "2026-01-01T23:59:59+08:00",
                "Types": ["ImageProcess", "Transcode"],
            }
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the SDK's models warn of any field they lack
        answer = typed_client(mps).DescribeUsageData(req)
    [image, transcode] = answer.Data
    assert image.TaskType == "ImageProcess" and image.Details == []
    assert [(s.Time, s.Count, s.Usage) for s in image.Summary] == [
        ("2025-12-30T00:00:00+08:00", 2, 2),
        ("2025-12-31T00:00:00+08:00", 1, 1),
        ("2026-01-01T00:00:00+08:00", 1, 0),  # a failed task is counted, not billed
    ]
    assert [s.Count for s in transcode.Summary] == [0, 0, 0]
    raw = mps.client().call_json(
        "DescribeUsageData", {"StartTime": "2025-12-31T00:00:00Z", "EndTime": "2026-01-01T00:00:00Z"}
    )
    validation.validate("DescribeUsageDataResponse", raw["Response"])  # every field typed as the SDK types it
    assert [d["TaskType"] for d in raw["Response"]["Data"]] == ["Transcode"]  # MPS's default type


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"StartTime": "2025-09-01T00:00:00+08:00", "EndTime": "2025-12-01T00:00:00+08:00"},
            "InvalidParameter.EndTime",
        ),
        (
            {"StartTime": "2024-12-31T00:00:00+08:00", "EndTime": "2025-01-31T00:00:00+08:00"},
            "InvalidParameter.StartTime",
        ),
        ({"StartTime": "2025-12-02T00:00:00Z", "EndTime": "2025-12-01T00:00:00Z"}, "InvalidParameter.EndTime"),
        ({"StartTime": "2025-12-01", "EndTime": "2025-12-02T00:00:00Z"}, "InvalidParameter.StartTime"),
        ({"StartTime": "2025-12-01T00:00:00Z"}, "MissingParameter"),
        (
            {"StartTime": "2025-12-01T00:00:00Z", "EndTime": "2025-12-02T00:00:00Z", "Types": ["Images"]},
            "InvalidParameterValue",
        ),
        (
            {"StartTime": "2025-12-01T00:00:00Z", "EndTime": "2025-12-02T00:00:00Z", "ProcessRegions": ["ap-shanghai"]},
            "InvalidParameterValue",
        ),
        (
            {"StartTime": "2025-12-01T00:00:00Z", "EndTime": "2025-12-02T00:00:00Z", "Types": "ImageProcess"},
            "InvalidParameter",
        ),
        (
            {"StartTime": "2025-12-01T00:00:00Z", "EndTime": "2025-12-02T00:00:00Z", "Type": "ImageProcess"},
            "UnknownParameter",
        ),
    ],
)
def test_the_fake_refuses_what_mps_documents_it_refuses(make_fake_mps, params, code):
    mps = make_fake_mps(clock=FakeClock(NOW), rate_limit_per_second=None)
    with pytest.raises(TencentCloudSDKException) as refused:
        mps.client().call_json("DescribeUsageData", params)
    assert refused.value.code == code


# ---- the command ---------------------------------------------------------------------------------


@pytest.fixture
def live(tmp_path):
    with start_mps(OPERATOR, rate_limit_per_second=None) as mps:
        yield mps, {**user_env(tmp_path), "MPS_ENDPOINT": mps.url, **OPERATOR.environ()}


def logged(day: dt.date, n: int, outcome: str = "submitted", **extra: Any) -> str:
    at = dt.datetime.fromtimestamp(noon(day) + n, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(record(outcome, key=f"u/{day}-{n}.jpg", task_id=f"{day}-{n}", time=at, **extra))


def test_usage_per_day_next_to_what_the_logs_submitted(live, tmp_path):
    mps, env = live
    day = today(time.time())
    d3, d2, d1 = (day - dt.timedelta(days=k) for k in (3, 2, 1))
    seed(mps, d3, 2, "A")
    seed(mps, d2, 1, "B")
    log = tmp_path / "log.jsonl"
    log.write_text(
        "\n".join(
            [
                "START RequestId: x",
                logged(d3, 0),
                logged(d3, 1),
                logged(d3, 1),  # the same task logged twice counts once
                logged(d2, 0),
                logged(d2, 1),  # MPS counted one task that day: a mismatch
                logged(d2, 2, outcome="skipped"),
                json.dumps(record("submitted", key="u/x.jpg", task_id="no-time")),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    r = run(env, "usage", "--since", str(d3), "--until", str(d1), "--logs", str(log), "--live", "--json")
    assert r.returncode == 0, r.stderr
    *days, summary = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["date"], x["mps_tasks"], x["mps_billed_images"], x["submitted"], x["difference"]) for x in days] == [
        (str(d3), 2, 2, 2, 0),
        (str(d2), 1, 1, 2, -1),
        (str(d1), 0, 0, 0, 0),
    ]
    assert summary["days_differing"] == [str(d2)] and summary["undated_records"] == 1 and summary["queries"] == 1
    [call] = usage_calls(mps)
    assert call.params["Types"] == ["ImageProcess"] and call.params["StartTime"] == f"{d3}T00:00:00+08:00"

    r = run(env, "usage", "--since", str(d3), "--until", str(d1), "--logs", str(log), "--live")
    assert r.returncode == 0, r.stderr
    assert f"  {d2}        1        1          2          -1  <- differs" in r.stdout
    assert "1 day(s) differ; 1 submitted record(s) without a time stamp not counted" in r.stdout
    assert "liveUserSecret" not in r.stdout + r.stderr


def test_usage_splits_long_ranges_and_refuses_more_than_365_days_back(live):
    mps, env = live
    day = today(time.time())
    r = run(env, "usage", "--since", str(day - dt.timedelta(days=199)), "--live")
    assert r.returncode == 0, r.stderr
    assert "3 queries of at most 90 days" in r.stdout and len(r.stdout.splitlines()) == 2 + 200 + 2
    assert len(usage_calls(mps)) == 3

    r = run(env, "usage", "--since", str(day - dt.timedelta(days=400)), "--live")
    assert r.returncode == 2 and "more than 365 days back" in r.stderr
    assert len(usage_calls(mps)) == 3  # refused before anything was sent
    r = run(env, "usage", "--since", "last week", "--live")
    assert r.returncode == 2 and "is not a date YYYY-MM-DD" in r.stderr


def test_usage_against_the_embedded_fake_after_a_replay(env):
    assert run(env, "replay", "events/put.json").returncode == 0
    r = run(env, "usage", "--since", str(today(time.time()) - dt.timedelta(days=1)), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["mps_tasks"] == 1 and summary["target"].startswith("embedded fake MPS")
