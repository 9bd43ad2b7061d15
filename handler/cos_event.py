"""Typed, I/O-free views of the SCF COS trigger event.

One real event (docs/tencent-cloud.md#event-shape) looks like
  {"Records": [{"cos": {"cosObject": {"key": "/<appid>/<name>/<key>", "size": 1029, ...},
                        "cosBucket": {"name": "<name>", "appid": "<appid>", "region": "sh",
                                      "cosRegion": "ap-shanghai"}},
                "event": {"eventName": "cos:ObjectCreated:Put", "eventTime": 1650016156, ...}}]}

`parse_records` turns each record into a `CosUploadRecord` or a `RecordError` that names the
offending field; nothing here raises on bad input except `MalformedEventError` for an event
that has no record list at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Union

from .errors import MalformedEventError, RegionError
from .regions import full_region_for, is_full_region
from .rules import object_metadata
from .times import parse_time

OBJECT_CREATED_PREFIX = "cos:ObjectCreated:"


class RecordError(NamedTuple):
    """A record that could not be parsed; `bucket`/`key` are filled when they were readable."""

    position: int  # 0-based place in Records
    message: str
    bucket: str = ""
    key: str = ""


class CosUploadRecord(NamedTuple):
    position: int
    bucket: str  # <name>-<appid>, the name every COS/MPS API wants
    region: str  # full region name, e.g. ap-guangzhou
    key: str  # object key, exactly as uploaded (no leading '/', not percent-decoded)
    size: int | None
    version_id: str
    etag: str
    cos_request_id: str
    event_name: str
    event_time: float | None  # Unix seconds
    content_type: str
    metadata: tuple[tuple[str, str], ...] = ()  # the object's x-cos-meta-* headers, names lowercased

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith(OBJECT_CREATED_PREFIX)


ParsedRecord = Union[CosUploadRecord, RecordError]


class _FieldError(ValueError):
    pass


def _get(obj: Mapping[str, Any], path: str, want: type, required: bool = True) -> Any:
    """Walk a dotted path; type errors name the field and the JSON type found."""
    cur: Any = obj
    walked = []
    for part in path.split("."):
        walked.append(part)
        if not isinstance(cur, Mapping):
            raise _FieldError(f"{'.'.join(walked[:-1])} should be an object, got {_json_type(cur)}")
        if part not in cur or cur[part] is None:
            if required:
                raise _FieldError(f"missing field {'.'.join(walked)}")
            return None
        cur = cur[part]
    if not isinstance(cur, want) or (want is int and isinstance(cur, bool)):
        wanted = {str: "a string", int: "an integer"}.get(want, "an object")
        raise _FieldError(f"{path} should be {wanted}, got {_json_type(cur)}")
    return cur


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _as_int(value: Any, field: str) -> int | None:
    # Real events carry numbers; the console's hand-written test templates carry strings.
    if value is None:
        return None
    number = _decimal(value) if isinstance(value, str) else value
    if isinstance(number, int) and not isinstance(number, bool) and number >= 0:
        return number
    raise _FieldError(f"{field} should be a non-negative integer, got {value!r}")


def _decimal(text: str) -> int | None:
    # Plain ASCII digits only: str.isdigit() also accepts '²' or '١٢٣', which int() refuses or
    # misreads, and int() refuses very long digit strings (CPython's int max_str_digits).
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else None


def _header(meta: Mapping[str, Any], name: str) -> Any:
    """A header of cosObject.meta by its lowercase name: HTTP names are case-insensitive (ETag, Etag, etag)."""
    return next((value for key, value in meta.items() if str(key).lower() == name and value), "")


def _as_epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    # Unix seconds, or an ISO 8601 string as console test templates write it; the range is what a
    # log line can show (0001..9999), so a record's time never fails the record's logging.
    seconds = parse_time(value)
    if seconds is None:
        raise _FieldError(f"event.eventTime should be Unix seconds, got {value!r}")
    return seconds


def _region(bucket: Mapping[str, Any], fallback: str | None, extra: Mapping[str, str]) -> str:
    full = _get(bucket, "cosRegion", str, required=False)
    if full:
        if not is_full_region(full):
            raise _FieldError(f"cos.cosBucket.cosRegion {full!r} is not a region name")
        return str(full)
    code = _get(bucket, "region", str, required=False)
    if code:
        try:
            return full_region_for(code, extra)
        except RegionError as exc:
            raise _FieldError(f"cos.cosBucket.region: {exc}") from None
    if fallback:
        return fallback  # COS triggers are same-region, so the function's region is the bucket's
    raise _FieldError("no region: cos.cosBucket has neither cosRegion nor region")


def parse_record(
    index: int,
    raw: Any,
    fallback_region: str | None = None,
    region_codes: Mapping[str, str] | None = None,
) -> ParsedRecord:
    bucket_label = key_label = ""
    try:
        if not isinstance(raw, Mapping):
            raise _FieldError(f"record should be an object, got {_json_type(raw)}")
        cos = _get(raw, "cos", Mapping)
        bucket = _get(cos, "cosBucket", Mapping)
        obj = _get(cos, "cosObject", Mapping)
        name = _get(bucket, "name", str)
        appid = bucket.get("appid")
        if isinstance(appid, int) and not isinstance(appid, bool):
            appid = str(appid)  # some hand-written samples carry the appid as a number
        if not isinstance(appid, str) or not appid.isdigit():
            raise _FieldError(f"cos.cosBucket.appid should be a numeric string, got {appid!r}")
        bucket_label = f"{name}-{appid}"
        full_key = _get(obj, "key", str)
        prefix = f"/{appid}/{name}/"
        if not full_key.startswith(prefix):
            raise _FieldError(f"cos.cosObject.key {full_key!r} does not start with {prefix!r}")
        key = full_key[len(prefix) :]
        key_label = key
        event = _get(raw, "event", Mapping)
        meta = _get(obj, "meta", Mapping, required=False) or {}
        return CosUploadRecord(
            position=index,
            bucket=bucket_label,
            region=_region(bucket, fallback_region, region_codes or {}),
            key=key,
            size=_as_int(obj.get("size"), "cos.cosObject.size"),
            version_id=_get(obj, "vid", str, required=False) or "",
            etag=str(_header(meta, "etag")),
            cos_request_id=str(meta.get("x-cos-request-id") or ""),
            event_name=_get(event, "eventName", str),
            event_time=_as_epoch(event.get("eventTime")),
            content_type=str(_header(meta, "content-type")),
            metadata=object_metadata(meta),
        )
    except _FieldError as exc:
        return RecordError(position=index, message=_explained(str(exc), raw), bucket=bucket_label, key=key_label)


def _explained(message: str, raw: Any) -> str:
    """`message`, with what the record is when it is another platform's (only on this error path)."""
    if isinstance(raw, Mapping) and "cos" not in raw and (raw.get("eventSource") == "aws:s3" or "s3" in raw):
        return (
            f"{message}: this is an AWS S3 event record (eventSource aws:s3), not a COS trigger event "
            "(the function takes the events of a Tencent Cloud COS trigger)"
        )
    return message


