"""`autoenhance replay`: run the function on COS events exactly as SCF would.

Against the embedded fake MPS by default, the real endpoint with --live, or nothing at all with
--dry-run. What the function returns is read only in `handler_results`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ..event_files import SourcedEvent, read_events
from ..local.fake_cloud import mirror_event
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, deployment, mps_target, print_json, settings
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
        "messages, one JSON value, a JSON array or JSON lines (see docs/operations.md: dead letters)",
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
    with mps_target(args.live, fresh=args.fresh) as mps:
        if mps.embedded is None:
            return _invoke_all(events, args.repeat, args.json, mps.name)
        fake_cos, config = mps.embedded.cos, settings()

        def as_cos_had_it(event: Any) -> None:
            mirror_event(fake_cos, event, config)  # the bucket as COS had it when it sent the event

        return _invoke_all(events, args.repeat, args.json, mps.name, as_cos_had_it)


def _dry_run(events: list[SourcedEvent]) -> int:
    from handler.cos_event import parse_records
    from handler.errors import MalformedEventError

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
    # The function reads os.environ: give it serverless.yml's variables the shell does not set itself,
    # and hide the shell's variables the deployed function would never see (check-config notes them).
    hidden = {k: os.environ.pop(k) for k in env.ignored if k in os.environ}
    try:
        with patched_environ({k: v for k, v in env.variables.items() if k not in os.environ}):
            return _invoke_each(events, repeat, as_json, target, before_delivery)
    finally:
        os.environ.update(hidden)


def _invoke_each(
    events: list[SourcedEvent],
    repeat: int,
    as_json: bool,
    target: str,
    before_delivery: Callable[[Any], None] | None = None,
) -> int:
    """`before_delivery(event)` runs once per event before its first delivery (redeliveries find the
    bucket as the first one left it).

    The first Ctrl-C stops the invocation as running out of time would: no call starts, the calls in
    flight end, every record gets its line (those never sent failed Interrupted); no event is
    delivered after it."""
    from handler.index import container, reset_container
    from handler.runtime import Runtime

    from ..local.interrupt import CtrlC

    ctrl_c = CtrlC("replay", lambda: getattr(container(), "calls_in_flight", 0), settings().http_timeout)
    # a fresh container (cold start on the first invocation) that stops at Ctrl-C
    reset_container(Runtime(stopping=ctrl_c.stopping, sleep=ctrl_c.sleep))
    tally = Tally()
    try:
        with ctrl_c:
            _deliver(events, repeat, as_json, tally, ctrl_c.stopping, before_delivery)
    finally:
        reset_container()  # later containers in this process run on the real runtime
    if not as_json:
        print(tally.describe(target))
    if ctrl_c.requested:
        print(
            "autoenhance replay: interrupted: records never sent are logged as failed Interrupted; "
            "no later event was delivered. Replay the events to send them (SessionId keeps that safe)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_FAILED if tally.any_failed else EXIT_OK


def _deliver(
    events: list[SourcedEvent],
    repeat: int,
    as_json: bool,
    tally: Tally,
    stopping: Callable[[], bool],
    before_delivery: Callable[[Any], None] | None,
) -> None:
    for sourced in events:
        if stopping():
            return
        if before_delivery is not None:
            before_delivery(sourced.event)
        for attempt in range(1, repeat + 1):
            if stopping():
                return
            invocation = invoke(sourced.event)
            tally.add(invocation)
            if as_json:
                print_json(invocation_json(invocation))
                continue
            label = sourced.source + (f" (delivery {attempt}/{repeat})" if repeat > 1 else "")
            print(describe_invocation(label, invocation))
