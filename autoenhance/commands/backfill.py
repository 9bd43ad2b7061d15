"""`autoenhance backfill`: the command that enhances the images already in a bucket.

Arguments, the choice between the embedded fakes and --live, the COS client, and the closing
summary. The engine (listing, pacing, checkpoints) is the `autoenhance/backfill/` package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from handler.credentials import Credentials
from handler.times import parse_time

from ..local.credentials import environment_credentials
from ..local.fake_cloud import embedded_cos
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    full_region_of_bucket,
    mps_target,
    require_writable,
    settings,
)
from .handler_results import backfill_failed, describe_backfill_counts


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
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
        "--resubmit",
        action="store_true",
        help="redo: submit again under a new SessionId generation (tasks that failed, a changed template), "
        "whatever MPS already has; the report says which objects were resubmitted",
    )
    p.add_argument(
        "--keys",
        metavar="FILE",
        help="only these keys, one per line ('#' lines are comments), e.g. the resubmit list `autoenhance report` writes",
    )
    p.add_argument(
        "--no-metadata",
        action="store_true",
        help="skip the HEAD per image that reads its x-cos-meta-* headers and Content-Type "
        "(then metadata rules and x-cos-meta-autoenhance opt-outs cannot apply)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where to keep progress (default: backfill-BUCKET.checkpoint.json here with --live, "
        "in the embedded fakes' state directory without)",
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    codes = settings().region_codes  # COS_REGION_CODES, as the deployed function reads it
    region = full_region_of_bucket(args.bucket, codes.get(args.region, args.region))
    # A date or time (naive = UTC); digits alone are refused: 20260131 would be read as Unix seconds.
    since = parse_time(args.since) if args.since and not args.since.strip().isdigit() else None
    if args.since and since is None:
        raise UsageError(f"--since {args.since!r} is not an ISO 8601 date or time (e.g. 2026-01-31)")
    if args.rate <= 0 or args.workers < 1:
        raise UsageError("--rate must be positive and --workers at least 1")
    if args.resume and not os.path.exists(args.resume):
        raise UsageError(f"--resume {args.resume}: no such checkpoint file")
    if args.resume:
        from pathlib import Path

        from ..backfill import read_checkpoint

        try:  # its shape now, before anything starts; whether it is this job's once the job is known
            read_checkpoint(Path(args.resume))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.checkpoint:
        require_writable("--checkpoint", args.checkpoint)
    if args.report:
        require_writable("--report", args.report)
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


def default_checkpoint(bucket: str, live: bool) -> str:
    """Live runs keep their checkpoint here (git-ignored); demo runs keep it with the embedded fakes' state."""
    name = f"backfill-{bucket}.checkpoint.json"
    if live:
        return name
    from ..local.fake_cloud import state_dir

    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    return str(state / name)


def cos_client_factory(region: str, credentials: Credentials, endpoint: str | None) -> Callable[[], Any]:
    """Makes COS clients signed with `credentials`; `endpoint` (http://host:port) replaces the real one."""
    from urllib.parse import urlsplit

    from qcloud_cos import CosConfig, CosS3Client

    conf: dict[str, Any] = {
        "Region": region,
        "SecretId": credentials.secret_id,
        "SecretKey": credentials.secret_key,
        "Token": credentials.token,
    }
    if endpoint:
        parts = urlsplit(endpoint)
        conf.update(IP=parts.hostname, Port=parts.port, Scheme=parts.scheme)

    def make() -> Any:
        return CosS3Client(CosConfig(**conf), retry=1)

    return make


def _backfill_target(args: argparse.Namespace, region: str, since: Any) -> int:
    if args.live:
        from ..local.preflight import require_reachable

        with mps_target(live=True):
            operator = environment_credentials()  # one account: the same keys for COS and MPS
            endpoint = os.environ.get("COS_ENDPOINT")  # e.g. http://127.0.0.1:9100, a local fake
            require_reachable(endpoint or f"https://{args.bucket}.cos.{region}.myqcloud.com")
            return _run_backfill(args, region, since, cos_client_factory(region, operator, endpoint))
    from fakes.identities import COS_ROLE

    demo_bucket = embedded_cos(args.bucket, region, args.prefix, args.demo_objects)
    # One account: the MPS reads the demo bucket the backfill lists.
    with demo_bucket as cos, mps_target(live=False, cos=cos.backend) as mps:
        print(
            f"embedded fakes: MPS {mps.url}, COS {cos.url} holding {args.demo_objects} demo objects "
            "(use --live for your real bucket)",
            file=sys.stderr,
        )
        cos_keys = Credentials(COS_ROLE.secret_id, COS_ROLE.secret_key, COS_ROLE.token)
        return _run_backfill(args, region, since, cos_client_factory(region, cos_keys, cos.url))


