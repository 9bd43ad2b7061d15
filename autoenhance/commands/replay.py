"""`autoenhance replay`: run the function on COS events exactly as SCF would.

Against the embedded fake MPS by default, the real endpoint with --live, or nothing at all with
--dry-run. What the function returns is read only in `handler_results`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from ..event_files import SourcedEvent, read_events
from ..local.credentials import require_live_credentials
from ..local.fake_cloud import embedded_mps, mirror_event
from ..local.preflight import require_reachable
from .common import EXIT_FAILED, EXIT_OK, UsageError, deployment, print_json, settings
from .handler_results import Tally, describe_invocation, describe_plan, invocation_json, invoke


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replay",
        help="run the function on COS events (embedded fake MPS by default)",
        description="Run main_handler on each event exactly as SCF would. By default against an "
        "embedded fake MPS (no credentials or network needed); --live uses the real endpoint.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="event file, directory of them, '-' for stdin; a file may hold COS events or SCF dead-letter "
        "messages, one JSON value, a JSON array or JSON lines (see README: dead-letter messages)",
    )
    p.add_argument(
        "--live", action="store_true", help="call the real MPS with TENCENTCLOUD_SECRETID/SECRETKEY[/SESSIONTOKEN]"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print each ProcessImage request (with SessionId); send nothing"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="deliver each event N times, as an at-least-once platform would",
    )
    p.add_argument("--json", action="store_true", help="print the function's return values (one JSON per invocation)")
    p.add_argument(
        "--fresh", action="store_true", help="start the embedded fake with no remembered tasks or SessionIds"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    events = read_events(args.paths)
    if args.dry_run:
        return _dry_run(events)
    if args.live:
        require_live_credentials()
        config = settings()  # refuse a bad configuration before sending anything
        require_reachable(config.endpoint.url)  # fail in seconds, not after a minute of retries
        return _invoke_all(events, args.repeat, args.json, "live MPS")
    config = settings()
    with embedded_mps(fresh=args.fresh) as mps:

        def as_cos_had_it(event: Any) -> None:
            mirror_event(mps.cos, event, config)  # the bucket as COS had it when it sent the event

        return _invoke_all(events, args.repeat, args.json, f"embedded fake MPS at {mps.url}", as_cos_had_it)


def _dry_run(events: list[SourcedEvent]) -> int:
    from handler.cos_event import MalformedEventError, parse_records

    config = settings()
    region = os.environ.get("TENCENTCLOUD_REGION")
    failed = False
    for sourced in events:
        try:
            parsed = parse_records(sourced.event, region, config.region_codes)
        except MalformedEventError as exc:
            print(f"{sourced.source}: {exc}")
            failed = True
            continue
        for item in parsed:
            text, plan_failed = describe_plan(item, config)
            print(f"{sourced.source} record {item.position}: {item.bucket}/{item.key}\n{text}")
            failed = failed or plan_failed
    print("dry run: nothing was sent")
    return EXIT_FAILED if failed else EXIT_OK


def _invoke_all(
    events: list[SourcedEvent],
    repeat: int,
    as_json: bool,
    target: str,
    before_delivery: Callable[[Any], None] | None = None,
) -> int:
    from ..local.scf import patched_environ

    env = deployment()  # its notes (unset ${env:...}) are check-config's to show: stderr is the function's log
    # The function reads os.environ: give it serverless.yml's variables the shell does not set itself.
    with patched_environ({k: v for k, v in env.variables.items() if k not in os.environ}):
        return _invoke_each(events, repeat, as_json, target, before_delivery)


def _invoke_each(
    events: list[SourcedEvent],
    repeat: int,
    as_json: bool,
    target: str,
    before_delivery: Callable[[Any], None] | None = None,
) -> int:
    """`before_delivery(event)` runs once per event before its first delivery (redeliveries find the
    bucket as the first one left it)."""
    from handler.index import reset_container

    reset_container()  # a fresh container: cold start on the first invocation
    tally = Tally()
    for sourced in events:
        if before_delivery is not None:
            before_delivery(sourced.event)
        for attempt in range(1, repeat + 1):
            invocation = invoke(sourced.event)
            tally.add(invocation)
            if as_json:
                print_json(invocation_json(invocation))
                continue
            label = sourced.source + (f" (delivery {attempt}/{repeat})" if repeat > 1 else "")
            print(describe_invocation(label, invocation))
    if not as_json:
        print(tally.describe(target))
    return EXIT_FAILED if tally.any_failed else EXIT_OK
