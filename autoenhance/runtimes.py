"""Find the interpreter of an SCF Python runtime on this machine (stdlib only).

`autoenhance package` compiles the package's bytecode with the runtime's own interpreter, and the
test suite runs the built package under it. SCF offers Python3.9 and Python3.10; on a development
or CI machine they come from pyenv. `$AUTOENHANCE_SCF_PYTHON_3_9` (or `_3_10`) names one
explicitly; otherwise `pyenv prefix`, the pyenv versions directory and `python3.9` on PATH are
tried, each candidate verified by running it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# SCF's Python runtimes -> the CPython release to install when one is missing.
SCF_RUNTIMES = {"3.9": "3.9.18", "3.10": "3.10.13"}


class RuntimeNotFound(RuntimeError):
    """An SCF runtime's interpreter is not installed on this machine."""


def runtime_env_var(version: str) -> str:
    """The variable that names an interpreter explicitly: AUTOENHANCE_SCF_PYTHON_3_9."""
    return "AUTOENHANCE_SCF_PYTHON_" + version.replace(".", "_")


@dataclass(frozen=True)
class ScfRuntime:
    version: str  # "3.9"
    executable: str  # the real interpreter (never a pyenv shim)
    full_version: str  # "3.9.18"

    @property
    def version_info(self) -> tuple[int, int]:
        major, minor = self.version.split(".")
        return int(major), int(minor)


def install_hint(version: str) -> str:
    """How to get the interpreter: what an error about a missing runtime says."""
    explicit = os.environ.get(runtime_env_var(version))
    if explicit:
        return f"{runtime_env_var(version)}={explicit} is not a working python{version}"
    return f"install with pyenv install {SCF_RUNTIMES[version]}"


def _version_key(path: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", Path(path).parent.parent.name)
    return tuple(int(n) for n in numbers)


def _candidates(version: str) -> Iterable[str]:
    explicit = os.environ.get(runtime_env_var(version))
    if explicit:
        yield explicit
        return  # an explicit choice is the only one: never silently test another interpreter
    name = f"python{version}"
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            prefix = subprocess.run(
                [pyenv, "prefix", version], capture_output=True, text=True, timeout=30, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            prefix = ""
        for line in prefix.splitlines():
            yield os.path.join(line, "bin", name)
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for root in dict.fromkeys(r for r in roots if r):
        found = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", name))
        yield from sorted(found, key=_version_key, reverse=True)
    on_path = shutil.which(name)  # possibly a pyenv shim: the probe below resolves it
    if on_path:
        yield on_path


_PROBE = "import sys, platform; print(sys.executable); print(platform.python_version())"


def _probe(executable: str, version: str) -> ScfRuntime | None:
    try:
        run = subprocess.run(
            [executable, "-I", "-B", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = run.stdout.split()
    if run.returncode != 0 or len(lines) != 2:
        return None
    real, full = lines
    if full.split(".")[:2] != version.split("."):
        return None
    return ScfRuntime(version, real, full)


_found: dict[str, ScfRuntime | None] = {}


def locate_runtime(version: str) -> ScfRuntime | None:
    """The interpreter for this SCF runtime, or None."""
    if version not in SCF_RUNTIMES:
        raise ValueError(f"{version!r} is not an SCF Python runtime ({', '.join(SCF_RUNTIMES)})")
    if version not in _found:
        _found[version] = next((r for c in _candidates(version) if (r := _probe(c, version))), None)
    return _found[version]
