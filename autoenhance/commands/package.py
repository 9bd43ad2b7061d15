"""`autoenhance package`: check the deploy, then build ./build/scf, the directory serverless.yml deploys.

The command's arguments and messages; the check is `autoenhance/deploy_check.py`, the build
`autoenhance/package.py`.
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import EXIT_FAILED, EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "package",
        help="check the deploy, then build ./build/scf, the directory serverless.yml deploys",
        description="Run check-deploy's checks on serverless.yml, .env and the function's configuration, "
        "then install the function, the files its configuration names and its pinned runtime dependencies "
        "(handler/requirements.txt) as Linux x86_64 wheels for the SCF runtime, with bytecode compiled by "
        "that runtime's own interpreter, reproducibly.",
    )
    p.add_argument(
        "--no-bytecode",
        action="store_true",
        help="build without .pyc (only when the runtime's interpreter is not installed: cold starts are slower)",
    )
    p.add_argument("--runtime", choices=["Python3.9", "Python3.10"], help="default: inputs.runtime in serverless.yml")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: build/scf in the project, which serverless.yml deploys); "
        "only an empty directory or a previous build is replaced",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..deploy_check import check_project
    from ..deploy_config import deployed_variables, inputs_of, load_project, referenced_files
    from ..package import PackageError, build_package, python_version_of

    project = load_project(os.environ)
    check = check_project(project, os.environ, built=False)
    for warning in check.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not check.ok:
        print(
            "autoenhance package: not built, this would not deploy a working function:\n  "
            + "\n  ".join(check.errors)
            + "\n(autoenhance check-deploy runs the same checks)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    deploys = str(inputs_of(project.doc).get("runtime"))
    runtime = args.runtime or deploys
    if runtime != deploys:
        print(f"warning: building for {runtime}, but serverless.yml deploys {deploys}", file=sys.stderr)
    variables, _, _ = deployed_variables(project.doc, project.lookup(os.environ))
    out = Path(args.out) if args.out else project.build_dir
    try:
        report = build_package(
            out,
            python_version_of(runtime),
            bytecode=not args.no_bytecode,
            files=referenced_files(variables, project.root),
            project_root=project.root,
        )
    except PackageError as exc:
        print(f"autoenhance package: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"built {report.path} for {runtime} on Linux x86_64: {report.size_bytes / 1e6:.2f} MB "
        f"in {report.files} files (sha256 {report.digest[:16]})"
    )
    return EXIT_OK
