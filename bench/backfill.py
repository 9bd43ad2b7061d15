"""Backfill throughput and memory against the fakes, as issue 6 specifies.

The fakes run in this process: MPS enforcing 20 requests/s, MPS and COS each adding 20 ms to
every request. The command runs as its own process, exactly as a user types it
(`autoenhance backfill --live`, with MPS_ENDPOINT/COS_ENDPOINT pointing at the fakes), so its
peak RSS is its own. Checks: >= 19 submitted/s end to end over N image objects, none failed
or submitted twice; peak memory does not grow between a listing of N and of 10N objects (the
extra objects are non-images, filtered out, so both runs make the same MPS calls).

Usage: python bench/backfill.py [--objects 2000] [--large 20000]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.child import run_child
from fakes.harness import start_cos, start_mps
from fakes.identities import OPERATOR
from fakes.mps.validation import schema

BUCKET, REGION = "bench-1250000000", "ap-guangzhou"
COMMAND = "import sys\nfrom autoenhance.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def run(images: int, others: int, latency: float, tmp: Path) -> dict:
    schema()  # the fake builds its SDK-derived schema on first use (~2 s): not the command's time
    # One operator's long-lived keys for both services, as `autoenhance backfill --live` uses them.
    mps = start_mps(OPERATOR, rate_limit_per_second=20, latency_seconds=latency)
    cos = start_cos(OPERATOR, BUCKET, REGION, latency_seconds=latency)
    with mps, cos:
        for i in range(images):
            cos.backend.put_object(BUCKET, f"photos/{i:06d}.jpg", size=100_000)
        for i in range(others):
            cos.backend.put_object(BUCKET, f"raw/{i:06d}.dng", size=100_000)
        env = {**os.environ, "MPS_ENDPOINT": mps.url, "COS_ENDPOINT": cos.url, **OPERATOR.environ()}
        run = run_child(
            COMMAND,
            [
                "backfill",
                "--bucket",
                BUCKET,
                "--region",
                REGION,
                "--live",
                "--checkpoint",
                str(tmp / f"cp-{others}.json"),
                "--report",
                str(tmp / f"report-{others}.jsonl"),
            ],
            env,
            tmp,
        )
    rate = float(re.search(r"([\d.]+) submitted/s", run.stdout).group(1))  # type: ignore[union-attr]
    per_object = collections.Counter(t.params["InputInfo"]["CosInputInfo"]["Object"] for t in mps.backend.tasks)
    return {
        "listed": images + others,
        "tasks": len(mps.backend.tasks),
        "objects_with_two_tasks": sum(1 for n in per_object.values() if n > 1),
        "failed": int(re.search(r"(\d+) failed", run.stdout).group(1)),  # type: ignore[union-attr]
        "submitted_per_s": rate,
        "process_wall_s": round(run.wall_s, 1),
        "peak_rss_mib": round(run.peak_rss_kib / 1024, 1),
        "summary": run.stdout.strip().splitlines()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.020)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = run(args.objects, 0, args.latency, Path(tmp))
        large = run(args.objects, args.large - args.objects, args.latency, Path(tmp))
    for name, r in (("small", small), ("large", large)):
        print(f"{name}: {r['summary']}")
        print(
            f"  {r['submitted_per_s']:.2f} submitted/s end to end, process wall {r['process_wall_s']} s, "
            f"tasks {r['tasks']}, objects with two tasks {r['objects_with_two_tasks']}, "
            f"peak RSS {r['peak_rss_mib']} MiB"
        )
    ok = (
        small["submitted_per_s"] >= 19
        and small["failed"] == 0
        and small["objects_with_two_tasks"] == 0
        and small["tasks"] == args.objects
        and large["tasks"] == args.objects
        and large["peak_rss_mib"] <= small["peak_rss_mib"] * 1.1
    )
    print(
        f"target (>= 19 submitted/s, none failed or twice, peak RSS flat from {args.objects} to "
        f"{args.large} listed): {'met' if ok else 'NOT met'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
