"""Pure mapping: a parsed upload record + settings -> skip decision, SessionId, request body."""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, NamedTuple

from .config import Settings
from .cos_event import CosUploadRecord, RecordError

SESSION_ID_PREFIX = "ae1-"  # bump the digit if the recipe below ever changes
SESSION_ID_MAX = 50  # MPS: SessionId is at most 50 characters


class UnsafeKeyError(ValueError):
    """A key whose mirrored output directory could leave the configured output directory."""


def skip_reason(record: CosUploadRecord, settings: Settings) -> str | None:
    """Why this record must not be submitted, or None to submit it."""
    if not record.is_object_created:
        return f"not an upload event ({record.event_name})"
    if record.key.endswith("/"):
        return "folder marker"
    if record.size == 0:
        return "empty object (0 bytes)"
    if _is_own_output(record, settings):
        return f"the function's own output (under /{settings.output_guard_prefix})"
    ext = record.key.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(record.key) else ""
    if ext not in settings.extensions:
        return f"not an image extension ({'.' + ext if ext else 'none'}; allowed: {', '.join(sorted(settings.extensions))})"
    return None


def _is_own_output(record: CosUploadRecord, settings: Settings) -> bool:
    guard = settings.output_guard_prefix
    out_bucket = settings.output_bucket or record.bucket
    return bool(guard) and record.bucket == out_bucket and record.key.startswith(guard)


def writes_next_to_sources(record: CosUploadRecord, settings: Settings) -> bool:
    """Output in this record's own bucket with no output directory: submitting would loop."""
    return settings.output_guard_prefix == "" and (settings.output_bucket or record.bucket) == record.bucket


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


def output_dir_for(key: str, settings: Settings) -> str:
    """OUTPUT_DIR + the input's directory, e.g. 'a/b/c.jpg' -> '/enhanced/a/b/'."""
    parts = key.split("/")[:-1]
    if any(p in (".", "..") for p in parts):
        raise UnsafeKeyError(f"key {key!r} has '.' or '..' path segments; its output could leave {settings.output_dir}")
    return settings.output_dir + "".join(p + "/" for p in parts if p)


def build_process_image_request(record: CosUploadRecord, settings: Settings, session_id: str | None) -> dict[str, Any]:
    """The ProcessImage body, as MPS documents it (CosInputInfo.Object has a leading '/')."""
    if any(ord(c) < 32 or ord(c) == 127 for c in record.key):
        raise UnsafeKeyError(f"key {record.key!r} contains control characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in record.key):
        raise UnsafeKeyError(f"key {record.key!r} contains a lone surrogate: not UTF-8, so no COS object has it")
    params: dict[str, Any] = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": record.bucket, "Region": record.region, "Object": "/" + record.key},
        },
        "OutputStorage": {
            "Type": "COS",
            "CosOutputStorage": {
                "Bucket": settings.output_bucket or record.bucket,
                "Region": settings.output_region or record.region,
            },
        },
        "OutputDir": output_dir_for(record.key, settings),
    }
    if settings.output_path:
        params["OutputPath"] = settings.output_path
    if settings.definition is not None:
        params["Definition"] = settings.definition
    else:
        params["ImageTask"] = settings.image_task
    if settings.resource_id:
        params["ResourceId"] = settings.resource_id
    if session_id:
        params["SessionId"] = session_id
    return params


class Plan(NamedTuple):
    """What to do with one record: submit `params`, or report it skipped/failed."""

    action: str  # "submit" | "skipped" | "failed"
    session_id: str | None = None
    params: dict[str, Any] | None = None
    reason: str | None = None
    error_code: str | None = None
    error: str | None = None


def plan_record(item: CosUploadRecord | RecordError, settings: Settings, send_session_id: bool = True) -> Plan:
    """The whole per-record decision, without I/O: shared by the function, dry runs and backfill."""
    if isinstance(item, RecordError):
        return Plan("failed", error_code="MalformedRecord", error=item.message)
    reason = skip_reason(item, settings)
    if reason:
        return Plan("skipped", reason=reason)
    if writes_next_to_sources(item, settings):
        return Plan(
            "failed",
            error_code="LoopGuard",
            error=(
                f"output would be written next to the source in {item.bucket} and re-trigger the function; "
                "set OUTPUT_DIR to a directory such as /enhanced/"
            ),
        )
    session_id = session_id_for(item, settings.fingerprint)
    try:
        params = build_process_image_request(item, settings, session_id if send_session_id else None)
    except UnsafeKeyError as exc:
        return Plan("failed", session_id=session_id, error_code="UnsafeKey", error=str(exc))
    return Plan("submit", session_id=session_id, params=params)