def event_records(event: Any) -> list[Any]:
    """The raw `Records` list; anything else is not a COS trigger event."""
    if not isinstance(event, Mapping):
        raise MalformedEventError(f"event should be a JSON object, got {_json_type(event)}")
    records = event.get("Records")
    if not isinstance(records, list):
        found = "no Records field" if records is None else f"Records is {_json_type(records)}"
        raise MalformedEventError(f"not a COS trigger event: {found} (expected a list of records)")
    return records


def parse_records(
    event: Any,
    fallback_region: str | None = None,
    region_codes: Mapping[str, str] | None = None,
) -> list[ParsedRecord]:
    return [parse_record(i, raw, fallback_region, region_codes) for i, raw in enumerate(event_records(event))]


def authorization_headers(event: Any) -> list[str]:
    """Every uploader `Authorization` value in the event, so logs can redact them."""
    found: list[str] = []
    records = event.get("Records") if isinstance(event, Mapping) else None
    for raw in records if isinstance(records, list) else []:
        headers: Any = raw
        for part in ("event", "requestParameters", "requestHeaders"):
            headers = headers.get(part) if isinstance(headers, Mapping) else None
        if isinstance(headers, Mapping):
            found.extend(
                value
                for name, value in headers.items()
                if str(name).lower() == "authorization" and isinstance(value, str) and value
            )
    return found
