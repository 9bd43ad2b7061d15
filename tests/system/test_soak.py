"""At-least-once soak, CI size: the real handler under SCF's delivery semantics against one faulty fake MPS.

The machinery is `bench/soak.py` (`python bench/soak.py` runs the 2,000-event version), so this
test and the benchmark cannot drift apart.
"""

from __future__ import annotations

import json

from bench.soak import (
    BUCKET,
    REGION,
    DeadLetter,
    SoakConfig,
    build_workload,
    check_invariant,
    delivery_plan,
    run_soak,
)
from fakes.mps import FakeClock, MpsBackend

# 150 events (~350 records) is ~20 s: the fake's 20 requests/s bounds throughput. Seed 7's fault
# draws hit all three fault kinds within the first 10 calls, and its workload has poison events.
CI_CONFIG = SoakConfig(events=150, seed=7)


def test_every_upload_becomes_exactly_one_task_under_redelivery_concurrency_and_faults(make_fake_mps):
    """150 events, 10% redelivered (some concurrently), 16 instances, 20 req/s, 8% injected faults."""
    fake = make_fake_mps(rate_limit_per_second=20)
    report = run_soak(CI_CONFIG, fake)
    print("\n".join(report.summary_lines()))

    assert report.violations == [], "\n".join(report.violations)
    assert report.unexpected_exceptions == []
    assert report.tasks == report.records - report.poison_records
    # The scenario really happened: faults hit, retries ran, redeliveries overlapped and were refused.
    assert set(report.faults) == {"error", "drop", "lost_answer"}
    assert report.call_retries > 0 and report.throttled > 0
    assert report.duplicates_prevented > 0
    assert report.redeliveries > 0 and report.concurrent_redeliveries > 0
    # Poison records fail every invocation of their event: SCF retries twice, then dead-letters it.
    assert report.poison_records > 0 and report.invocation_retries > 0
    assert report.dead_letters > 0
    assert all("UnsafeKey" in reason for reason in report.dead_letter_reasons)


def _backend_with_tasks(objects: list[str]) -> MpsBackend:
    backend = MpsBackend(clock=FakeClock(), rate_limit_per_second=None)
    backend.restore_tasks(
        {
            "task_id": f"task-{i}",
            "session_id": f"s-{i}",
            "params": {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": o}}},
            "created_at": 0,
        }
        for i, o in enumerate(objects)
    )
    return backend


def test_the_invariant_check_catches_every_kind_of_broken_promise():
    """The checker itself: a second task, a lost object, a stray task, an unrefused poison key, a crash."""
    config = SoakConfig(events=40, seed=7, poison_rate=0.2)
    workload = build_workload(config)
    assert len(delivery_plan(config)) >= config.events
    healthy = sorted(set(workload.objects) - workload.poison)
    letters = [
        DeadLetter(0, workload.objects[p], "RecordsNotSubmittedError", f"[0] {json.dumps(BUCKET + p)}: UnsafeKey")
        for p in workload.poison
    ]
    assert workload.poison and check_invariant(workload, _backend_with_tasks(healthy), letters, []) == []

    doubled = check_invariant(workload, _backend_with_tasks([*healthy, healthy[0]]), letters, [])
    assert doubled == [f"{healthy[0]}: 2 tasks (at most one allowed)"]
    lost = check_invariant(workload, _backend_with_tasks(healthy[1:]), letters, [])
    assert lost == [f"{healthy[0]}: no task and not dead-lettered with a reason naming it"]
    stray = check_invariant(workload, _backend_with_tasks([*healthy, "/elsewhere.jpg"]), letters, [])
    assert stray == ["/elsewhere.jpg: a task for an object no event carried"]
    poison = min(workload.poison)
    unrefused = check_invariant(workload, _backend_with_tasks([*healthy, poison]), letters, [])
    assert unrefused == [f"{poison}: an unsafe key must be refused (no task, dead-lettered as UnsafeKey)"]
    crashed = check_invariant(workload, _backend_with_tasks(healthy), letters, ["Traceback: KeyError"])
    assert crashed == ["undocumented exception:\nTraceback: KeyError"]
