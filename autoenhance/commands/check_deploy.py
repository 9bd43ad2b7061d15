"""`autoenhance check-deploy`: would `scf deploy` work, as far as can be known offline?

Checks serverless.yml against the `scf` component's inputs, that every ${env:...} resolves from
the shell or .env, the trigger, role, dead-letter queue, memory and timeout, the function's own
configuration (as check-config), the files it names, and that build/scf is a current build. The
rules are `autoenhance/deploy_check.py`'s.
"""

from __future__ import annotations

import argparse
import os

from .common import EXIT_FAILED, EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-deploy",
        help="check serverless.yml, .env, the configuration and build/scf before scf deploy",
        description="Check serverless.yml against the scf component's documented inputs, that every ${env:...} "
        "resolves (from the shell or .env), the COS trigger, role, dead-letter queue, memory and timeout, "
        "the function's configuration, the files it names, and that build/scf is current. "
        "Exit 0 only when a deploy can succeed as far as can be known offline.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..deploy_check import check_project
    from ..deploy_config import load_project

    project = load_project(os.environ)
    check = check_project(project, os.environ)
    print(f"checked {project.serverless_yml}" + (" with .env" if project.dotenv else " (no .env)"))
    for error in check.errors:
        print(f"error: {error}")
    for warning in check.warnings:
        print(f"warning: {warning}")
    if check.ok:
        print(
            "deploy check OK: scf deploy can go ahead"
            + (f" ({len(check.warnings)} warning(s))" if check.warnings else "")
        )
        return EXIT_OK
    print(f"deploy check FAILED: {len(check.errors)} error(s)")
    return EXIT_FAILED
