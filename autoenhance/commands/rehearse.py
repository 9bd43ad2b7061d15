"""`autoenhance rehearse`: run Tencent's own deploy code for serverless.yml against a fake cloud.

The pinned tencent-component-toolkit (deploy/toolkit/) deploys build/scf with serverless.yml's
inputs into local fakes of SCF and COS; the command shows the function and trigger it created,
checks them against the project, then uploads a sample image and shows the MPS task the deployed
function submitted. The engine is autoenhance/rehearse/; docs/deploying-rehearsal.md says what
it proves and what only the real cloud can.
"""

from __future__ import annotations

import argparse
import os


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "rehearse",
        help="run the real deploy code against a fake cloud: what scf deploy would create, and that it works",
        description="Run Tencent's deploy toolkit (pinned in deploy/toolkit, installed with npm ci on first use; "
        "needs Node.js) with serverless.yml's inputs and build/scf against local fakes of SCF and COS. Shows the "
        "function and trigger as created, checks them against the configuration, then uploads a sample image and "
        "shows the MPS task the deployed function submits. The fake cloud is kept in the state directory: run it "
        "again to see what a redeploy changes. Exit 0 when everything works as configured, 1 otherwise.",
    )
    p.add_argument("--fresh", action="store_true", help="start from an empty fake cloud (a first deploy)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..rehearse import rehearse

    return rehearse(os.environ, fresh=args.fresh)


if __name__ == "__main__":  # until autoenhance/cli.py lists this command: python -m autoenhance.commands.rehearse
    import sys

    parser = argparse.ArgumentParser(prog="autoenhance")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["rehearse", *sys.argv[1:]])
    sys.exit(parsed.run(parsed))
