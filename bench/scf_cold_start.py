"""Cold start as SCF runs it: the built package under CPython 3.9 and 3.10, no bytecode written.

For each SCF runtime installed here (autoenhance/runtimes.py finds them), three functions, each
in its own directory, each run as a fresh `pythonX.Y -I -B` process with only its directory on
sys.path (SCF sets PYTHONDONTWRITEBYTECODE and mounts the code read-only), handling one record
against the fake MPS:

- ours: `autoenhance package` for that runtime (it ships bytecode compiled by that interpreter);
- naive: bench/naive_function.py (the demos' way: the typed MpsClient and the COS SDK at module
  level) with tencentcloud-sdk-python + cos-python-sdk-v5 pip-installed by that interpreter,
  which compiles their .pyc as pip does;
- floor: bench/floor_function.py (a bare CommonClient call) with tencentcloud-sdk-python-common
  pip-installed by that interpreter, as a user would (pip resolves its dependencies, so requests
  brings charset-normalizer, which our package leaves out), with its .pyc.

Also our peak RSS for an event at SCF's 128 KB async-invocation limit (the memorySize choice).
Rounds alternate the three so machine noise hits them alike; medians of wall time (spawn to exit)
and the child's own peak RSS (bench/child.py). Ratios are the figures; absolute times are context.

Usage: python bench/scf_cold_start.py [--rounds 15] [--runtime 3.9]   (downloads the SDKs once)
Targets (issue 12), under 3.9: ours <= 0.60x naive in wall time and peak RSS, and no slower than the floor.
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

from autoenhance.package import build_package, tree_digest
from autoenhance.runtimes import SCF_RUNTIMES, locate_runtime
from autoenhance.sample_events import cos_event, cos_record
from bench.child import run_child
from fakes.harness import start_mps

NAIVE_REQUIREMENTS = ["tencentcloud-sdk-python==3.1.195", "cos-python-sdk-v5==1.9.44"]
FLOOR_REQUIREMENT = "tencentcloud-sdk-python-common==3.1.195"  # and what pip resolves for it
CHILD = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
handler = importlib.import_module(sys.argv[2]).main_handler
handler(json.loads(sys.argv[3]), {"request_id": "bench", "time_limit_in_ms": 60000, "tencentcloud_region": "ap-guangzhou"})
"""


def pip_installed(python: str, target: Path, function: str, *requirements: str) -> Path:
    """`requirements` installed by `python` itself (so pip compiles .pyc for it), plus `function`."""
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(target),
         *requirements],
        check=True,
    )  # fmt: skip
    shutil.rmtree(target / "bin", ignore_errors=True)
    shutil.copyfile(ROOT / "bench" / function, target / function)
    subprocess.run([python, "-m", "compileall", "-q", str(target / function)], check=True)
    return target


ASYNC_EVENT_LIMIT = 128 * 1024  # SCF's largest asynchronous invocation payload


def event_at_async_limit() -> dict:
    """As many one-upload records as fit in SCF's 128 KB async payload: the largest event there is."""
    records: list[dict] = []
    while True:
        record = cos_record("bench-1250000000", "ap-guangzhou", f"limit/{len(records):05d}.jpg")
        if len(json.dumps(cos_event([*records, record]))) > ASYNC_EVENT_LIMIT:
            return cos_event(records)
        records.append(record)


def measure(version: str, python: str, rounds: int, work: Path, env: dict[str, str]) -> dict[str, object]:
    functions = {
        "ours": (build_package(work / "ours", version).path, "index"),
        "naive": (pip_installed(python, work / "naive", "naive_function.py", *NAIVE_REQUIREMENTS), "naive_function"),
        "floor": (
            pip_installed(python, work / "floor", "floor_function.py", FLOOR_REQUIREMENT),
            "floor_function",
        ),
    }
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in functions}
    order = list(functions)
    for i in range(rounds):
        for name in order if i % 2 == 0 else reversed(order):
            pkg, module = functions[name]
            event = cos_event([cos_record("bench-1250000000", "ap-guangzhou", f"cold/{name}/{i}.jpg")])
            run = run_child(CHILD, [str(pkg), module, json.dumps(event)], env, pkg, ("-I", "-B"), python)
            samples[name].append((run.wall_s, run.peak_rss_kib))
    ours, module = functions["ours"]
    big = event_at_async_limit()
    big_rss = run_child(CHILD, [str(ours), module, json.dumps(big)], env, ours, ("-I", "-B"), python).peak_rss_kib
    wall = {n: statistics.median(s[0] for s in samples[n]) for n in functions}
    rss = {n: statistics.median(s[1] for s in samples[n]) for n in functions}
    size = {n: tree_digest(functions[n][0])[1] for n in functions}
    return {
        "version": version,
        "wall_s": wall,
        "peak_rss_kib": rss,
        "size_bytes": size,
        "async_limit_event": (len(big["Records"]), big_rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runtime", choices=list(SCF_RUNTIMES), action="append")
    args = parser.parse_args()
    with start_mps(rate_limit_per_second=None) as mps:
        env = {"PATH": os.environ["PATH"], **mps.function_env(MPS_IMAGE_TASK_FILE="image-task.json")}
        for version in args.runtime or list(SCF_RUNTIMES):
            runtime = locate_runtime(version)
            if runtime is None:
                print(f"Python {version}: not installed here, not measured")
                continue
            with tempfile.TemporaryDirectory() as tmp:
                r = measure(version, runtime.executable, args.rounds, Path(tmp), env)
            wall, rss, size = r["wall_s"], r["peak_rss_kib"], r["size_bytes"]
            assert isinstance(wall, dict) and isinstance(rss, dict) and isinstance(size, dict)
            print(f"Python {runtime.full_version}, cold start of one record, median of {args.rounds}:")
            for name in ("ours", "naive", "floor"):
                print(
                    f"  {name:<6} {wall[name] * 1000:6.0f} ms  {rss[name] / 1024:5.1f} MiB peak RSS  "
                    f"{size[name] / 1e6:6.2f} MB on disk"
                )
            big_event = r["async_limit_event"]
            assert isinstance(big_event, tuple)
            count, big_rss = big_event
            print(f"  ours, a {count}-record event at the 128 KB async limit: {big_rss / 1024:.1f} MiB peak RSS")
            print(
                f"  ours/naive: {wall['ours'] / wall['naive']:.2f}x wall, {rss['ours'] / rss['naive']:.2f}x RSS; "
                f"ours/floor: {wall['ours'] / wall['floor']:.2f}x wall, {rss['ours'] / rss['floor']:.2f}x RSS"
            )


if __name__ == "__main__":
    main()
