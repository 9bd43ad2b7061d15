"""Pure mapping: a parsed upload record + settings -> a `Plan` (submit this request, skip, or fail).

No I/O: the function, dry runs and backfill all decide through `plan_record`, and the tests
check every decision without a server.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, NamedTuple, Union

from .config import Settings
from .cos_event import CosUploadRecord, RecordError
from .outputs import UnsafeKeyError, guard_prefix, is_own_output, output_location, writes_next_to_sources

SESSION_ID_PREFIX = "ae1-"  # bump the digit if the recipe below ever changes
SESSION_ID_MAX = 50  # MPS: SessionId is at most 50 characters (docs/tencent-cloud.md#sessionid)


class Submit(NamedTuple):
    """Send `request` (ProcessImage's body); `session_id` is in it unless the endpoint refuses SessionId."""

    session_id: str
    request: dict[str, Any]


class Skip(NamedTuple):
    reason: str


class Fail(NamedTuple):
    error_code: str
    error: str
    session_id: str | None = None


Plan = Union[Submit, Skip, Fail]


def skip_reason(record: CosUploadRecord, settings: Settings) -> str | None:
    """Why this record must not be submitted, or None to submit it."""
    if not record.is_object_created:
        return f"not an upload event ({record.event_name})"
    if record.key.endswith("/"):
        return "folder marker"
    if record.size == 0:
        return "empty object (0 bytes)"
    if is_own_output(record.bucket, record.key, settings):
        return f"the function's own output (under /{guard_prefix(settings)})"
    ext = record.key.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(record.key) else ""
    if ext not in settings.extensions:
        return f"not an image extension ({'.' + ext if ext else 'none'}; allowed: {', '.join(sorted(settings.extensions))})"
    return None


def from_output_bucket(record: CosUploadRecord, settings: Settings) -> bool:
    """The record is an object of OUTPUT_BUCKET (in OUTPUT_REGION, when that is set)."""
    return record.bucket == settings.output_bucket and settings.output_region in (None, record.region)


def session_id_for(record: CosUploadRecord, fingerprint: str) -> str:
    """Deterministic MPS SessionId for one upload under one task configuration.

    Same redelivered event -> same id; a new upload of the same key has a new
    x-cos-request-id / eventTime -> new id; the object identity (bucket, region, key,
    version) and the configuration fingerprint are hashed in, so different objects or a
    changed task never share an id. sha256 truncated to 176 bits keeps it collision-free in
    practice and the whole id at 48 characters (MPS allows 50).
    """
    identity = [
        record.bucket,
        record.region,
        record.key,
        record.version_id,
        record.cos_request_id,
        record.event_time,
        record.etag,
        record.size,
        fingerprint,
    ]
    # surrogatepass: a field JSON carried as a lone surrogate ("\ud800") still hashes, injectively.
    canonical = json.dumps(identity, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(canonical).hexdigest()
    session_id = SESSION_ID_PREFIX + digest[:44]
    assert len(session_id) <= SESSION_ID_MAX
    return session_id


def build_process_image_request(record: CosUploadRecord, settings: Settings, session_id: str | None) -> dict[str, Any]:
    """The ProcessImage body, as MPS documents it (CosInputInfo.Object has a leading '/')."""
    if any(ord(c) < 32 or ord(c) == 127 for c in record.key):
        raise UnsafeKeyError(f"key {record.key!r} contains control characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in record.key):
        raise UnsafeKeyError(f"key {record.key!r} contains a lone surrogate: not UTF-8, so no COS object has it")
    out = output_location(record.bucket, record.region, record.key, settings)
    params: dict[str, Any] = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": record.bucket, "Region": record.region, "Object": "/" + record.key},
        },
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": out.bucket, "Region": out.region}},
        "OutputDir": out.output_dir,
    }
    if out.output_path:
        params["OutputPath"] = out.output_path
    if settings.definition is not None:
        params["Definition"] = settings.definition
    else:
        params["ImageTask"] = settings.image_task
    if settings.resource_id:
        params["ResourceId"] = settings.resource_id
    if session_id:
        params["SessionId"] = session_id
    return params


def plan_record(item: CosUploadRecord | RecordError, settings: Settings, send_session_id: bool = True) -> Plan:
    """The whole per-record decision, without I/O: shared by the function, dry runs and backfill."""
    if isinstance(item, RecordError):
        return Fail("MalformedRecord", item.message)
    if settings.output_bucket_loop and from_output_bucket(item, settings):
        # Start-up could not know the trigger watches OUTPUT_BUCKET; this record proves it does, and
        # the configuration would loop or skip every upload there. Failing gets SCF to retry and
        # dead-letter the event, where a skip would drop every upload without a trace.
        return Fail("LoopGuard", f"record from OUTPUT_BUCKET: {settings.output_bucket_loop}")
    reason = skip_reason(item, settings)
    if reason:
        return Skip(reason)
    if writes_next_to_sources(item.bucket, settings):
        return Fail(
            "LoopGuard",
            f"output would be written next to the source in {item.bucket} and re-trigger the function; "
            "set OUTPUT_DIR to a directory such as /enhanced/",
        )
    session_id = session_id_for(item, settings.fingerprint)
    try:
        request = build_process_image_request(item, settings, session_id if send_session_id else None)
    except UnsafeKeyError as exc:
        return Fail("UnsafeKey", str(exc), session_id)
    return Submit(session_id, request)
