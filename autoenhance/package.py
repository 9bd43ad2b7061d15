"""Build the directory serverless.yml deploys (`src: ./build/scf`): the function and its runtime deps.

- Dependencies come from handler/requirements.txt (the pinned closure), installed as binary
  wheels for SCF's platform (Linux x86_64, the runtime's Python version) whatever machine
  builds it, with --no-deps so nothing unlisted sneaks in.
- Bytecode compiled by the runtime's own interpreter (pyenv's CPython 3.9 or 3.10 here), as
  unchecked-hash .pyc: SCF runs with PYTHONDONTWRITEBYTECODE from a read-only directory, so
  without shipped bytecode every cold start compiles every module; unchecked-hash .pyc are used
  whatever file times SCF's unzip gives (timestamp .pyc with other mtimes count as stale).
  Without that interpreter the build stops and says how to get it; `bytecode=False` (the CLI's
  --no-bytecode) builds without.
- Reproducible: same inputs, same bytes; every file's mtime is pinned so the Framework's zip
  of the directory is reproducible too.
- A one-line index.py at the root: SCF wants the entry file at the package root.
"""

from __future__ import annotations

import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from packaging.specifiers import SpecifierSet

from .runtimes import install_hint, locate_runtime

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "handler" / "requirements.txt"
FIXED_MTIME = 315_532_800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
ENTRY_FILE = '"""SCF entry point (serverless.yml: handler: index.main_handler)."""\n\nfrom handler.index import main_handler  # noqa: F401\n'
SHIPPED_HANDLER_FILES = ("*.py", "mps_schema.json")
EXTRA_FILES = ("image-task.json",)  # MPS_IMAGE_TASK_FILE in serverless.yml; resolved from the code root


class PackageError(RuntimeError):
    pass


class PackageReport(NamedTuple):
    path: Path
    python_version: str
    files: int
    size_bytes: int
    digest: str  # sha256 over every (path, content) pair: equal digests = identical packages


def python_version_of(runtime: str) -> str:
    """'Python3.9' (serverless.yml's runtime) -> '3.9'."""
    if not runtime.startswith("Python3."):
        raise PackageError(f"runtime {runtime!r} is not a Python 3 SCF runtime (Python3.9 or Python3.10)")
    return runtime[len("Python") :]


def tree_digest(path: Path) -> tuple[int, int, str]:
    digest = hashlib.sha256()
    files = size = 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        data = file.read_bytes()
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
        files += 1
        size += len(data)
    return files, size, digest.hexdigest()


def incompatible_distributions(site: Path, python_version: str) -> list[str]:
    """Installed dists whose Requires-Python excludes the runtime (pip --target does not check)."""
    unfit = []
    for metadata in sorted(site.glob("*.dist-info/METADATA")):
        headers = email.parser.Parser().parsestr(metadata.read_text(encoding="utf-8"), headersonly=True)
        spec = headers.get("Requires-Python")
        if spec and not SpecifierSet(spec).contains(python_version + ".0"):
            unfit.append(f"{headers['Name']} {headers['Version']} (Requires-Python {spec})")
    return unfit


def compile_bytecode(tree: Path, python_version: str) -> None:
    """Unchecked-hash .pyc for every module in `tree`, by the runtime's own interpreter, reproducibly."""
    runtime = locate_runtime(python_version)
    if runtime is None:
        raise PackageError(
            f"Python {python_version} (the SCF runtime) is not installed here, and its bytecode must be compiled "
            f"by that interpreter: {install_hint(python_version)}, or pass --no-bytecode to build without "
            "(every cold start then compiles every module)"
        )
    compile_cmd = [
        runtime.executable, "-s", "-m", "compileall", "-q", "-j", "1",
        "--invalidation-mode", "unchecked-hash",
        "-s", str(tree),  # paths in the bytecode relative to the code root, not this machine's
        str(tree),
    ]  # fmt: skip
    # PYTHONHASHSEED fixed: set and frozenset constants are marshalled in hash order.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"}
    result = subprocess.run(compile_cmd, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise PackageError(f"Python {python_version} could not compile the package:\n{result.stdout}{result.stderr}")


def build_package(out: Path, python_version: str = "3.9", bytecode: bool = True) -> PackageReport:
    staging = out.with_name(out.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(staging), "--platform", "manylinux2014_x86_64", "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:", "--no-deps", "--no-compile",
        "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    result = subprocess.run(pip, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackageError(f"pip could not install the runtime dependencies:\n{result.stderr.strip()}")
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: useless in SCF
    unfit = incompatible_distributions(staging, python_version)
    if unfit:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackageError(
            f"these pinned dependencies do not support Python {python_version} (Requires-Python): "
            + ", ".join(unfit)
            + "; pin versions that do in handler/requirements.txt"
        )

    handler = staging / "handler"
    handler.mkdir()
    for pattern in SHIPPED_HANDLER_FILES:
        for src in sorted((ROOT / "handler").glob(pattern)):
            shutil.copyfile(src, handler / src.name)
    for name in EXTRA_FILES:
        shutil.copyfile(ROOT / name, staging / name)
    (staging / "index.py").write_text(ENTRY_FILE, encoding="utf-8")

    for p in list(staging.rglob("__pycache__")):
        shutil.rmtree(p)
    if bytecode:
        try:
            compile_bytecode(staging, python_version)
        except PackageError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    for p in [*staging.rglob("*"), staging]:
        os.utime(p, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)

    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    files, size, digest = tree_digest(out)
    return PackageReport(out, python_version, files, size, digest)
