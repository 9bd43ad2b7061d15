"""Warm CPU per record: a 500-record merged event at the default MPS_CONCURRENCY vs a bare SDK loop.

CPU, not wall time: `time.process_time()` around one invocation of a warm container (the
process's CPU in every thread: the workers, the main thread's planning and logging) against the
same around a bare `CommonClient.call_json` loop sending the very bodies the handler sent (same
size, same validation work in the fake), for other objects, one call after another on one
keep-alive connection. The fake MPS serves from threads of this same process, so its CPU is in
both figures, once per request on each side: it adds the same to both and pulls the ratio
towards 1 (the fake's own cost per request is printed so the handler's share can be read off).
The fake has no rate limit and the pacer is set far above what either side reaches, so neither
sleeps on the quota. Rounds alternate the two sides; medians are compared.

Usage: python bench/warm_cpu.py [--records 500] [--rounds 9] [--concurrency N] [--json]
Target: the handler's CPU per record <= 1.00x the bare loop's, same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoenhance.sample_events import cos_event, cos_record
from fakes.core.server import FastHandler
from fakes.harness import WarmContainer, start_mps

BUCKET, REGION = "bench-1250000000", "ap-guangzhou"
CONTEXT = {"request_id": "bench", "time_limit_in_ms": 900_000, "tencentcloud_region": REGION}


def _event(round_no: int, records: int) -> dict[str, Any]:
    return cos_event(
        [cos_record(BUCKET, REGION, f"cpu/{round_no}/{i}.jpg", event_time=round_no) for i in range(records)]
    )


def measure(records: int, rounds: int, concurrency: int | None) -> dict[str, Any]:
    fake_cpu = _FakeCpu()
    with start_mps(rate_limit_per_second=None) as mps, open(os.devnull, "w") as devnull:
        env = {"MPS_CONCURRENCY": None if concurrency is None else str(concurrency), "MPS_REQUESTS_PER_SECOND": "1000"}
        container = WarmContainer(mps, env, sleep=time.sleep, stream=devnull)  # real clock, real sleeps
        concurrency = container.fn.settings.concurrency  # type: ignore[union-attr]
        bare = mps.client(timeout=60)
        container.invoke(_event(-1, records), CONTEXT)  # the container's first (cold) invocation
        for body in _bodies(mps, -1, 20):  # the bare client's connection and code paths, warm
            bare.call_json("ProcessImage", body)
        cpu: dict[str, list[float]] = {"ours": [], "bare": []}
        fake: list[float] = []
        for r in range(rounds):
            event = _event(r, records)
            bodies = _bodies(mps, r, records)

            def ours(event: dict[str, Any] = event) -> None:
                summary = container.invoke(event, CONTEXT)
                assert summary["submitted"] == records, summary

            def bare_loop(bodies: list[dict[str, Any]] = bodies) -> None:
                for body in bodies:
                    bare.call_json("ProcessImage", body)

            for name, run in (
                (("ours", ours), ("bare", bare_loop)) if r % 2 == 0 else (("bare", bare_loop), ("ours", ours))
            ):
                gc.collect()
                served, t0 = fake_cpu.seconds, time.process_time()
                run()
                cpu[name].append(time.process_time() - t0)
                fake.append(fake_cpu.seconds - served)
    med_ours, med_bare = (statistics.median(cpu[k]) / records * 1e6 for k in ("ours", "bare"))
    return {
        "records": records,
        "rounds": rounds,
        "concurrency": concurrency,
        "handler_cpu_us_per_record": round(med_ours),
        "bare_call_json_cpu_us_per_record": round(med_bare),
        "ratio": round(med_ours / med_bare, 2),
        "fake_server_cpu_us_per_request_in_both": round(statistics.median(fake) / records * 1e6),
    }


def _bodies(mps: Any, round_no: int, records: int) -> list[dict[str, Any]]:
    """The very body the handler sends, for other objects (the fake refuses a repeated SessionId)."""
    template = mps.backend.tasks[0].params
    bodies = []
    for i in range(records):
        body = json.loads(json.dumps(template))
        body["InputInfo"]["CosInputInfo"]["Object"] = f"/bare/{round_no}/{i}.jpg"
        body["SessionId"] = f"bare-{round_no}-{i}"
        bodies.append(body)
    return bodies


class _FakeCpu:
    """The fake MPS's own CPU: each request's handling, timed in its server thread."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.requests = 0
        original = FastHandler.handle_one_request

        def timed(handler: Any) -> None:
            t0 = time.thread_time()
            try:
                original(handler)
            finally:
                self.seconds += time.thread_time() - t0  # one server thread per connection: a race costs little
                self.requests += 1

        FastHandler.handle_one_request = timed  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=None, help="MPS_CONCURRENCY (default: the function's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = measure(args.records, args.rounds, args.concurrency)
    report["target_met"] = report["ratio"] <= 1.0
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"warm CPU per record (process CPU, every thread), {args.records}-record event, "
            f"MPS_CONCURRENCY={report['concurrency']}, median of {args.rounds} alternating rounds:"
        )
        print(f"  handler        : {report['handler_cpu_us_per_record']:6d} us")
        print(f"  bare call_json : {report['bare_call_json_cpu_us_per_record']:6d} us")
        print(f"  ratio: {report['ratio']:.2f} (target <= 1.00)")
        fake = report["fake_server_cpu_us_per_request_in_both"]
        print(f"  (the fake MPS serves from this process: about {fake} us of each figure is its own)")
        print(f"  target {'met' if report['target_met'] else 'NOT met'}")
    sys.exit(0 if report["target_met"] else 1)


if __name__ == "__main__":
    main()
