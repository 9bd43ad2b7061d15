"""`autoenhance`: try the function on a laptop, before and after deploying it.

Exit codes: 0 success, 1 when any record failed (or the task failed), 2 usage/configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any

from handler.config import ConfigurationError, Settings, load_settings

from .embedded import MissingCredentialsError, embedded_mps, require_live_credentials, scf_context
from .event_files import EventFileError, read_events

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _settings() -> Settings:
    return load_settings(os.environ)


# -- replay ------------------------------------------------------------------------------------


def _row(result: dict[str, Any]) -> str:
    obj = f"{result.get('bucket') or '?'}/{result.get('key') or '?'}"
    outcome = result["outcome"]
    if outcome == "submitted":
        detail = f"TaskId {result['task_id']}"
    elif outcome in ("skipped", "duplicate"):
        detail = result.get("reason") or ""
    else:
        detail = f"{result.get('error_code')}: {result.get('error')}"
    latency = f"{result['latency_ms']:.0f} ms" if result.get("latency_ms") is not None else "-"
    return f"  {outcome:<10} {obj}\n             session {result.get('session_id') or '-'}  {latency}\n             {detail}"


def _dry_run(events: list[Any]) -> int:
    from handler.cos_event import MalformedEventError, parse_records
    from handler.request import plan_record

    settings = _settings()
    region = os.environ.get("TENCENTCLOUD_REGION")
    failed = False
    for sourced in events:
        try:
            parsed = parse_records(sourced.event, region, settings.region_codes)
        except MalformedEventError as exc:
            print(f"{sourced.source}: {exc}")
            failed = True
            continue
        for item in parsed:
            plan = plan_record(item, settings)
            label = f"{sourced.source} record {item.position}: {item.bucket}/{item.key}"
            if plan.action == "submit":
                print(f"{label}\n  would call ProcessImage with:")
                print("  " + json.dumps(plan.params, ensure_ascii=False, indent=2).replace("\n", "\n  "))
            elif plan.action == "skipped":
                print(f"{label}\n  skipped: {plan.reason}")
            else:
                failed = True
                print(f"{label}\n  failed: {plan.error_code}: {plan.error}")
    print("dry run: nothing was sent")
    return EXIT_FAILED if failed else EXIT_OK


def _invoke_all(events: list[Any], repeat: int, as_json: bool, target: str) -> int:
    from handler.cos_event import MalformedEventError
    from handler.index import RecordsNotSubmittedError, main_handler, reset_container

    reset_container()  # a fresh container: cold start on the first invocation
    totals = {"submitted": 0, "duplicate": 0, "skipped": 0, "failed": 0}
    invocations = failures = 0
    for sourced in events:
        for attempt in range(1, repeat + 1):
            invocations += 1
            label = sourced.source + (f" (delivery {attempt}/{repeat})" if repeat > 1 else "")
            error = None
            with contextlib.redirect_stdout(sys.stderr):  # the function's JSON log lines
                try:
                    summary = main_handler(sourced.event, scf_context(sourced.event))
                except RecordsNotSubmittedError as exc:
                    summary, error = exc.summary, str(exc)
                except MalformedEventError as exc:
                    summary, error = {"records": 0, "results": []}, str(exc)
            failures += error is not None
            for key in totals:
                totals[key] += summary.get(key, 0)
            if as_json:
                _print_json({**summary, "invocation_error": error} if error else summary)
                continue
            print(f"{label}: {summary.get('records', 0)} record(s)")
            for result in summary.get("results", []):
                print(_row(result))
            if error:
                print(f"  invocation failed: {error}")
    if not as_json:
        counts = ", ".join(f"{v} {k}" for k, v in totals.items())
        print(f"{invocations} invocation(s), {sum(totals.values())} record(s): {counts} [{target}]")
    return EXIT_FAILED if failures or totals["failed"] else EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    events = read_events(args.paths)
    if args.dry_run:
        return _dry_run(events)
    if args.live:
        require_live_credentials()
        _settings()  # refuse a bad configuration before sending anything
        return _invoke_all(events, args.repeat, args.json, "live MPS")
    _settings()
    with embedded_mps(fresh=args.fresh) as server:
        return _invoke_all(events, args.repeat, args.json, f"embedded fake MPS at {server.url}")


# -- generate-event ----------------------------------------------------------------------------


def cmd_generate_event(args: argparse.Namespace) -> int:
    from handler.regions import RegionError, full_region_for

    from .cos_events import cos_event, cos_record, split_bucket

    try:
        split_bucket(args.bucket)
        region = full_region_for(args.region)
    except (ValueError, RegionError) as exc:
        raise UsageError(str(exc)) from None
    if args.records < 1 or args.size < 0:
        raise UsageError("--records must be at least 1 and --size non-negative")
    key = args.key.lstrip("/")
    now = int(time.time())
    keys = [key] if args.records == 1 else [_numbered(key, i) for i in range(1, args.records + 1)]
    event = cos_event([cos_record(args.bucket, region, k, args.event, args.size, now + i) for i, k in enumerate(keys)])
    text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out} ({args.records} record(s))", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _numbered(key: str, i: int) -> str:
    stem, dot, ext = key.rpartition(".")
    return f"{stem}-{i:04d}.{ext}" if dot and "/" not in ext else f"{key}-{i:04d}"


# -- check-config ------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    s = _settings()
    task = {"Definition": s.definition} if s.definition is not None else {"ImageTask": s.image_task}
    print("Task:            " + json.dumps(task, ensure_ascii=False))
    same_bucket = "(the uploaded object's own bucket)"
    print(f"Output bucket:   {s.output_bucket or same_bucket}")
    print(f"Output region:   {s.output_region or '(the input region)'}")
    print(f"Output dir:      {s.output_dir}<input directory>/" + (f"  path: {s.output_path}" if s.output_path else ""))
    print(f"Skipped as own output: keys under /{s.output_guard_prefix} in the output bucket")
    print(f"Image extensions: {', '.join(sorted(s.extensions))}")
    print(
        f"MPS endpoint:    {s.endpoint.url}  region: {s.mps_region or '(function region)'}  timeout: {s.http_timeout:g} s"
    )
    print(f"Task fingerprint (part of every SessionId): {s.fingerprint}")
    warnings = list(s.warnings)
    if s.output_bucket is None and (s.trigger_prefix is None or s.output_guard_prefix.startswith(s.trigger_prefix)):
        warnings.append(
            f"outputs under /{s.output_guard_prefix} are in the watched bucket"
            + ("" if s.trigger_prefix is None else f" and inside TRIGGER_PREFIX={s.trigger_prefix!r}")
            + ": each output re-triggers the function, which skips it (one wasted invocation per image). "
            "Give the COS trigger a prefix filter that excludes the output directory (and set TRIGGER_PREFIX "
            "to the same value), or write to another OUTPUT_BUCKET"
        )
    for w in warnings:
        print(f"warning: {w}")
    print("configuration OK")
    return EXIT_OK


# -- status ------------------------------------------------------------------------------------


def _describe(task_id: str, settings: Settings) -> dict[str, Any]:
    from handler.index import read_credentials
    from handler.mps_client import MpsApi

    creds = read_credentials(os.environ)
    if creds is None:
        raise MissingCredentialsError("TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY are not set")
    region = settings.mps_region or os.environ.get("TENCENTCLOUD_REGION") or "ap-guangzhou"
    api = MpsApi(settings.endpoint, region, creds, settings.http_timeout)
    return api.call("DescribeImageTaskDetail", {"TaskId": task_id}, creds, settings.http_timeout)


def _show_task(task_id: str, detail: dict[str, Any]) -> None:
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


def _status(args: argparse.Namespace) -> int:
    from handler.mps_client import MpsCallError

    settings = _settings()
    last = None
    spinner = "|/-\\"
    tick = 0
    while True:
        try:
            detail = _describe(args.task_id, settings)
        except MpsCallError as exc:
            if last is not None and sys.stdout.isatty():
                print()
            print(f"Task {args.task_id}: {exc.code}: {exc.message}")
            return EXIT_FAILED
        status = detail.get("Status")
        if not args.wait or status == "FINISH":
            if last is not None and sys.stdout.isatty():
                print()
            _show_task(args.task_id, detail)
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


def cmd_status(args: argparse.Namespace) -> int:
    if args.live:
        require_live_credentials()
        return _status(args)
    with embedded_mps():
        return _status(args)


# -- backfill ----------------------------------------------------------------------------------


def _cos_client_factory(region: str, live: bool, server: Any = None) -> Any:
    from urllib.parse import urlsplit

    from qcloud_cos import CosConfig, CosS3Client

    from .embedded import FAKE_COS_SECRET_ID, FAKE_COS_SECRET_KEY

    conf: dict[str, Any]
    if not live:
        conf = {
            "Region": region,
            "IP": server.ip,
            "Port": server.port,
            "Scheme": "http",
            "SecretId": FAKE_COS_SECRET_ID,
            "SecretKey": FAKE_COS_SECRET_KEY,
        }
    else:
        conf = {
            "Region": region,
            "SecretId": os.environ["TENCENTCLOUD_SECRETID"],
            "SecretKey": os.environ["TENCENTCLOUD_SECRETKEY"],
            "Token": os.environ.get("TENCENTCLOUD_SESSIONTOKEN"),
        }
        endpoint = os.environ.get("COS_ENDPOINT")  # e.g. http://127.0.0.1:9100, a local fake
        if endpoint:
            parts = urlsplit(endpoint)
            conf.update(IP=parts.hostname, Port=parts.port, Scheme=parts.scheme)

    def make() -> Any:
        return CosS3Client(CosConfig(**conf), retry=1)

    return make


def _run_backfill(args: argparse.Namespace, region: str, since: Any, server: Any = None) -> int:
    from pathlib import Path

    from handler.index import read_credentials
    from handler.mps_client import MpsApi

    from .backfill import Backfill, BackfillOptions, progress_printer

    settings = _settings()
    creds = read_credentials(os.environ)
    mps_region = settings.mps_region or region
    checkpoint = Path(args.resume or args.checkpoint or f"backfill-{args.bucket}.checkpoint.json")
    options = BackfillOptions(
        bucket=args.bucket,
        region=region,
        prefix=args.prefix,
        suffixes=tuple(args.suffix or ()),
        since=since,
        dry_run=args.dry_run,
        force=args.force,
        rate=args.rate,
        workers=args.workers,
        checkpoint=checkpoint,
        resume=bool(args.resume),
        report=Path(args.report) if args.report else None,
    )
    try:
        job = Backfill(
            options,
            settings,
            _cos_client_factory(region, args.live, server),
            lambda: MpsApi(settings.endpoint, mps_region, creds, settings.http_timeout),
            creds,
            progress_printer(sys.stderr),
        )
    except ValueError as exc:  # an unusable checkpoint
        raise UsageError(str(exc)) from None
    summary = job.run()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    c = summary["counts"]
    kinds = ["submitted", "duplicate", "skipped", "failed"] + (["would-submit"] if args.dry_run else [])
    print(
        f"backfill {args.bucket}/{args.prefix}: listed {summary['listed']}, "
        + ", ".join(f"{c.get(k, 0)} {k}" for k in kinds)
    )
    print(
        f"  {summary['submitted_per_s']:.1f} submitted/s over {summary['elapsed_s']:.1f} s; "
        f"throttled {summary['throttled']} time(s); output-exists check: {summary['output_check']}"
    )
    print(f"  checkpoint: {summary['checkpoint']}" + (f"; report: {args.report}" if args.report else ""))
    if summary["interrupted"]:
        print(f"  interrupted: resume with --resume {summary['checkpoint']}")
        return 130
    return EXIT_FAILED if c.get("failed") else EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    import datetime as dt

    from handler.regions import RegionError, full_region_for

    from .cos_events import split_bucket

    try:
        split_bucket(args.bucket)
        region = full_region_for(args.region)
    except (ValueError, RegionError) as exc:
        raise UsageError(str(exc)) from None
    try:
        since = dt.datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise UsageError(f"--since {args.since!r} is not an ISO 8601 date or time (e.g. 2026-01-31)") from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.timezone.utc)
    if args.rate <= 0 or args.workers < 1:
        raise UsageError("--rate must be positive and --workers at least 1")
    if args.resume and not os.path.exists(args.resume):
        raise UsageError(f"--resume {args.resume}: no such checkpoint file")
    from qcloud_cos.cos_exception import CosClientError, CosServiceError

    try:
        return _backfill_target(args, region, since)
    except CosServiceError as exc:
        print(
            f"autoenhance backfill: COS answered {exc.get_status_code()} {exc.get_error_code()}: "
            f"{exc.get_error_msg()} (bucket {args.bucket}, region {region})",
            file=sys.stderr,
        )
    except CosClientError as exc:
        print(f"autoenhance backfill: cannot reach COS: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _backfill_target(args: argparse.Namespace, region: str, since: Any) -> int:
    if args.live:
        require_live_credentials()
        return _run_backfill(args, region, since)
    _settings()
    from .embedded import embedded_cos

    with embedded_mps() as mps, embedded_cos(args.bucket, region, args.prefix, args.demo_objects) as cos:
        print(
            f"embedded fakes: MPS {mps.url}, COS {cos.url} holding {args.demo_objects} demo objects "
            "(use --live for your real bucket)",
            file=sys.stderr,
        )
        return _run_backfill(args, region, since, cos)


# -- package -----------------------------------------------------------------------------------


def cmd_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from .package import ROOT, PackageError, build_package, python_version_of

    runtime = args.runtime
    if runtime is None:
        doc = yaml.safe_load((ROOT / "serverless.yml").read_text(encoding="utf-8"))
        runtime = str(((doc or {}).get("inputs") or {}).get("runtime", "Python3.9"))
    try:
        version = python_version_of(runtime)
        report = build_package(Path(args.out), version)
    except PackageError as exc:
        print(f"autoenhance package: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"built {report.path} for {runtime} on Linux x86_64: {report.size_bytes / 1e6:.2f} MB "
        f"in {report.files} files (sha256 {report.digest[:16]})"
    )
    return EXIT_OK


# -- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoenhance", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "replay",
        help="run the function on COS events (embedded fake MPS by default)",
        description="Run main_handler on each event exactly as SCF would. By default against an "
        "embedded fake MPS (no credentials or network needed); --live uses the real endpoint.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="event file, directory of them, '-' for stdin, or a JSON-lines file (dead-letter export)",
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
    p.set_defaults(run=cmd_replay)

    p = sub.add_parser(
        "generate-event",
        help="write a real-shaped COS trigger event",
        description="Write a COS trigger event shaped like a real one (short region code, "
        "/appid/name/key, percent-encoded url, epoch eventTime, placeholder Authorization).",
    )
    p.add_argument("--bucket", required=True, help="full bucket name NAME-APPID, e.g. photos-1250000000")
    p.add_argument("--region", required=True, help="bucket region, e.g. ap-guangzhou")
    p.add_argument("--key", required=True, help="object key, e.g. uploads/cat.jpg (raw, not percent-encoded)")
    p.add_argument("--event", choices=["put", "post", "copy", "multipart", "delete"], default="put")
    p.add_argument("--size", type=int, default=245_760, help="object size in bytes")
    p.add_argument("--records", type=int, default=1, metavar="N", help="N records (keys numbered -0001, -0002, ...)")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(run=cmd_generate_event)

    p = sub.add_parser(
        "check-config",
        help="load and validate the configuration the function will use",
        description="Load the configuration from the environment exactly as the function does, "
        "print the effective task, output location and filters, and warn about loops.",
    )
    p.set_defaults(run=cmd_check_config)

    p = sub.add_parser(
        "status",
        help="show an MPS task (DescribeImageTaskDetail)",
        description="Show a task's status and outputs; --wait polls until FINISH.",
    )
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--live", action="store_true", help="ask the real MPS (credentials from the environment)")
    p.add_argument("--wait", action="store_true", help="poll until the task finishes")
    p.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_status)

    p = sub.add_parser(
        "backfill",
        help="enhance the images already in a bucket (resumable, rate-paced)",
        description="List the bucket page by page and submit every image the function would "
        "submit, with the same filters, mapping, loop guard and configuration, at MPS's rate "
        "limit, skipping objects whose output exists. Embedded fakes by default; --live for real.",
    )
    p.add_argument("--bucket", required=True, help="full bucket name NAME-APPID")
    p.add_argument("--region", required=True, help="the bucket's region, e.g. ap-guangzhou")
    p.add_argument("--prefix", default="", help="only keys under this prefix")
    p.add_argument(
        "--suffix", action="append", metavar="S", help="only keys ending with S (repeatable; case-sensitive)"
    )
    p.add_argument("--since", metavar="DATE", help="only objects modified at or after DATE (ISO 8601, UTC if no zone)")
    p.add_argument("--dry-run", action="store_true", help="list and decide, submit nothing")
    p.add_argument("--force", action="store_true", help="submit even when the output already exists")
    p.add_argument(
        "--checkpoint", metavar="FILE", help="where to keep progress (default backfill-BUCKET.checkpoint.json)"
    )
    p.add_argument(
        "--resume", metavar="FILE", help="continue from this checkpoint without resubmitting finished objects"
    )
    p.add_argument("--report", metavar="FILE", help="write key -> outcome rows (.csv: CSV, otherwise JSON lines)")
    p.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="ProcessImage calls per second (default 20, MPS's limit; lower it to leave room for the live trigger)",
    )
    p.add_argument("--workers", type=int, default=8, help="requests in flight (default 8)")
    p.add_argument(
        "--live", action="store_true", help="real COS and MPS with TENCENTCLOUD_SECRETID/SECRETKEY[/SESSIONTOKEN]"
    )
    p.add_argument("--demo-objects", type=int, default=60, help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_backfill)

    p = sub.add_parser(
        "package",
        help="build ./build/scf, the directory serverless.yml deploys",
        description="Install the function and its pinned runtime dependencies (handler/requirements.txt) "
        "as Linux x86_64 wheels for the SCF runtime, without bytecode, reproducibly.",
    )
    p.add_argument("--runtime", choices=["Python3.9", "Python3.10"], help="default: inputs.runtime in serverless.yml")
    p.add_argument("--out", default="build/scf", help="output directory (default: build/scf)")
    p.set_defaults(run=cmd_package)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, EventFileError, MissingCredentialsError) as exc:
        print(f"autoenhance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:
        print(f"autoenhance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `autoenhance replay ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
