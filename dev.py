#!/usr/bin/env python3
"""The project's two commands, for a machine with nothing but Python 3 and pip.

    python3 dev.py demo    replay a sample upload event against the embedded fake MPS
    python3 dev.py test    the whole test suite and static checks (what CI runs); the built
                           package is also run under SCF's Python 3.9 and 3.10 when they are
                           installed (a missing one is reported, and fails the run when CI is set)

Each creates ./.venv on first use (and refreshes it when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*cmd: object, check: bool = True, env: dict[str, str] | None = None) -> int:
    print("+ " + shlex.join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
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


def scf_runtime_module() -> types.ModuleType:
    """tests/scf_runtime.py (stdlib only), loaded by path: this script runs on any Python 3.9+."""
    spec = importlib.util.spec_from_file_location("scf_runtime", ROOT / "tests" / "scf_runtime.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def scf_runtimes(scf: types.ModuleType, env: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Find SCF's Python runtimes (tests/system/test_scf_runtimes.py runs the built package under each).

    Returns (pytest arguments, notes on missing runtimes, failures). Found: the interpreter is
    passed to pytest in `env`. Missing locally: its tests are deselected and the note says so.
    Missing in CI: nothing is deselected (its tests fail with RuntimeNotFound) and it is a failure.
    """
    deselect, notes, failures = [], [], []
    for version in scf.SCF_RUNTIMES:
        runtime = scf.locate_runtime(version)
        if runtime is not None:
            print(f"SCF runtime Python {version}: {runtime.executable} ({runtime.full_version})", flush=True)
            env[scf.runtime_env_var(version)] = runtime.executable
        elif scf.in_ci():
            failures.append(f"{scf.missing_message(version)}; CI must test every SCF runtime: FAILED")
        else:
            deselect.append(f"not {scf.marker_for(version)}")
            notes.append(scf.missing_message(version))
    for line in failures + notes:
        print(line, flush=True)
    return (["-m", " and ".join(deselect)] if deselect else []), notes, failures


def test() -> int:
    ensure_venv("dev")
    env = dict(os.environ)
    scf = scf_runtime_module()
    print(f"== tests ({'CI' if scf.in_ci() else 'local'})", flush=True)
    pytest_args, notes, missing = scf_runtimes(scf, env)
    failures = len(missing)
    for cmd in (
        [PY, "-m", "pytest", *pytest_args],
        [PY, "-m", "ruff", "check", "handler", "fakes", "autoenhance", "tests", "tools", "bench", "dev.py"],
        [PY, "-m", "mypy", "handler", "fakes", "autoenhance"],
        [PY, "tools/check_py39.py", "handler"],
        [PY, "tools/gen_mps_schema.py", "--check"],
        # Known vulnerabilities in the deployed function's pinned closure (see tools/audit_deps.py).
        [PY, "tools/audit_deps.py"],
    ):
        failures += run(*cmd, check=False, env=env) != 0
    for line in missing + notes:  # again at the end, where it is seen
        print(line, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    commands = {"demo": demo, "test": test}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
