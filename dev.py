#!/usr/bin/env python3
"""The project's commands, for a machine with nothing but Python 3 and pip.

    python3 dev.py demo    replay a sample upload event against the embedded fake MPS
    python3 dev.py test    the whole test suite and static checks: the code (what CI runs); the
                           built package is also run under SCF's Python 3.9 and 3.10 when they are
                           installed (a missing one is reported, and fails the run when CI is set)
    python3 dev.py check   your configuration (serverless.yml, .env, the task and rules files it
                           names), as `autoenhance package` then `autoenhance check-deploy` check it,
                           in a scratch copy: nothing of yours is written; without a .env, the
                           shipped .env.example stands in (CI checks the example that way); then
                           the tests marked shipped_example, which read the top-level files

Each creates ./.venv on first use (and refreshes it when pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import shutil
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
    # The shipped example's own checks read the top-level files, which are the user's: `check` runs them.
    deselect, notes, failures = ["not shipped_example"], [], []
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
    return ["-m", " and ".join(deselect)], notes, failures


def test() -> int:
    ensure_venv("dev")
    env = dict(os.environ)
    scf = scf_runtime_module()
    print(f"== tests ({'CI' if scf.in_ci() else 'local'})", flush=True)
    pytest_args, notes, missing = scf_runtimes(scf, env)
    # The rehearsal's tests run the pinned deploy toolkit, and its lockfile must install as committed
    # (npm ci fails when package.json and the lock disagree). Without Node.js they are left out
    # locally, as a missing SCF runtime's are, and CI fails.
    if shutil.which("npm") is None or shutil.which("node") is None:
        message = (
            "Node.js/npm not found: the deploy rehearsal (tests marked needs_node) was not tested (https://nodejs.org)"
        )
        if scf.in_ci():
            missing.append(f"{message}; CI must test it: FAILED")
        else:
            pytest_args[-1] += " and not needs_node"
            notes.append(message)
        print(message, flush=True)
    else:
        npm_ci = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--dry-run", "--loglevel=error"]
        npm_ci += ["--prefix", "deploy/toolkit"]
        if run(*npm_ci, check=False) != 0:
            missing.append("deploy/toolkit's package-lock.json does not install with npm ci: FAILED")
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


# Not the project's configuration: left out of the scratch copy `check` builds in.
_NOT_COPIED = {".git", ".venv", "build", "dist", "node_modules", "__pycache__", "tests", ".hypothesis"}


def check() -> int:
    ensure_venv("dev")
    import shutil
    import tempfile

    dotenv = ".env" if (ROOT / ".env").is_file() else ".env.example"
    print(
        f"== checking serverless.yml with {dotenv}{' (no .env yet: cp .env.example .env)' if dotenv != '.env' else ''}"
    )
    with tempfile.TemporaryDirectory(prefix="autoenhance-check-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(ROOT, project, ignore=lambda _dir, names: [n for n in names if n in _NOT_COPIED])
        if dotenv != ".env":
            shutil.copyfile(ROOT / dotenv, project / ".env")
        env = {**os.environ, "AUTOENHANCE_PROJECT_DIR": str(project)}
        for step in ("package", "check-deploy"):
            code = run(BIN / "autoenhance", step, check=False, env=env)
            if code != 0:
                print(f"python3 dev.py check: `autoenhance {step}` refused the configuration (above)", flush=True)
                return code
    # The checks the tests once made of the shipped example, made of this checkout's files instead.
    code = run(PY, "-m", "pytest", "-m", "shipped_example", "tests", check=False)
    if code != 0:
        print("python3 dev.py check: the configuration's own checks failed (above)", flush=True)
        return code
    print("python3 dev.py check: the configuration passes check-deploy and its own checks", flush=True)
    return 0


if __name__ == "__main__":
    commands = {"demo": demo, "test": test, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
