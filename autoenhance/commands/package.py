"""`autoenhance package`: build ./build/scf, the directory serverless.yml deploys.

The command's arguments and messages; the build itself is `autoenhance/package.py`.
"""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_FAILED, EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "package",
        help="build ./build/scf, the directory serverless.yml deploys",
        description="Install the function and its pinned runtime dependencies (handler/requirements.txt) "
        "as Linux x86_64 wheels for the SCF runtime, with bytecode compiled by that runtime's own "
        "interpreter, reproducibly.",
    )
    p.add_argument(
        "--no-bytecode",
        action="store_true",
        help="build without .pyc (only when the runtime's interpreter is not installed: cold starts are slower)",
    )
    p.add_argument("--runtime", choices=["Python3.9", "Python3.10"], help="default: inputs.runtime in serverless.yml")
    p.add_argument("--out", default="build/scf", help="output directory (default: build/scf)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from ..package import ROOT, PackageError, build_package, python_version_of

    runtime = args.runtime
    if runtime is None:
        doc = yaml.safe_load((ROOT / "serverless.yml").read_text(encoding="utf-8"))
        runtime = str(((doc or {}).get("inputs") or {}).get("runtime", "Python3.9"))
    try:
        version = python_version_of(runtime)
        report = build_package(Path(args.out), version, bytecode=not args.no_bytecode)
    except PackageError as exc:
        print(f"autoenhance package: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"built {report.path} for {runtime} on Linux x86_64: {report.size_bytes / 1e6:.2f} MB "
        f"in {report.files} files (sha256 {report.digest[:16]})"
    )
    return EXIT_OK
