"""The deploy package: size vs the naive alternative, cold start and peak memory as SCF runs it.

SCF runs the package with PYTHONDONTWRITEBYTECODE and ships no usable .pyc (see
autoenhance/package.py), so every cold start compiles what it imports. This runs each
function from its own package directory in a clean interpreter (`python -S -B`, only the
package on sys.path), against the fake MPS, and reports:
  - size of build/scf vs the monolithic tencentcloud-sdk-python + cos-python-sdk-v5 that the
    demos install;
  - cold start wall time and peak RSS (VmHWM) for one record, ours vs the naive function;
  - our peak RSS for an event at SCF's 128 KB async-invocation limit (memorySize choice).

Usage: python bench/package.py [--rounds 7]   (downloads the naive SDKs from PyPI once)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoenhance.cos_events import cos_event, cos_record
from autoenhance.package import build_package, tree_digest
from bench.child import run_child
from fakes.harness import start_mps

NAIVE_REQUIREMENTS = ["tencentcloud-sdk-python==3.1.195", "cos-python-sdk-v5==1.9.44"]
ASYNC_EVENT_LIMIT = 128 * 1024
CHILD = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
handler = importlib.import_module(sys.argv[2]).main_handler
handler(json.loads(sys.argv[3]), {"request_id": "bench", "time_limit_in_ms": 60000, "tencentcloud_region": "ap-guangzhou"})
"""


def naive_package(work: Path) -> Path:
    target = work / "naive"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(target),
            *NAIVE_REQUIREMENTS,
        ],
        check=True,
    )
    shutil.rmtree(target / "bin", ignore_errors=True)
    shutil.copyfile(ROOT / "bench" / "naive_function.py", target / "naive_function.py")
    return target


def run_package(pkg: Path, module: str, event: dict, env: dict[str, str]) -> tuple[float, int]:
    run = run_child(CHILD, [str(pkg), module, json.dumps(event)], env, pkg, python_flags=("-S", "-B"))
    return run.wall_s, run.peak_rss_kib


def event_at_async_limit() -> dict:
    records = []
    while True:
        record = cos_record("bench-1250000000", "ap-guangzhou", f"limit/{len(records):05d}.jpg")
        if len(json.dumps(cos_event([*records, record]))) > ASYNC_EVENT_LIMIT:
            return cos_event(records)
        records.append(record)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours = build_package(work / "scf", "3.9").path
        naive = naive_package(work)
        _, ours_size, _ = tree_digest(ours)
        _, naive_size, _ = tree_digest(naive)
        with start_mps(rate_limit_per_second=None) as mps:
            env = {
                "PATH": os.environ["PATH"],
                "PYTHONDONTWRITEBYTECODE": "x",
                **mps.function_env(MPS_IMAGE_TASK_FILE="image-task.json"),
            }
            cold: dict[str, list[tuple[float, int]]] = {"ours": [], "naive": []}
            for i in range(args.rounds):
                for name, pkg, module in (("ours", ours, "index"), ("naive", naive, "naive_function")):
                    event = cos_event([cos_record("bench-1250000000", "ap-guangzhou", f"cold/{name}/{i}.jpg")])
                    cold[name].append(run_package(pkg, module, event, env))
            big = event_at_async_limit()
            _, big_hwm = run_package(ours, "index", big, env)

    def med(name: str, i: int) -> float:
        return statistics.median(s[i] for s in cold[name])

    print(
        f"package size: ours {ours_size / 1e6:.2f} MB, naive (tencentcloud-sdk-python + cos-python-sdk-v5) "
        f"{naive_size / 1e6:.1f} MB ({naive_size / ours_size:.0f}x)"
    )
    print(
        f"cold start without bytecode, median of {args.rounds}: ours {med('ours', 0) * 1000:.0f} ms / "
        f"{med('ours', 1) / 1024:.1f} MiB, naive {med('naive', 0) * 1000:.0f} ms / {med('naive', 1) / 1024:.1f} MiB"
    )
    print(f"peak RSS for a {len(big['Records'])}-record event at the 128 KB async limit: {big_hwm / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
