"""Warm cost per record: a 500-record event through the warm handler vs a bare SDK call_json loop.

Both run in this process against the fake MPS with no rate limit, one call after another on one
keep-alive connection (MPS_CONCURRENCY=1, the pacer set far above what either reaches), so the
difference is what the handler's own work costs per record: parsing, planning, the submit loop,
the deadline on every socket read, logging. Rounds alternate the two; medians are compared. The
fake counts TCP connections: none new on a warm invocation.

Usage: python bench/warm_throughput.py [--records 500] [--rounds 7] [--json]
Target (issue 12): handler records/s >= 1.0x the bare loop's, same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import WarmContainer, start_mps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with start_mps(rate_limit_per_second=None) as mps, open(os.devnull, "w") as devnull:
        # One call at a time like the bare loop; the pacer far above what either reaches.
        env = {"MPS_CONCURRENCY": "1", "MPS_REQUESTS_PER_SECOND": "1000"}
        container = WarmContainer(mps, env, sleep=time.sleep, stream=devnull)  # real clock, real sleeps
        context = {"request_id": "bench", "time_limit_in_ms": 900_000, "tencentcloud_region": "ap-guangzhou"}
        bare = mps.client(timeout=60)  # HttpProfile's default request timeout

        def event(round_no: int):
            return cos_event(
                [
                    cos_record("bench-1250000000", "ap-guangzhou", f"warm/{round_no}/{i}.jpg", event_time=round_no)
                    for i in range(args.records)
                ]
            )

        container.invoke(event(-1), context)  # warm-up: the container's first (cold) invocation
        ours_rates: list[float] = []
        bare_rates: list[float] = []
        connections = []
        for r in range(args.rounds):

            def run_ours(r: int = r) -> None:
                before = mps.server.connections_opened
                t0 = time.perf_counter()
                summary = container.invoke(event(r), context)
                ours_rates.append(args.records / (time.perf_counter() - t0))
                connections.append(mps.server.connections_opened - before)
                assert summary["submitted"] == args.records, summary

            def run_bare(r: int = r) -> None:
                # The very body the handler sends (same size, same validation work in the fake,
                # which shares this process), for other objects.
                template = mps.backend.tasks[0].params
                params = []
                for i in range(args.records):
                    body = json.loads(json.dumps(template))
                    body["InputInfo"]["CosInputInfo"]["Object"] = f"/bare/{r}/{i}.jpg"
                    body["SessionId"] = f"bare-{r}-{i}"
                    params.append(body)
                t0 = time.perf_counter()
                for p in params:
                    bare.call_json("ProcessImage", p)
                bare_rates.append(args.records / (time.perf_counter() - t0))

            for run in (run_ours, run_bare) if r % 2 == 0 else (run_bare, run_ours):
                run()
        med_ours, med_bare = statistics.median(ours_rates), statistics.median(bare_rates)

    report = {
        "records": args.records,
        "rounds": args.rounds,
        "handler_records_per_s": round(med_ours),
        "bare_call_json_per_s": round(med_bare),
        "ratio": round(med_ours / med_bare, 2),
        "connections_per_warm_event": connections,
    }
    report["target_met"] = report["ratio"] >= 1.0 and all(c == 0 for c in connections)
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"warm throughput, {args.records}-record event, median of {args.rounds} rounds (fake MPS, no rate limit):"
        )
        print(f"  handler      : {report['handler_records_per_s']:6d} records/s")
        print(f"  bare call_json: {report['bare_call_json_per_s']:6d} requests/s")
        print(f"  ratio: {report['ratio']:.2f} (target >= 1.00); new connections per warm event: {connections}")
        print(f"  target {'met' if report['target_met'] else 'NOT met'}")
    sys.exit(0 if report["target_met"] else 1)


if __name__ == "__main__":
    main()
