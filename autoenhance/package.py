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
- Reproducible whoever builds it: the RECORD files list no console scripts (their first line is
  the builder's interpreter path, and `bin/` is deleted anyway).
- A one-line index.py at the root: SCF wants the entry file at the package root.
- Every file the configuration names (MPS_IMAGE_TASK_FILE) is shipped at the same relative path,
  and `.autoenhance-package.json` records what the build was made from, so `check-deploy` can
  tell a stale build and `package` never deletes a directory it did not build.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from packaging.specifiers import SpecifierSet

from .runtimes import install_hint, locate_runtime

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "handler" / "requirements.txt"
FIXED_MTIME = 315_532_800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
ENTRY_FILE = '"""SCF entry point (serverless.yml: handler: index.main_handler)."""\n\nfrom handler.index import main_handler  # noqa: F401\n'
SHIPPED_HANDLER_FILES = ("*.py", "mps_schema.json")
MARKER = ".autoenhance-package.json"


class PackageError(RuntimeError):
    pass


class BuildMarker(NamedTuple):
    """What a build was made from; its presence is what lets the next build replace the directory."""

    runtime: str  # 'Python3.9'
    sources: str  # source_digest() of the code and configuration files at build time
    bytecode: bool

    @classmethod
    def read(cls, build: Path) -> BuildMarker | None:
        try:
            data = json.loads((build / MARKER).read_text(encoding="utf-8"))
            return cls(str(data["runtime"]), str(data["sources"]), bool(data["bytecode"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, build: Path) -> None:
        text = json.dumps(self._asdict(), indent=1, sort_keys=True) + "\n"
        (build / MARKER).write_text(text, encoding="utf-8")


def handler_sources() -> list[Path]:
    return [src for pattern in SHIPPED_HANDLER_FILES for src in sorted((ROOT / "handler").glob(pattern))]


def source_digest(project_root: Path, files: list[str]) -> str:
    """sha256 over the shipped code, the pins and the configuration's files: equal = the build is current."""
    digest = hashlib.sha256()
    named = [(f"handler/{p.name}", p) for p in [*handler_sources(), REQUIREMENTS]]
    named += [(relative, project_root / relative) for relative in sorted(set(files))]
    for name, path in named:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"<missing>"
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def check_replaceable(out: Path, protected: list[Path]) -> None:
    """Refuse to build into `out` unless it is absent, empty, or a previous build: never delete anything else."""
    target = out.resolve()
    for place in protected:
        place = place.resolve()
        if target == place or place.is_relative_to(target):
            raise PackageError(
                f"refusing to build into {out}: it holds {place}; choose a new directory such as build/scf"
            )
    if target == Path(target.anchor) or target == Path.home().resolve():
        raise PackageError(f"refusing to build into {out}")
    if target.exists() and not target.is_dir():
        raise PackageError(f"refusing to build into {out}: it is a file")
    if target.is_dir() and any(target.iterdir()) and BuildMarker.read(target) is None:
        raise PackageError(
            f"refusing to replace {out}: it is not a package built by `autoenhance package` (no {MARKER}); "
            "remove it yourself or choose another --out"
        )


def drop_scripts_from_records(site: Path) -> None:
    """Remove the deleted console scripts' lines from each RECORD (they hash the builder's interpreter path)."""
    for record in sorted(site.glob("*.dist-info/RECORD")):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.split(",", 1)[0].replace("\\", "/").lstrip("./").split("/")[0] != "bin"]
        record.write_text("".join(kept), encoding="utf-8")


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
        mode = f"{file.stat().st_mode & 0o777:o}".encode()  # two trees differing only in modes differ
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + mode + b"\0" + hashlib.sha256(data).digest())
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


def build_package(
    out: Path,
    python_version: str = "3.9",
    bytecode: bool = True,
    files: list[str] | None = None,
    project_root: Path = ROOT,
    protected: list[Path] | None = None,
) -> PackageReport:
    """Build into `out`; `files` (relative to `project_root`) are the configuration's, shipped alongside the code."""
    files = ["image-task.json"] if files is None else files
    check_replaceable(out, [ROOT, project_root, Path.cwd(), *(protected or [])])
    out.parent.mkdir(parents=True, exist_ok=True)
    # A fresh directory of our own next to `out` (same file system, so the final rename is atomic):
    # a fixed name such as DIR.staging could be someone's directory, file or link.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        _fill(staging, python_version, bytecode, files, project_root)
        if out.exists():
            shutil.rmtree(out)  # a previous build: check_replaceable refused anything else
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    count, size, digest = tree_digest(out)
    return PackageReport(out, python_version, count, size, digest)


def _fill(staging: Path, python_version: str, bytecode: bool, files: list[str], project_root: Path) -> None:
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(staging), "--platform", "manylinux2014_x86_64", "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:", "--no-deps", "--no-compile",
        "-r", str(REQUIREMENTS),
    ]  # fmt: skip
    result = subprocess.run(pip, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageError(f"pip could not install the runtime dependencies:\n{result.stderr.strip()}")
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: useless in SCF
    drop_scripts_from_records(staging)
    unfit = incompatible_distributions(staging, python_version)
    if unfit:
        raise PackageError(
            f"these pinned dependencies do not support Python {python_version} (Requires-Python): "
            + ", ".join(unfit)
            + "; pin versions that do in handler/requirements.txt"
        )

    handler = staging / "handler"
    handler.mkdir()
    for src in handler_sources():
        shutil.copyfile(src, handler / src.name)
    for relative in files:
        target = staging / relative
        if target.exists():
            raise PackageError(f"{relative!r} (named by the configuration) would replace a file of the package itself")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(project_root / relative, target)
        except OSError as exc:
            raise PackageError(f"cannot ship {relative!r}, which the configuration names: {exc.strerror}") from None
    (staging / "index.py").write_text(ENTRY_FILE, encoding="utf-8")
    BuildMarker(f"Python{python_version}", source_digest(project_root, files), bytecode).write(staging)

    for p in list(staging.rglob("__pycache__")):
        shutil.rmtree(p)
    if bytecode:
        compile_bytecode(staging, python_version)
    # The same tree whoever builds it: modes do not follow the builder's umask (a 077 umask would
    # ship files SCF's runtime user cannot read), and times are fixed.
    for p in [*staging.rglob("*"), staging]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
        os.utime(p, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
