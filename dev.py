#!/usr/bin/env python3
"""The project's two commands, for a machine with nothing but Python 3 and pip.

    python3 dev.py demo    replay a sample upload event against the embedded fake MPS
    python3 dev.py test    the whole test suite and static checks (what CI runs)

Each creates ./.venv on first use (and refreshes it when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*cmd: object, check: bool = True) -> int:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and code != 0:
        sys.exit(code)
    return code


def ensure_venv(extras: str) -> None:
    stamp = VENV / f".installed-{extras or 'base'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        # Debian/Ubuntu ship venv without ensurepip unless python3-venv is installed:
        # fall back to an empty venv and let the host's pip install into it.
        if subprocess.call([sys.executable, "-m", "venv", str(VENV)]) != 0:
            run(sys.executable, "-m", "venv", "--without-pip", "--clear", VENV)
    target = f".[{extras}]" if extras else "."
    if subprocess.call([str(PY), "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    else:
        run(sys.executable, "-m", "pip", "--python", PY, "install", "--quiet", "-e", target)
    stamp.write_text(wanted)


def demo() -> int:
    ensure_venv("")
    return run(BIN / "autoenhance", "replay", "events/put.json", "--fresh", check=False)


def test() -> int:
    ensure_venv("dev")
    env_note = "CI" if os.environ.get("CI") else "local"
    print(f"== tests ({env_note})", flush=True)
    failures = 0
    for cmd in (
        [PY, "-m", "pytest"],
        [PY, "-m", "ruff", "check", "handler", "fakes", "autoenhance", "tests", "tools", "bench", "dev.py"],
        [PY, "-m", "mypy", "handler", "fakes", "autoenhance"],
        [PY, "tools/check_py39.py", "handler"],
        [PY, "tools/gen_mps_schema.py", "--check"],
        # Known vulnerabilities in the deployed function's pinned closure (see tools/audit_deps.py).
        [PY, "tools/audit_deps.py"],
    ):
        failures += run(*cmd, check=False) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    commands = {"demo": demo, "test": test}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
