"""A merged event: 100 records at 80 ms MPS latency and 20 requests/s, one worker vs the default.

SCF's COS trigger can merge several uploads into one event. The fake MPS answers each call after
`--latency` seconds and enforces 20 requests/s per SecretId, as MPS does. Each round runs a fresh
warm container on the same event shape, alternating MPS_CONCURRENCY=1 (one call after another)
and the default, and checks that every record became exactly one task. Medians of the rounds.

Usage: python bench/merged_event.py [--records 100] [--latency 0.08] [--rounds 5]
Target (issue 12): the default finishes a 100-record event within 5.5 s, every record submitted once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import WarmContainer, start_mps
from handler.variables import DEFAULT_CONCURRENCY

BUCKET, REGION = "photos-1250000000", "ap-guangzhou"


def one_round(concurrency: int, records: int, latency: float, round_no: int) -> float:
    with start_mps(rate_limit_per_second=20, latency_seconds=latency) as mps:
        container = WarmContainer(mps, {"MPS_CONCURRENCY": str(concurrency)}, sleep=time.sleep)  # real time
        keys = [f"merged/{round_no}-{concurrency}/{i}.jpg" for i in range(records)]
        event = cos_event([cos_record(BUCKET, REGION, k, event_time=1_764_000_000 + i) for i, k in enumerate(keys)])
        context = {"request_id": "bench", "time_limit_in_ms": 60_000, "tencentcloud_region": REGION}
        started = time.perf_counter()
        summary = container.invoke(event, context)
        elapsed = time.perf_counter() - started
    objects = sorted(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in mps.backend.tasks)
    assert summary["submitted"] == records and objects == sorted("/" + k for k in keys), summary
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.08)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[int, list[float]] = {1: [], DEFAULT_CONCURRENCY: []}
    for r in range(args.rounds):
        for concurrency in (1, DEFAULT_CONCURRENCY) if r % 2 == 0 else (DEFAULT_CONCURRENCY, 1):
            times[concurrency].append(one_round(concurrency, args.records, args.latency, r))
    sequential, concurrent = statistics.median(times[1]), statistics.median(times[DEFAULT_CONCURRENCY])
    print(
        f"{args.records} records, {args.latency * 1000:.0f} ms per call, MPS at 20 requests/s, median of {args.rounds}:"
    )
    print(f"  MPS_CONCURRENCY=1: {sequential:.2f} s")
    print(f"  MPS_CONCURRENCY={DEFAULT_CONCURRENCY} (default): {concurrent:.2f} s ({concurrent / sequential:.2f}x)")
    print(f"  the 20/s quota alone needs {(args.records - 1) / 20:.2f} s; every record submitted exactly once")
    print("  target met" if concurrent <= 5.5 else "  target NOT met (<= 5.5 s)")


if __name__ == "__main__":
    main()
