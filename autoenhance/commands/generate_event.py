"""`autoenhance generate-event`: write a COS trigger event shaped like a real one.

The shape itself is `autoenhance/sample_events.py`'s (tests and samples use it too); this module
is the command's arguments, key numbering and output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .common import EXIT_OK, UsageError, full_region_of_bucket, function_variables, meta_headers


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
    p.add_argument(
        "--file",
        metavar="PHOTO",
        help="upload this local image: the event carries its size and ETag, and the photo is put into the "
        "embedded bucket, so replay and backfill without --live process its real bytes",
    )
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
    from handler.errors import RegionError
    from handler.regions import parse_code_overrides

    from ..sample_events import cos_event, cos_record

    try:  # the short codes the deployed function will accept, its own COS_REGION_CODES included
        codes = parse_code_overrides(function_variables().get("COS_REGION_CODES", ""))
    except RegionError as exc:
        raise UsageError(str(exc)) from None
    region = full_region_of_bucket(args.bucket, codes.get(args.region, args.region))
    if args.records < 1 or args.size < 0:
        raise UsageError("--records must be at least 1 and --size non-negative")
    key = args.key.lstrip("/")
    now = int(time.time())
    keys = [key] if args.records == 1 else [numbered(key, i) for i in range(1, args.records + 1)]
    meta = meta_headers(args.meta)
    size, etag = args.size, None
    if args.file:
        size, etag = _put_photo(args.file, args.bucket, keys)
    event = cos_event(
        [
            cos_record(args.bucket, region, k, args.event, size, now + i, etag=etag, metadata=meta)
            for i, k in enumerate(keys)
        ]
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


def _put_photo(photo: str, bucket: str, keys: list[str]) -> tuple[int, str]:
    """Keep the photo as each key of the embedded bucket; its size and ETag (a single PUT's: the MD5)."""
    import hashlib

    from ..local.bucket_files import put_file

    try:
        with open(photo, "rb") as f:
            body = f.read()
    except OSError as exc:
        raise UsageError(f"--file {photo}: cannot read ({exc.strerror or exc})") from None
    for key in keys:
        try:
            where = put_file(bucket, key, body)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--file {photo}: cannot keep it as {bucket}/{key} ({exc})") from None
        print(f"put {photo} into the embedded bucket as {bucket}/{key} ({where})", file=sys.stderr)
    return len(body), hashlib.md5(body).hexdigest()


def numbered(key: str, i: int) -> str:
    """'in/a.jpg', 2 -> 'in/a-0002.jpg' (the number before the extension, when there is one)."""
    stem, dot, ext = key.rpartition(".")
    return f"{stem}-{i:04d}.{ext}" if dot and "/" not in ext else f"{key}-{i:04d}"
