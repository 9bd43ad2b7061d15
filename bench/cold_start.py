"""Cold start: a fresh process imports the function and handles one record against the fake.

Compares, in one run, this project's handler with bench/naive_function.py (the demos' way:
typed MpsClient + COS SDK at module level). Each sample is a whole child process: wall time
from spawn to exit, and the child's peak RSS. Rounds alternate the two so that
machine noise hits both alike; medians are reported. Bytecode caches are warmed first, as in
a deployed package that ships .pyc files. Memory is the child's own peak RSS (bench/child.py).

Usage: python bench/cold_start.py [--rounds 15] [--json]
Target (issue 3): ours <= 0.7x the naive function's wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoenhance.cos_events import cos_event, cos_record
from bench.child import run_child
from fakes.harness import start_mps

CHILD = """
import json, sys
event = json.loads(sys.argv[2])
context = {"request_id": "bench", "time_limit_in_ms": 60000, "tencentcloud_region": "ap-guangzhou"}
if sys.argv[1] == "ours":
    from handler.index import main_handler
else:
    from bench.naive_function import main_handler
main_handler(event, context)
"""


def one_run(which: str, event_json: str, env: dict[str, str]) -> tuple[float, int]:
    run = run_child(CHILD, [which, event_json], env, ROOT)
    return run.wall_s, run.peak_rss_kib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with start_mps(rate_limit_per_second=None) as mps:
        env = {**os.environ, **mps.function_env(), "PYTHONPATH": str(ROOT)}
        samples: dict[str, list[tuple[float, int]]] = {"ours": [], "naive": []}
        for i in range(args.rounds + 1):
            for which in ("ours", "naive") if i % 2 else ("naive", "ours"):
                event = json.dumps(cos_event([cos_record("bench-1250000000", "ap-guangzhou", f"cold/{which}-{i}.jpg")]))
                sample = one_run(which, event, env)
                if i:  # round 0 only warms bytecode caches
                    samples[which].append(sample)
        assert len(mps.backend.tasks) == 2 * (args.rounds + 1), "every child must have created its task"

    def med(which: str, idx: int) -> float:
        return statistics.median(s[idx] for s in samples[which])

    report = {
        "rounds": args.rounds,
        "ours_wall_ms": round(med("ours", 0) * 1000, 1),
        "naive_wall_ms": round(med("naive", 0) * 1000, 1),
        "ours_peak_rss_mib": round(med("ours", 1) / 1024, 1),
        "naive_peak_rss_mib": round(med("naive", 1) / 1024, 1),
    }
    report["wall_ratio"] = round(report["ours_wall_ms"] / report["naive_wall_ms"], 2)
    report["memory_ratio"] = round(report["ours_peak_rss_mib"] / report["naive_peak_rss_mib"], 2)
    report["target_met"] = report["wall_ratio"] <= 0.7 and report["memory_ratio"] <= 0.7
    if args.json:
        print(json.dumps(report))
    else:
        print(f"cold start, median of {args.rounds} fresh processes each (one record against the fake MPS):")
        print(f"  ours : {report['ours_wall_ms']:7.1f} ms  {report['ours_peak_rss_mib']:6.1f} MiB peak RSS")
        print(f"  naive: {report['naive_wall_ms']:7.1f} ms  {report['naive_peak_rss_mib']:6.1f} MiB peak RSS")
        print(
            f"  ratio: {report['wall_ratio']:.2f}x wall, {report['memory_ratio']:.2f}x memory "
            f"(target <= 0.70x): {'met' if report['target_met'] else 'NOT met'}"
        )
    sys.exit(0 if report["target_met"] else 1)


if __name__ == "__main__":
    main()
