"""The records the fake COS hands out: objects, object-created events, calls, listing pages.

Apart from the backend so that the store, the wire layer and the fake MPS (which reads and
writes objects here) share them as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

EVENT_PUT = "cos:ObjectCreated:Put"


@dataclass(frozen=True)
class StoredObject:
    """One object as COS would describe it. `etag` is quoted, like the ETag header."""

    bucket: str
    region: str
    key: str
    size: int
    etag: str
    last_modified: float
    content_type: str
    metadata: Mapping[str, str]  # x-cos-meta-* headers, lowercase names
    storage_class: str
    has_body: bool  # False: seeded with a size only; GET generates that many zero bytes


@dataclass(frozen=True)
class ObjectCreated:
    """What an `on_object_created` callback receives after every successful PUT (wire or seeded)."""

    bucket: str
    region: str
    key: str
    size: int
    etag: str
    request_id: str  # the PUT's x-cos-request-id (a generated one for seeded objects)
    time: float  # on the backend's clock
    content_type: str
    metadata: Mapping[str, str]
    event_name: str = EVENT_PUT


@dataclass(frozen=True)
class Call:
    """One request the fake received. `status` is the HTTP status answered (None: the connection
    was dropped); `error_code` the COS error code (None: success); `fault` the injected fault kind;
    `request_id` the x-cos-request-id it was given."""

    operation: str
    bucket: str
    key: str
    status: int | None
    error_code: str | None
    at: float
    fault: str | None = None
    request_id: str = ""


@dataclass(frozen=True)
class ListResult:
    """One GET Bucket page. `next_marker` is "" unless `is_truncated`."""

    bucket: str
    prefix: str
    marker: str
    delimiter: str
    max_keys: int
    contents: tuple[StoredObject, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_marker: str
