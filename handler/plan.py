"""Pure mapping: a parsed upload record + settings -> a `Plan` (submit this request, skip, or fail).

No I/O: the function, dry runs and backfill all decide through `plan_record`, and the tests
check every decision without a server.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple, Union

from .config import Settings
from .cos_event import CosUploadRecord, RecordError
from .errors import (
    LOOP_GUARD,
    MALFORMED_RECORD,
    OUTPUT_KEY_TOO_LONG,
    UNKNOWN_RULE,
    UNSAFE_KEY,
    OutputKeyTooLongError,
    UnsafeKeyError,
)
from .outputs import guard_prefix, is_own_output, output_location, writes_next_to_sources
from .rules import CONTROL_HEADER, OPT_OUT, Rule, extension_of

SESSION_ID_PREFIX = "ae3-"  # bump the digit if the recipe below ever changes
SESSION_ID_MAX = 50  # MPS: SessionId is at most 50 characters (docs/tencent-cloud.md#sessionid)


class Submit(NamedTuple):
    """Send `request` (ProcessImage's body); `session_id` is in it unless the endpoint refuses SessionId."""

    session_id: str
    request: dict[str, Any]
    rule: str | None = None  # the RULES_FILE rule that chose the task (None: the environment's)


class Skip(NamedTuple):
    reason: str
    rule: str | None = None


class Fail(NamedTuple):
    error_code: str
    error: str
    session_id: str | None = None
    rule: str | None = None


Plan = Union[Submit, Skip, Fail]


def skip_reason(record: CosUploadRecord, settings: Settings) -> str | None:
    """Why this record must not be submitted, or None to submit it."""
    if not record.is_object_created:
        return f"not an upload event ({record.event_name})"
    if record.key.endswith("/"):
        return "folder marker"
    if record.size == 0:
        return "empty object (0 bytes)"
    for own in settings.every_output():  # an output of any rule is the function's own
        if is_own_output(record.bucket, record.key, own):
            return f"the function's own output (under /{guard_prefix(own)})"
    ext = extension_of(record.key)
    if ext not in settings.extensions:
        return f"not an image extension ({'.' + ext if ext else 'none'}; allowed: {', '.join(sorted(settings.extensions))})"
    return None


def from_output_bucket(record: CosUploadRecord, settings: Settings) -> bool:
    """The record is an object of OUTPUT_BUCKET (in OUTPUT_REGION, when that is set)."""
    return record.bucket == settings.output_bucket and settings.output_region in (None, record.region)


def content_tag(etag: str) -> str:
    """An ETag as the bytes' name: '"ABC"', 'W/"abc"' and 'abc' are one (COS's ETags are hex digests)."""
    tag = etag.strip()
    if tag[:2] in ("W/", "w/"):
        tag = tag[2:]
    return tag.strip().strip('"').lower()


def session_id_for(record: CosUploadRecord, fingerprint: str, generation: str = "") -> str:
    """Deterministic MPS SessionId for one object's content under one task configuration.

    The object's identity is its bucket, region, key and ETag, which the trigger's event
    (cosObject.meta.ETag) and a backfill's listing both carry: whoever submits an object, it gets
    one id, so the trigger and a backfill running together create one task. The ETag names the
    bytes (so the size adds nothing, and an event may lack it); it is compared as COS means it:
    without quotes, a weak `W/` mark or case. A redelivered event has the same id; a re-upload of
    different bytes has a new ETag, so a new id and a new task; a re-upload of identical bytes
    (a restored earlier version too) is the same content and, within MPS's three days, a
    duplicate. An event without an ETag falls back to the upload's own identity
    (x-cos-request-id, eventTime, version). `generation` is empty except for a deliberate
    resubmission, which names a new one. sha256 truncated to 176 bits keeps ids collision-free in
    practice and the whole id at 48 characters (MPS allows 50).
    """
    etag = content_tag(record.etag)
    if etag:
        identity: list[Any] = [record.bucket, record.region, record.key, etag]
    else:
        identity = [
            record.bucket, record.region, record.key, record.version_id, record.cos_request_id,
            record.event_time, record.size,
        ]  # fmt: skip
    identity += [fingerprint, generation]
    # surrogatepass: a field JSON carried as a lone surrogate ("\ud800") still hashes, injectively.
    canonical = json.dumps(identity, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(canonical).hexdigest()
    session_id = SESSION_ID_PREFIX + digest[:44]
    assert len(session_id) <= SESSION_ID_MAX
    return session_id


def chosen_rule(record: CosUploadRecord, settings: Settings) -> Rule | Skip | Fail | None:
    """The rule a record gets: the uploader's choice (x-cos-meta-autoenhance), else the first match, else None."""
    meta = dict(record.metadata)
    choice = meta.get(CONTROL_HEADER, "").strip()
    if choice.lower() == OPT_OUT:
        return Skip(f"the uploader opted out ({CONTROL_HEADER}: {OPT_OUT})")
    if choice:
        rule = settings.rule_named(choice)
        if rule is None:
            known = ", ".join(r.name for r in settings.rules) or "none: RULES_FILE is not set"
            return Fail(
                UNKNOWN_RULE, f"{CONTROL_HEADER} names the rule {choice!r}, which does not exist (rules: {known})"
            )
        return rule
    for rule in settings.rules:
        if rule.match.matches(record.key, record.size or 0, record.content_type, meta):
            return rule
    return None


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


def plan_record(
    item: CosUploadRecord | RecordError, settings: Settings, send_session_id: bool = True, generation: str = ""
) -> Plan:
    """The whole per-record decision, without I/O: shared by the function, dry runs and backfill.

    `generation` names a deliberate resubmission (backfill --resubmit): a new SessionId for the same object.
    """
    if isinstance(item, RecordError):
        return Fail(MALFORMED_RECORD, item.message)
    if settings.output_bucket_loop and from_output_bucket(item, settings):
        # Start-up could not know the trigger watches OUTPUT_BUCKET; this record proves it does, and
        # the configuration would loop or skip every upload there. Failing gets SCF to retry and
        # dead-letter the event, where a skip would drop every upload without a trace.
        return Fail(LOOP_GUARD, f"record from OUTPUT_BUCKET: {settings.output_bucket_loop}")
    reason = skip_reason(item, settings)
    if reason:
        return Skip(reason)
    chosen = chosen_rule(item, settings)
    if isinstance(chosen, (Skip, Fail)):
        return chosen
    name, effective = None, settings
    if chosen is not None:
        if chosen.settings is None:
            return Skip(f"rule {chosen.name}: {chosen.skip}", chosen.name)
        name, effective = chosen.name, chosen.settings
    # The environment's own output bucket was checked first thing; a rule's is checked here.
    if effective is not settings and effective.output_bucket_loop and from_output_bucket(item, effective):
        return Fail(LOOP_GUARD, f"record from rule {name}'s output bucket: {effective.output_bucket_loop}", rule=name)
    if writes_next_to_sources(item.bucket, effective):
        return Fail(
            LOOP_GUARD,
            f"output would be written next to the source in {item.bucket} and re-trigger the function; "
            "set OUTPUT_DIR to a directory such as /enhanced/",
            rule=name,
        )
    session_id = session_id_for(item, effective.fingerprint, generation)
    try:
        request = build_process_image_request(item, effective, session_id if send_session_id else None)
    except UnsafeKeyError as exc:
        return Fail(UNSAFE_KEY, str(exc), session_id, name)
    except OutputKeyTooLongError as exc:
        return Fail(OUTPUT_KEY_TOO_LONG, str(exc), session_id, name)
    return Submit(session_id, request, name)
