"""Run Python code as its own process and measure it: wall time and the process's own peak RSS.

Peak RSS is read inside the child (VmHWM) as it exits. os.wait4's ru_maxrss is not used: a
forked child is charged the parent's resident pages until exec, and the benchmark parents
hold the fakes, which made every child look as big as the parent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

# Runs the code in argv[1] as __main__ (argv[2:] become its sys.argv[1:]), then reports VmHWM
# even when that code exits through sys.exit.
_WRAPPER = """
import sys
code = sys.argv.pop(1)
try:
    exec(compile(code, "<child>", "exec"), {"__name__": "__main__"})
finally:
    hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
    sys.stderr.write("\\nVmHWM_KB=" + hwm + "\\n")
"""


class ChildRun(NamedTuple):
    wall_s: float
    peak_rss_kib: int
    stdout: str
    stderr: str


def run_child(
    code: str,
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    python_flags: Sequence[str] = (),
    python: str = sys.executable,
) -> ChildRun:
    """Run `code` with `args` in a fresh interpreter (`python`); raise SystemExit if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run([python, *python_flags, "-c", _WRAPPER, code, *args], cwd=cwd, env=dict(env),
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    head, _, peak = proc.stderr.rpartition("VmHWM_KB=")
    return ChildRun(wall, int(peak), proc.stdout, head)