def _run_backfill(args: argparse.Namespace, region: str, since: Any, cos_clients: Callable[[], Any]) -> int:
    from pathlib import Path

    from handler.credentials import CredentialProvider
    from handler.mps_client import MpsApi

    from ..backfill import Backfill, BackfillOptions, progress_printer

    config = settings()
    keys = environment_credentials()  # refuses, naming the variables, when there are none
    creds = CredentialProvider(os.environ)  # the operator's, or the embedded fake MPS's while it runs
    mps_region = config.mps_region or region
    checkpoint = Path(args.resume or args.checkpoint or default_checkpoint(args.bucket, args.live))
    generation = _generation(args)
    if generation:
        print(f"resubmitting under SessionId generation {generation}", file=sys.stderr)
    options = BackfillOptions(
        resubmit=generation,
        keys=_read_keys(args.keys, args.bucket) if args.keys else None,
        metadata=not args.no_metadata,
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
            config,
            cos_clients,
            lambda: MpsApi(config.endpoint, mps_region, keys, config.http_timeout),
            creds,
            progress_printer(sys.stderr),
        )
    except ValueError as exc:  # an unusable checkpoint
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the report cannot be opened after all (require_writable checked it)
        raise UsageError(f"--report {args.report}: cannot write: {exc.strerror or exc}") from None
    from ..local.interrupt import CtrlC

    # The first Ctrl-C stops the listing and the workers' next calls; the second stops waiting.
    with CtrlC("backfill", lambda: job.calls_in_flight, config.http_timeout, on_stop=job.stop.set):
        summary = job.run()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"backfill {args.bucket}/{args.prefix}: listed {summary['listed']}, "
        + describe_backfill_counts(summary, args.dry_run)
    )
    this_run = f" ({summary['submitted_this_run']} in this run)" if args.resume else ""
    print(
        f"  {summary['submitted_per_s']:.1f} submitted/s{this_run} over {summary['elapsed_s']:.1f} s; "
        f"throttled {summary['throttled']} time(s); output-exists check: {summary['output_check']}"
    )
    print(f"  checkpoint: {summary['checkpoint']}" + (f"; report: {args.report}" if args.report else ""))
    if summary["interrupted"]:
        print(f"  interrupted: resume with --resume {summary['checkpoint']}")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if backfill_failed(summary) else EXIT_OK


def _generation(args: argparse.Namespace) -> str:
    """A new SessionId generation for --resubmit (the one being resumed, when resuming one)."""
    if args.resume:
        from pathlib import Path

        from ..backfill import read_checkpoint

        return str((read_checkpoint(Path(args.resume)).get("identity") or {}).get("generation") or "")
    if not args.resubmit:
        return ""
    import datetime as dt

    return "r" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _read_keys(path: str, bucket: str) -> tuple[str, ...]:
    """Keys, one per line, as `report` writes its resubmit list (autoenhance/report/resubmit.py):
    '#' lines are comments, a first line `# bucket=NAME ...` must name this bucket, and a line
    starting with '"' is a key written as a JSON string."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--keys {path}: cannot read ({exc})") from None
    header = lines[0] if lines and lines[0].startswith("# bucket=") else ""
    named = dict(part.split("=", 1) for part in header[1:].split() if "=" in part).get("bucket")
    if named and named != bucket:
        raise UsageError(f"--keys {path}: lists keys of bucket {named}, not {bucket}")
    keys = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith('"'):
            try:
                key = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"--keys {path}:{number}: not a JSON string ({exc})") from None
            if not isinstance(key, str) or not key:
                raise UsageError(f"--keys {path}:{number}: not a key (a JSON string was expected)")
            keys.append(key)
        else:
            keys.append(line.lstrip("/"))
    if not keys:
        raise UsageError(f"--keys {path}: no keys in it")
    return tuple(keys)
