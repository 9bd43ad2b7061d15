"""At-least-once soak: the real handler under SCF's delivery semantics, against one faulty fake MPS.

The platform is simulated the way SCF runs an asynchronously triggered function:

- N COS upload events (1-5 records each, every record a distinct image key; a few events
  also carry a "poison" record whose key has a `..` segment, which the function must refuse);
- every event delivered at least once: a share is delivered twice, half of those right
  next to the original so two instances handle the same event at the same time;
- `concurrency` instances (threads), each with its own warm `AutoEnhanceFunction`
  container, take deliveries from one queue;
- an invocation that raises is retried up to `platform_retries` more times (SCF's async
  retry), then dead-lettered with its exception message;
- one fake MPS for all of them, enforcing 20 requests/s per SecretId and injecting
  5% InternalError, 2% dropped connections and 1% accepted-but-answer-lost.

The handler runs with the real clock and real (jittered) backoff sleeps and a 60 s time limit.

Invariant, checked from the fake's own state (`backend.tasks`, by CosInputInfo.Object): every
image object has exactly one accepted task, or is dead-lettered with a reason that names it;
no object has two tasks; nothing else got a task; no invocation raised an exception type
outside the documented ones (RecordsNotSubmittedError, MalformedEventError, ConfigurationError).

`tests/system/test_soak.py` runs a CI-sized soak through `run_soak`; this script runs the large one:

    python bench/soak.py [--events 2000] [--seed 1] [--concurrency 16] [--json]

Exit status 0 when the invariant holds, 1 when it does not.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import FakeMps, WarmContainer, start_mps
from fakes.mps import FakeClock, MpsBackend
from handler.errors import ConfigurationError, MalformedEventError, RecordsNotSubmittedError

DOCUMENTED_ERRORS = (RecordsNotSubmittedError, MalformedEventError, ConfigurationError)
DUPLICATE_CODE = "InvalidParameterValue.SessionId"
BUCKET, REGION = "soak-1250000000", "ap-guangzhou"
DEFAULT_FAULT_RATES: Mapping[str, float] = {"InternalError": 0.05, "drop": 0.02, "lost_answer": 0.01}
# Records per event: most uploads arrive alone, some events are batched (up to 5).
RECORD_COUNTS = (1, 1, 1, 2, 3, 4, 5)
CREATION_KINDS = ("put", "put", "post", "copy", "multipart")
EXTENSIONS = ("jpg", "jpeg", "png", "webp", "JPG")


@dataclass(frozen=True)
class SoakConfig:
    events: int = 2000
    redelivery_rate: float = 0.10  # share of events SCF delivers twice
    concurrent_share: float = 0.5  # of those, delivered right next to the original (handled concurrently)
    poison_rate: float = 0.02  # share of events carrying one record that can never be submitted
    concurrency: int = 16  # SCF instances
    platform_retries: int = 2  # SCF async retries after a failed invocation, then dead letter
    retry_delay_seconds: float = 0.2  # SCF waits before retrying; kept short so the soak is too
    time_limit_ms: int = 60_000  # serverless.yml's timeout
    fault_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FAULT_RATES))
    seed: int = 1


@dataclass(frozen=True)
class Delivery:
    number: int  # position in the platform's delivery plan
    event_index: int
    copy: int  # 0: the original delivery, 1: the at-least-once redelivery


@dataclass
class Invocation:
    delivery: int
    event_index: int
    copy: int
    attempt: int  # 1 = first invocation, 2.. = SCF retries of this delivery
    started: float
    ended: float
    error_type: str | None  # None: returned normally
    error: str | None
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class DeadLetter:
    delivery: int
    event_index: int
    error_type: str
    reason: str


@dataclass
class SoakReport:
    events: int
    records: int
    poison_records: int
    deliveries: int
    redeliveries: int
    concurrent_redeliveries: int  # redelivered events whose two deliveries ran at the same time
    invocations: int
    invocation_retries: int  # SCF-level re-invocations after a raised exception
    mps_calls: int
    tasks: int
    duplicates_prevented: int  # ProcessImage answers InvalidParameterValue.SessionId
    call_retries: int  # ProcessImage attempts beyond the first, summed over records
    throttled: int  # RequestLimitExceeded answers
    faults: dict[str, int]  # injected faults that hit a call, by kind
    dead_letters: int
    dead_letter_reasons: list[str]
    unexpected_exceptions: list[str]  # tracebacks of exception types outside the documented ones
    violations: list[str]  # broken invariants; empty when the run is correct
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary_lines(self) -> list[str]:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        deliveries = (
            f"deliveries {self.deliveries} ({self.redeliveries} redelivered, "
            f"{self.concurrent_redeliveries} concurrently with the original)"
        )
        calls_per_s = self.mps_calls / max(self.wall_seconds, 1e-9)
        return [
            f"events {self.events} ({self.records} records, {self.poison_records} poison), {deliveries}",
            f"invocations {self.invocations} (SCF retries {self.invocation_retries}), "
            + f"MPS calls {self.mps_calls} ({calls_per_s:.1f}/s)",
            f"tasks {self.tasks}, duplicates prevented {self.duplicates_prevented}, "
            + f"call retries {self.call_retries}, throttled {self.throttled}",
            f"faults injected: {faults}",
            f"dead letters {self.dead_letters}, unexpected exceptions {len(self.unexpected_exceptions)}",
            f"wall time {self.wall_seconds:.1f} s",
            "invariant holds" if self.ok else f"INVARIANT BROKEN ({len(self.violations)}):",
            *(f"  {v}" for v in self.violations[:20]),
        ]


# ---- the workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Workload:
    events: list[dict[str, Any]]
    objects: dict[str, int]  # "/key" -> index of the event that carries it
    poison: set[str]  # "/key" of records the function must refuse


def build_workload(config: SoakConfig) -> _Workload:
    rng = random.Random(config.seed)
    events: list[dict[str, Any]] = []
    objects: dict[str, int] = {}
    poison: set[str] = set()
    for e in range(config.events):
        count = rng.choice(RECORD_COUNTS)
        poisoned = rng.random() < config.poison_rate
        records = []
        for r in range(count):
            ext = rng.choice(EXTENSIONS)
            key = f"soak/s{config.seed}/e{e:05d}/{'../' if poisoned and r == 0 else ''}img-{r}.{ext}"
            if rng.random() < 0.1:
                key = key.replace("img-", "照片 +%-")  # CJK, space, '+' and '%' must survive
            records.append(
                cos_record(BUCKET, REGION, key, event=rng.choice(CREATION_KINDS), event_time=1_764_000_000 + e)
            )
            objects["/" + key] = e
            if poisoned and r == 0:
                poison.add("/" + key)
        events.append(cos_event(records))
    return _Workload(events, objects, poison)


def delivery_plan(config: SoakConfig) -> list[Delivery]:
    """Every event once, in order; redeliveries either right after the original or later."""
    rng = random.Random(config.seed + 1)
    order: list[tuple[int, int]] = [(e, 0) for e in range(config.events)]
    for e in range(config.events):
        if rng.random() >= config.redelivery_rate:
            continue
        at = order.index((e, 0)) + 1
        if rng.random() >= config.concurrent_share:
            at = rng.randint(at, len(order))
        order.insert(at, (e, 1))
    return [Delivery(n, e, c) for n, (e, c) in enumerate(order)]


# ---- the platform ----------------------------------------------------------------------------


class _NullStream:
    """Where the containers' JSON log lines go: nowhere (they are not what the soak measures)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _Platform:
    """SCF's async invocation: a queue of deliveries, retries after failures, a dead-letter list."""

    def __init__(self, config: SoakConfig, workload: _Workload, target: FakeMps):
        self.config, self.workload, self.target = config, workload, target
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Delivery, int]] = []  # (ready at, seq, delivery, attempt)
        self._seq = 0
        self._in_flight = 0
        self.invocations: list[Invocation] = []
        self.dead_letters: list[DeadLetter] = []
        self.unexpected: list[str] = []

    def _push(self, ready_at: float, delivery: Delivery, attempt: int) -> None:
        heapq.heappush(self._queue, (ready_at, self._seq, delivery, attempt))
        self._seq += 1

    def _take(self) -> tuple[Delivery, int] | None:
        with self._cond:
            while True:
                if not self._queue and self._in_flight == 0:
                    return None
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, delivery, attempt = heapq.heappop(self._queue)
                        self._in_flight += 1
                        return delivery, attempt
                    self._cond.wait(wait)
                else:
                    self._cond.wait()

    def _finish(self, invocation: Invocation, exc: BaseException | None, delivery: Delivery) -> None:
        with self._cond:
            self._in_flight -= 1
            self.invocations.append(invocation)
            if exc is not None:
                if invocation.attempt <= self.config.platform_retries:
                    self._push(time.monotonic() + self.config.retry_delay_seconds, delivery, invocation.attempt + 1)
                else:
                    self.dead_letters.append(
                        DeadLetter(delivery.number, delivery.event_index, type(exc).__name__, str(exc))
                    )
            self._cond.notify_all()

    def container(self) -> WarmContainer:
        # The real clock and real (jittered) sleeps; the log goes nowhere.
        return WarmContainer(self.target, region=REGION, sleep=time.sleep, stream=_NullStream())

    def instance(self) -> None:
        container = self.container()
        while True:
            taken = self._take()
            if taken is None:
                return
            delivery, attempt = taken
            context = {
                "request_id": f"soak-{delivery.number}-{attempt}",
                "time_limit_in_ms": self.config.time_limit_ms,
                "tencentcloud_region": REGION,
                "function_name": "mps-autoenhance",
                "memory_limit_in_mb": 64,
            }
            started = time.monotonic()
            exc: BaseException | None = None
            results: list[dict[str, Any]] = []
            try:
                results = container.invoke(self.workload.events[delivery.event_index], context)["results"]
            except RecordsNotSubmittedError as err:
                exc, results = err, err.summary["results"]
            except Exception as err:  # noqa: BLE001 - any other escaping type is recorded (and retried, as SCF does)
                exc = err
                if not isinstance(err, DOCUMENTED_ERRORS):
                    with self._cond:
                        self.unexpected.append("".join(traceback.format_exception(type(err), err, err.__traceback__)))
            invocation = Invocation(
                delivery.number,
                delivery.event_index,
                delivery.copy,
                attempt,
                started,
                time.monotonic(),
                type(exc).__name__ if exc else None,
                str(exc) if exc else None,
                results,
            )
            self._finish(invocation, exc, delivery)

    def run(self, plan: list[Delivery]) -> float:
        now = time.monotonic()
        with self._cond:
            for delivery in plan:
                self._push(now, delivery, 1)
        threads = [
            threading.Thread(target=self.instance, name=f"scf-instance-{i}", daemon=True)
            for i in range(self.config.concurrency)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - started


# ---- checking ----------------------------------------------------------------------------------


def check_invariant(
    workload: _Workload, backend: MpsBackend, dead_letters: list[DeadLetter], unexpected: list[str]
) -> list[str]:
    """Every broken promise, from the fake's state; an empty list means the run was correct."""
    violations: list[str] = []
    tasks_by_object: Counter[str] = Counter()
    for task in list(backend.tasks):
        cos = task.params.get("InputInfo", {}).get("CosInputInfo", {})
        if cos.get("Bucket") != BUCKET:
            violations.append(f"task {task.task_id} for an unknown bucket {cos.get('Bucket')!r}")
        tasks_by_object[str(cos.get("Object"))] += 1
    reasons_by_event: dict[int, list[str]] = {}
    for letter in dead_letters:
        reasons_by_event.setdefault(letter.event_index, []).append(letter.reason)
    for obj, event_index in workload.objects.items():
        count = tasks_by_object.get(obj, 0)
        # The raised message names each failed object as a JSON string: "bucket/key": CODE
        quoted = json.dumps(f"{BUCKET}{obj}", ensure_ascii=False) + ":"
        named = [r for r in reasons_by_event.get(event_index, []) if quoted in r]
        if count > 1:
            violations.append(f"{obj}: {count} tasks (at most one allowed)")
        elif count == 0 and not named:
            violations.append(f"{obj}: no task and not dead-lettered with a reason naming it")
        if obj in workload.poison and (count or not any("UnsafeKey" in r for r in named)):
            violations.append(f"{obj}: an unsafe key must be refused (no task, dead-lettered as UnsafeKey)")
    for obj in set(tasks_by_object) - set(workload.objects):
        violations.append(f"{obj}: a task for an object no event carried")
    violations.extend(f"undocumented exception:\n{tb}" for tb in unexpected)
    return violations


def _overlapping_redeliveries(invocations: list[Invocation]) -> int:
    first: dict[tuple[int, int], Invocation] = {}
    for inv in invocations:
        if inv.attempt == 1:
            first[(inv.event_index, inv.copy)] = inv
    count = 0
    for (event_index, copy), redelivered in first.items():
        original = first.get((event_index, 0))
        if copy == 1 and original is not None:
            count += original.started < redelivered.ended and redelivered.started < original.ended
    return count


def run_soak(config: SoakConfig, target: FakeMps) -> SoakReport:
    """Run the whole simulation against `target` (its fault rates are set here) and check it."""
    workload = build_workload(config)
    plan = delivery_plan(config)
    target.backend.set_fault_rates(dict(config.fault_rates), seed=config.seed)
    platform = _Platform(config, workload, target)
    wall = platform.run(plan)

    calls = list(target.backend.calls)
    process_calls = [c for c in calls if c.action == "ProcessImage"]
    invocations = platform.invocations
    attempts = [r.get("attempts") or 0 for inv in invocations for r in inv.results]
    return SoakReport(
        events=config.events,
        records=len(workload.objects),
        poison_records=len(workload.poison),
        deliveries=len(plan),
        redeliveries=sum(1 for d in plan if d.copy == 1),
        concurrent_redeliveries=_overlapping_redeliveries(invocations),
        invocations=len(invocations),
        invocation_retries=sum(1 for inv in invocations if inv.attempt > 1),
        mps_calls=len(process_calls),
        tasks=len(target.backend.tasks),
        duplicates_prevented=sum(1 for c in process_calls if c.error_code == DUPLICATE_CODE),
        call_retries=sum(a - 1 for a in attempts if a > 1),
        throttled=sum(1 for c in process_calls if c.error_code == "RequestLimitExceeded"),
        faults=dict(Counter(c.fault for c in process_calls if c.fault)),
        dead_letters=len(platform.dead_letters),
        dead_letter_reasons=sorted({f"{d.error_type}: {d.reason}" for d in platform.dead_letters}),
        unexpected_exceptions=list(platform.unexpected),
        violations=check_invariant(workload, target.backend, platform.dead_letters, platform.unexpected),
        wall_seconds=round(wall, 2),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    config = SoakConfig(events=args.events, seed=args.seed, concurrency=args.concurrency)
    with start_mps(clock=FakeClock(), rate_limit_per_second=20) as target:  # tests pass the fixture's
        report = run_soak(config, target)
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}, ensure_ascii=False))
    else:
        print(f"soak: {config.concurrency} instances, 20 requests/s, faults {dict(config.fault_rates)}")
        print("\n".join(report.summary_lines()))
        for reason in report.dead_letter_reasons[:10]:
            print(f"  dead letter: {reason}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
