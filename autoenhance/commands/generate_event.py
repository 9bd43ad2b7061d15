"""`autoenhance generate-event`: write a COS trigger event shaped like a real one.

The shape itself is `autoenhance/cos_events.py`'s (tests and samples use it too); this module
is the command's arguments, key numbering and output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .common import EXIT_OK, UsageError, full_region_of_bucket, function_environment


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
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
    p.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="K=V",
        help="an x-cos-meta-K object header in cosObject.meta (repeatable), e.g. --meta autoenhance=skip",
    )
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.regions import RegionError, parse_code_overrides

    from ..cos_events import cos_event, cos_record

    try:  # the short codes the deployed function will accept, its own COS_REGION_CODES included
        codes = parse_code_overrides(function_environment().get("COS_REGION_CODES", ""))
    except RegionError as exc:
        raise UsageError(str(exc)) from None
    region = full_region_of_bucket(args.bucket, codes.get(args.region, args.region))
    if args.records < 1 or args.size < 0:
        raise UsageError("--records must be at least 1 and --size non-negative")
    key = args.key.lstrip("/")
    now = int(time.time())
    keys = [key] if args.records == 1 else [numbered(key, i) for i in range(1, args.records + 1)]
    from .check_config import meta_headers

    meta = meta_headers(args.meta)
    event = cos_event(
        [cos_record(args.bucket, region, k, args.event, args.size, now + i, metadata=meta) for i, k in enumerate(keys)]
    )
    text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise UsageError(f"--out {args.out}: cannot write the event ({exc.strerror or exc})") from None
        print(f"wrote {args.out} ({args.records} record(s))", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def numbered(key: str, i: int) -> str:
    """'in/a.jpg', 2 -> 'in/a-0002.jpg' (the number before the extension, when there is one)."""
    stem, dot, ext = key.rpartition(".")
    return f"{stem}-{i:04d}.{ext}" if dot and "/" not in ext else f"{key}-{i:04d}"
