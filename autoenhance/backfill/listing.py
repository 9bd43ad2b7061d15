"""What a backfill goes through: the bucket's listing (or a list of keys), page by page, each
object as the record an upload event would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from handler.cos_event import CosUploadRecord
from handler.times import parse_time

BACKFILL_EVENT = "cos:ObjectCreated:Backfill"  # a creation kind, so the function's filters apply
PAGE_SIZE = 1000


class Listed(NamedTuple):
    seq: int
    key: str
    size: int
    etag: str
    last_modified: str


def listing_record(bucket: str, region: str, item: Listed) -> CosUploadRecord:
    """A listed object as the record an upload event would have produced (no event identity)."""
    return CosUploadRecord(
        position=item.seq, bucket=bucket, region=region, key=item.key, size=item.size, version_id="",
        etag=item.etag, cos_request_id="", event_name=BACKFILL_EVENT, event_time=None, content_type="",
    )  # fmt: skip


def object_pages(
    cos_client: Callable[[], Any],
    bucket: str,
    prefix: str,
    marker: str,
    keys: tuple[str, ...] | None,
    stopping: Callable[[], bool],
) -> Iterator[list[dict[str, Any]]]:
    """The listing's `Contents` entries after `marker`, a page at a time, until it ends or `stopping()`.

    With `keys`, those keys instead, as entries holding only `Key`: the HEAD of each object
    fills in what a listing would say.
    """
    if keys is not None:
        for start in range(0, len(keys), PAGE_SIZE):
            yield [{"Key": k} for k in keys[start : start + PAGE_SIZE]]
            if stopping():
                return
        return
    client = cos_client()
    while not stopping():
        # No EncodingType argument: the SDK then asks for encoding-type=url itself and decodes
        # the keys; passing EncodingType="url" explicitly turns its decoding off.
        page = client.list_objects(Bucket=bucket, Prefix=prefix, Marker=marker, MaxKeys=PAGE_SIZE)
        contents = page.get("Contents") or []
        yield contents
        if str(page.get("IsTruncated", "false")).lower() != "true" or not contents:
            return
        marker = page.get("NextMarker") or contents[-1]["Key"]


def selected(entry: dict[str, Any], suffixes: tuple[str, ...], since: float | None) -> bool:
    """Whether a listed entry is selected by --suffix and --since, Unix seconds (the function's own filters come later)."""
    key = entry["Key"]
    if suffixes and not key.endswith(suffixes):
        return False
    if since is not None and "LastModified" in entry:
        modified = parse_time(entry.get("LastModified"))
        return modified is None or modified >= since  # an unreadable time: listed, never silently left out
    return True


def listed(seq: int, entry: dict[str, Any]) -> Listed:
    """The `seq`-th entry of the listing, as the workers and the checkpoint know it."""
    return Listed(
        seq,
        entry["Key"],
        int(entry.get("Size", 0)),
        str(entry.get("ETag", "")),
        str(entry.get("LastModified", "")),
    )
