"""`autoenhance status`: show an MPS task (DescribeImageTaskDetail), optionally until it finishes.

Asks the embedded fake MPS by default (it remembers the tasks `replay` created), the real
endpoint with --live.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from handler.config import Settings

from ..local.credentials import environment_credentials
from .common import EXIT_FAILED, EXIT_OK, mps_region, mps_target, settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "status",
        help="show an MPS task (DescribeImageTaskDetail)",
        description="Show a task's status and outputs; --wait polls until FINISH.",
    )
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--live", action="store_true", help="ask the real MPS (credentials from the environment)")
    p.add_argument("--wait", action="store_true", help="poll until the task finishes")
    p.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with mps_target(args.live):
        return _status(args)


def _describe(task_id: str, config: Settings) -> dict[str, Any]:
    from handler.mps_client import MpsApi

    creds = environment_credentials()
    api = MpsApi(config.endpoint, mps_region(config), creds, config.http_timeout)
    return api.call("DescribeImageTaskDetail", {"TaskId": task_id}, creds, config.http_timeout)


def _show_task(task_id: str, detail: dict[str, Any], local: bool = False) -> None:
    print(
        f"Task {task_id}: {detail.get('Status')}  created {detail.get('CreateTime') or '-'}  finished {detail.get('FinishTime') or '-'}"
    )
    if detail.get("ErrMsg") or detail.get("Message"):
        print(f"  error: {detail.get('ErrMsg')} {detail.get('Message')}".rstrip())
    for result in detail.get("ImageProcessTaskResultSet") or []:
        output = result.get("Output") or {}
        storage = (output.get("OutputStorage") or {}).get("CosOutputStorage") or {}
        where = f"{storage.get('Bucket', '?')}:{output.get('Path', '?')}" if output else "-"
        err = f"  error: {result.get('ErrMsg')} {result.get('Message')}".rstrip() if result.get("ErrMsg") else ""
        print(f"  output {where}  {result.get('Status')} {result.get('Progress', '')}%{err}")
        kept = _local_file(storage.get("Bucket"), output.get("Path")) if local and output else None
        if kept is not None:
            print(f"  local file {kept}")


def _local_file(bucket: Any, path: Any) -> Any:
    """The embedded fake's output file, when the fake MPS wrote one with image bytes (None: none)."""
    from ..local.bucket_files import local_file

    if not isinstance(bucket, str) or not isinstance(path, str):
        return None
    found = local_file(bucket, path)
    return found if found is not None and found.is_file() else None


def _status(args: argparse.Namespace) -> int:
    from handler.errors import MpsCallError

    config = settings()
    last = None
    spinner = "|/-\\"
    tick = 0
    while True:
        try:
            detail = _describe(args.task_id, config)
        except MpsCallError as exc:
            if last is not None and sys.stdout.isatty():
                print()
            print(f"Task {args.task_id}: {exc.code}: {exc.message}")
            return EXIT_FAILED
        status = detail.get("Status")
        if not args.wait or status == "FINISH":
            if last is not None and sys.stdout.isatty():
                print()
            _show_task(args.task_id, detail, local=not args.live)
            failed = bool(detail.get("ErrMsg")) or any(
                r.get("Status") == "FAIL" for r in detail.get("ImageProcessTaskResultSet") or []
            )
            return EXIT_FAILED if failed else EXIT_OK
        if status != last:
            print(("\n" if last is not None and sys.stdout.isatty() else "") + f"{status}", end="", flush=True)
            if not sys.stdout.isatty():
                print()
            last = status
        elif sys.stdout.isatty():
            print(f"\r{status} {spinner[tick % 4]}", end="", flush=True)
        tick += 1
        time.sleep(args.interval)
