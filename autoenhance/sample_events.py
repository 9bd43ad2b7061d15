"""Build real-shaped SCF COS trigger events (docs/tencent-cloud.md#event-shape), for samples and tests.

The shape follows a captured 2022 event: the key raw and prefixed `/<appid>/<name>/`, the
`url` percent-encoded, a short region code next to the full `cosRegion`, epoch `eventTime`,
and the uploader's signed `Authorization` header (a placeholder here).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from handler.regions import COS_SHORT_CODES

EVENT_NAMES = {
    "put": "cos:ObjectCreated:Put",
    "post": "cos:ObjectCreated:Post",
    "copy": "cos:ObjectCreated:Copy",
    "multipart": "cos:ObjectCreated:CompleteMultipartUpload",
    "delete": "cos:ObjectRemove:Delete",
}
PLACEHOLDER_AUTHORIZATION = (
    "q-sign-algorithm=sha1&q-ak=FAKEIDPLACEHOLDERPLACEHOLDER&q-sign-time=1700000000;1700003600"
    "&q-key-time=1700000000;1700003600&q-header-list=host&q-url-param-list=&q-signature=PLACEHOLDER"
)
_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "bmp": "image/bmp",
}
# First short code listed per region wins (gz, not cn-south).
_SHORT_FOR = {full: code for code, full in reversed(list(COS_SHORT_CODES.items()))}


def split_bucket(bucket: str) -> tuple[str, str]:
    """'photos-1250000000' -> ('photos', '1250000000'); the appid is the last '-' segment."""
    name, _, appid = bucket.rpartition("-")
    if not name or not appid.isdigit():
        raise ValueError(f"bucket {bucket!r} is not <name>-<appid> (e.g. photos-1250000000)")
    return name, appid


def _stable_token(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def cos_record(
    bucket: str,
    region: str,
    key: str,
    event: str = "put",
    size: int = 245_760,
    event_time: int = 1_764_000_000,
    version_id: str = "",
    content_type: str | None = None,
    function_name: str = "mps-autoenhance",
    etag: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One record as COS delivers it. `etag` defaults to one derived from the upload (a new upload,
    new bytes); `metadata` holds the object's x-cos-meta-* headers, as COS puts them in cosObject.meta."""
    name, appid = split_bucket(bucket)
    seed = _stable_token(bucket, key, event, event_time, version_id)
    request_id = base64.b64encode(bytes.fromhex(seed[:36])).decode()
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    if content_type is None:
        content_type = _CONTENT_TYPES.get(ext, "application/octet-stream")
    is_delete = EVENT_NAMES.get(event, event).startswith("cos:ObjectRemove")
    meta: dict[str, str] = {"x-cos-request-id": request_id}
    if not is_delete:
        meta.update({"Content-Type": content_type, "ETag": f'"{etag or seed[:32]}"', "x-cos-storage-class": "Standard"})
        meta.update(metadata or {})
    return {
        "cos": {
            "cosSchemaVersion": "1.0",
            "cosObject": {
                "url": f"http://{bucket}.cos.{region}.myqcloud.com/{quote(key, safe='/-_.~')}",
                "meta": meta,
                "vid": version_id,
                "key": f"/{appid}/{name}/{key}",
                "size": 0 if is_delete else size,
            },
            "cosBucket": {
                "region": _SHORT_FOR.get(region, region),
                "name": name,
                "appid": appid,
                "cosRegion": region,
                "s3Region": region,
            },
            "cosNotificationId": "unkown",  # sic: the real events spell it this way
        },
        "event": {
            "eventName": EVENT_NAMES.get(event, event),
            "eventVersion": "1.0",
            "eventTime": event_time,
            "eventSource": "qcs::cos",
            "requestParameters": {
                "requestSourceIP": "203.0.113.10",
                "requestHeaders": {"Authorization": PLACEHOLDER_AUTHORIZATION},
            },
            "eventQueue": f"qcs:0:scf:{region}:appid/{appid}:default.{function_name}.$DEFAULT",
            "reservedInfo": "",
            "reqid": 0,
        },
    }


def cos_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}
