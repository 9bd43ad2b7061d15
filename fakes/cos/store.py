"""How the fake COS keeps objects: small enough for 20,000 of them, listed as COS lists them.

A bucket holds compact entries (slots, metadata shared when absent, size-only objects with no
bytes at all) and a sorted key list built on first listing; `page()` is GET Bucket's paging
with prefix, marker and delimiter. The naming rules COS applies to buckets and keys are here
too, since both seeding and the wire check them.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, field

from .records import StoredObject

MAX_KEYS = 1000  # GET Bucket's max-keys default and cap
MAX_KEY_BYTES = 850  # COS object key limit (UTF-8 bytes)
DEFAULT_CONTENT_TYPE = "application/octet-stream"
STORAGE_CLASSES = frozenset(
    {"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "ARCHIVE", "DEEP_ARCHIVE", "MAZ_STANDARD", "MAZ_STANDARD_IA"}
)
ARCHIVED = frozenset({"ARCHIVE", "DEEP_ARCHIVE"})  # GET needs a restore first

# <BucketName-APPID>: lowercase letters, digits and "-", not starting or ending with "-"; with the
# region's name, at most 60 characters. Not the whole request domain: the deploy code's own code
# bucket, sls-cloudfunction-<region>-code-<appid>, which COS creates for every SCF user, makes a
# 76-character domain in ap-guangzhou (58 with the region alone).
_BUCKET_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+")
_MAX_NAME_WITH_REGION = 60
REGION = re.compile(r"[a-z]+(?:-[a-z0-9]+)+")


class Entry:
    """An object's state. Slots and shared defaults keep 20,000 seeded objects at a few MB."""

    __slots__ = ("body", "content_type", "etag", "last_modified", "metadata", "size", "storage_class")

    def __init__(
        self,
        size: int,
        body: bytes | None,
        etag: str | None,
        last_modified: float,
        content_type: str,
        metadata: dict[str, str] | None,
        storage_class: str,
    ) -> None:
        self.size = size
        self.body = body
        self.etag = etag  # None: derived on demand (size-only objects)
        self.last_modified = last_modified
        self.content_type = content_type
        self.metadata = metadata
        self.storage_class = storage_class


@dataclass
class Bucket:
    name: str
    region: str
    entries: dict[str, Entry] = field(default_factory=dict)
    # Keys in COS order, built on the first listing and kept up to date after that (seeding
    # 20,000 keys in random order then costs one sort, not 20,000 insertions).
    sorted_keys: list[str] | None = None

    def keys_in_order(self) -> list[str]:
        if self.sorted_keys is None:
            # COS lists in UTF-8 byte order, which is code-point order, which is str order.
            self.sorted_keys = sorted(self.entries)
        return self.sorted_keys

    def store(self, key: str, entry: Entry) -> None:
        if key not in self.entries and self.sorted_keys is not None:
            insort(self.sorted_keys, key)
        self.entries[key] = entry

    def remove(self, key: str) -> None:
        if self.entries.pop(key, None) is not None and self.sorted_keys is not None:
            del self.sorted_keys[bisect_left(self.sorted_keys, key)]

    def describe(self, key: str, entry: Entry) -> StoredObject:
        return StoredObject(
            bucket=self.name,
            region=self.region,
            key=key,
            size=entry.size,
            etag=etag_of(key, entry),
            last_modified=entry.last_modified,
            content_type=entry.content_type,
            metadata=dict(entry.metadata or {}),
            storage_class=entry.storage_class,
            has_body=entry.body is not None,
        )


@dataclass
class Page:
    contents: list[tuple[str, Entry]]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str


def page(bucket: Bucket, prefix: str, marker: str, max_keys: int, delimiter: str) -> Page:
    """One GET Bucket page (call with the lock held).

    Keys after `marker` that start with `prefix`, in order; with a delimiter, keys whose rest
    (after the prefix) contains it are rolled up into one CommonPrefix that counts as one entry.
    A marker that is itself a CommonPrefix (what NextMarker is after a rolled-up entry) skips
    that whole group, so paging never returns it twice.
    """
    if max_keys <= 0:
        return Page([], [], False, "")
    keys = bucket.keys_in_order()
    i = max(bisect_right(keys, marker) if marker else 0, bisect_left(keys, prefix))
    contents: list[tuple[str, Entry]] = []
    prefixes: list[str] = []
    last, truncated = "", False
    while i < len(keys) and keys[i].startswith(prefix):
        key = keys[i]
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            common = key[: cut + len(delimiter)]
            after = _after_group(keys, common, i)
            if common == marker:
                i = after
                continue
            if len(contents) + len(prefixes) == max_keys:
                truncated = True
                break
            prefixes.append(common)
            last, i = common, after
            continue
        if len(contents) + len(prefixes) == max_keys:
            truncated = True
            break
        contents.append((key, bucket.entries[key]))
        last, i = key, i + 1
    return Page(contents, prefixes, truncated, last if truncated else "")


def _after_group(keys: list[str], common: str, i: int) -> int:
    """The index of the first key after `i` that does not start with `common`."""
    last = ord(common[-1])
    if last < 0x10FFFF:
        return bisect_left(keys, common[:-1] + chr(last + 1), i)
    while i < len(keys) and keys[i].startswith(common):
        i += 1
    return i


def bucket_name_problem(bucket: str, region: str) -> str:
    """Why `bucket` is not a valid COS bucket name ("" when it is)."""
    if not _BUCKET_NAME.fullmatch(bucket):
        return (
            f"invalid bucket name {bucket!r}: <name>-<appid>, lowercase letters, digits and '-', "
            "not starting or ending with '-'"
        )
    if len(bucket) + len(region) > _MAX_NAME_WITH_REGION:
        return (
            f"bucket name {bucket!r} too long: with the region {region!r} it exceeds {_MAX_NAME_WITH_REGION} characters"
        )
    return ""


def object_key_problem(key: str) -> str:
    """Why COS refuses `key` as an object key ("" when it takes it)."""
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"object keys are 1 to {MAX_KEY_BYTES} UTF-8 bytes"
    return ""


def etag_of(key: str, entry: Entry) -> str:
    if entry.etag is not None:
        return entry.etag
    return '"' + hashlib.md5(f"{key}\0{entry.size}".encode()).hexdigest() + '"'


def md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body).hexdigest() + '"'


def quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def normalized_metadata(metadata: Mapping[str, str] | None) -> dict[str, str] | None:
    if not metadata:
        return None
    out = {}
    for name, value in metadata.items():
        lowered = name.lower()
        out[lowered if lowered.startswith("x-cos-meta-") else "x-cos-meta-" + lowered] = value
    return out
