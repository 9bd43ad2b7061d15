"""The fake COS's wire layer: an XML-API request in, COS's answer out, faults applied.

It reads the bucket and region from the Host header and the key from the path, names the
operation (method + whether there is a key), refuses what the fake does not implement (501,
so a client that starts using a new API fails loudly), checks the bucket, then the signature
(fakes/cos/signature.py) and token, calls the method the _ANSWERS table names for the operation
(which calls the backend) and renders COS's headers and XML. Injected faults are taken here,
because only the wire layer knows whether the request was processed before its answer went
wrong. The server builds one around the backend it serves; the backend knows nothing of it.

Implemented: GetBucket (list objects, v1 with marker), HeadBucket, GetObject (with Range),
HeadObject, PutObject, DeleteObject.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import formatdate
from urllib.parse import parse_qsl, quote, unquote_to_bytes
from xml.sax.saxutils import escape

from handler.times import format_time

from ..core.reply import Reply
from . import signature
from .backend import OPERATIONS, CosBackend
from .exceptions import (
    AccessDenied,
    BadDigest,
    CosError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidBucketName,
    InvalidDigest,
    InvalidRange,
    InvalidURI,
    KeyTooLong,
    MethodNotAllowed,
    NoSuchBucket,
    OperationNotImplemented,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from .faults import CosFault
from .records import Call, StoredObject
from .store import DEFAULT_CONTENT_TYPE, MAX_KEY_BYTES, MAX_KEYS, STORAGE_CLASSES, bucket_name_problem

# Operation name -> the CosResponses method that answers it: the name in snake_case, as moto
# names a response method after its action.
_ANSWERS: Mapping[str, str] = {name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in OPERATIONS}
# Method -> (operation on the bucket, operation on an object).
_NAMES = {
    "GET": ("GetBucket", "GetObject"),
    "HEAD": ("HeadBucket", "HeadObject"),
    "PUT": ("PutBucket", "PutObject"),
    "DELETE": ("DeleteBucket", "DeleteObject"),
    "POST": ("PostBucket", "PostObject"),
}
_HOST = re.compile(r"(?P<bucket>[^.]+)\.cos\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_XML_ATTR = {'"': "&quot;"}  # COS writes ETag quotes as &quot;
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
# The query parameters each operation takes; any other is a sub-resource the fake does not implement.
_QUERY_PARAMS: Mapping[str, frozenset[str]] = {
    "GetBucket": frozenset({"prefix", "delimiter", "marker", "max-keys", "encoding-type"}),
    "GetObject": frozenset(_RESPONSE_OVERRIDES),
}
_REJECTIONS: Mapping[str, type[CosError]] = {
    signature.ACCESS_DENIED: AccessDenied,
    signature.INVALID_ACCESS_KEY_ID: InvalidAccessKeyId,
    signature.SIGNATURE_DOES_NOT_MATCH: SignatureDoesNotMatch,
    signature.REQUEST_TIME_TOO_SKEWED: RequestTimeTooSkewed,
}


@dataclass
class _Request:
    """One parsed request (what every operation needs)."""

    method: str
    operation: str
    host: str
    raw_path: str
    bucket: str
    region: str
    key: str
    params: dict[str, str]
    headers: Mapping[str, str]  # lowercase names
    body: bytes
    request_id: str

    @property
    def resource(self) -> str:  # how COS names the resource in error bodies
        return self.host + self.raw_path

    def answer(self, *headers: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        """Answer headers: these, then x-cos-request-id."""
        return (*headers, ("x-cos-request-id", self.request_id))


class CosResponses:
    """The wire face of one CosBackend: `respond()` is what the server calls for each request."""

    def __init__(self, backend: CosBackend) -> None:
        self.backend = backend

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Reply:
        """Answer one HTTP request (`target` is the raw request-target, path and query;
        `headers` have lowercase names), injected faults included."""
        reply = self._respond(method.upper(), target, headers, body)
        return replace(reply, delay=reply.delay + self.backend.latency_seconds)

    def _respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        request_id = self.backend.new_request_id()
        raw_path, _, query = target.partition("?")
        host = headers.get("host", "").split(":", 1)[0]
        operation, bucket, key = "Unknown", "", ""
        try:
            bucket, region = _parse_host(host)
            key = _decode_path(raw_path)
            operation = _operation(method, key)
            if operation not in _ANSWERS:
                raise OperationNotImplemented(f"The fake COS does not implement {operation}.")
            params = dict(parse_qsl(query, keep_blank_values=True))
            _check_params(operation, params)
        except CosError as e:
            self._record(request_id, operation, bucket, key, e.status, e.code, None)
            return self._error_reply(e, host + raw_path, request_id, method)
        request = _Request(method, operation, host, raw_path, bucket, region, key, params, headers, body, request_id)

        fault = self.backend.faults.next(operation)
        if fault is not None and fault.refuses:
            refused: Reply = getattr(self, "_refuse_" + fault.kind)(request, fault)
            return refused
        error_code = None
        try:
            reply = self._handle(request)
        except CosError as e:
            reply, error_code = self._error_reply(e, request.resource, request_id, method), e.code
        if fault is not None:
            # Processed for real (a PUT stored its object), then the answer goes wrong on the way.
            reply = fault.shape(reply)
        status = None if reply.drop else reply.status
        self._record(request_id, operation, bucket, key, status, error_code, fault.kind if fault else None)
        return reply

    def _handle(self, request: _Request) -> Reply:
        if self.backend.head_bucket(request.bucket) != request.region:
            # A bucket that lives in another region is not found at this region's endpoint.
            raise NoSuchBucket()
        self._authenticate(request)
        handled: Reply = getattr(self, _ANSWERS[request.operation])(request)
        return handled

    def _authenticate(self, request: _Request) -> None:
        auth = signature.parse_authorization(request.headers.get("authorization"))
        credential = self.backend.credentials.get(auth.secret_id) if auth else None
        rejection = signature.verify(
            auth,
            credential.secret_key if credential else None,
            method=request.method,
            path="/" + request.key,
            params=request.params,
            headers=request.headers,
        )
        if rejection is None and credential is not None:
            if not credential.accepts_token(request.headers.get("x-cos-security-token", "")):
                rejection = signature.Rejection(
                    signature.INVALID_ACCESS_KEY_ID,
                    "The x-cos-security-token is missing, invalid, or does not belong to this SecretId.",
                )
        if rejection is not None:
            echoed = (("StringToSign", rejection.string_to_sign), ("FormatString", rejection.format_string))
            raise _REJECTIONS[rejection.code](rejection.message, tuple(item for item in echoed if item[1]))

    # ---- the operations ----------------------------------------------------------------------------

    def get_bucket(self, request: _Request) -> Reply:
        params = request.params
        encoding = params.get("encoding-type", "")
        if encoding not in ("", "url"):
            raise InvalidArgument("encoding-type must be url.")
        raw_max = params.get("max-keys", "")
        if raw_max and not raw_max.isdigit():
            raise InvalidArgument("max-keys must be an integer between 0 and 1000.")
        max_keys = min(int(raw_max), MAX_KEYS) if raw_max else MAX_KEYS
        prefix, marker, delimiter = params.get("prefix", ""), params.get("marker", ""), params.get("delimiter", "")
        listed = self.backend.list_objects(request.bucket, prefix, marker, max_keys, delimiter)

        def text(value: str) -> str:  # encoding-type=url: percent-encode (the SDK url-decodes these)
            return quote(value.encode("utf-8"), safe="-_.~") if encoding else escape(value)

        appid = listed.bucket.rpartition("-")[2]
        owner = f"<Owner><ID>{appid}</ID><DisplayName>{appid}</DisplayName></Owner>"
        parts = ["<?xml version='1.0' encoding='utf-8' ?>\n<ListBucketResult>", f"<Name>{listed.bucket}</Name>"]
        if encoding:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<Prefix>{text(prefix)}</Prefix><Marker>{text(marker)}</Marker><MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        parts.append(f"<IsTruncated>{'true' if listed.is_truncated else 'false'}</IsTruncated>")
        if listed.is_truncated:
            parts.append(f"<NextMarker>{text(listed.next_marker)}</NextMarker>")
        parts.extend(f"<CommonPrefixes><Prefix>{text(cp)}</Prefix></CommonPrefixes>" for cp in listed.common_prefixes)
        for item in listed.contents:
            # Truncated to the millisecond, as the Last-Modified header truncates to the second: the
            # listing and the header never disagree about the second an object was written in.
            modified = format_time(math.floor(item.last_modified * 1000) / 1000)
            parts.append(
                f"<Contents><Key>{text(item.key)}</Key><LastModified>{modified}</LastModified>"
                f"<ETag>{escape(item.etag, _XML_ATTR)}</ETag><Size>{item.size}</Size>{owner}"
                f"<StorageClass>{item.storage_class}</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        body = "".join(parts).encode("utf-8")
        return Reply(headers=request.answer(("Content-Type", "application/xml")), body=body)

    def head_bucket(self, request: _Request) -> Reply:
        return Reply(headers=request.answer(("x-cos-bucket-region", self.backend.head_bucket(request.bucket))))

    def head_object(self, request: _Request) -> Reply:
        stored = self.backend.head_object(request.bucket, request.key)
        return Reply(headers=request.answer(*_object_headers(stored)), length=stored.size, send_body=False)

    def get_object(self, request: _Request) -> Reply:
        stored, data = self.backend.get_object(request.bucket, request.key)
        overrides = {_RESPONSE_OVERRIDES[k]: v for k, v in request.params.items() if k in _RESPONSE_OVERRIDES}
        headers = [(name, overrides.pop(name, value)) for name, value in _object_headers(stored)]
        headers += sorted(overrides.items())
        start, end, status = 0, stored.size, 200
        wanted = _RANGE.fullmatch(request.headers.get("range", "").strip())
        if wanted and (wanted[1] or wanted[2]):
            if wanted[1]:
                start, end = int(wanted[1]), min(int(wanted[2]) + 1 if wanted[2] else stored.size, stored.size)
            else:
                start, end = max(stored.size - int(wanted[2]), 0), stored.size
            if start >= stored.size or start >= end:
                raise InvalidRange()
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end - 1}/{stored.size}"))
        if data is None:
            return Reply(status, request.answer(*headers), zeros=end - start)
        body = data if (start, end) == (0, stored.size) else data[start:end]
        return Reply(status, request.answer(*headers), body=body)

    def put_object(self, request: _Request) -> Reply:
        headers, body = request.headers, request.body
        if len(request.key.encode("utf-8")) > MAX_KEY_BYTES:
            raise KeyTooLong(f"The object key is longer than {MAX_KEY_BYTES} bytes.")
        sent_md5 = headers.get("content-md5")
        if sent_md5 is not None:
            try:
                digest = base64.b64decode(sent_md5, validate=True)
            except ValueError:
                raise InvalidDigest() from None
            if len(digest) != 16:
                raise InvalidDigest()
            if digest != hashlib.md5(body).digest():
                raise BadDigest()
        storage_class = headers.get("x-cos-storage-class", "STANDARD").upper()
        if storage_class not in STORAGE_CLASSES:
            raise InvalidArgument(f"Invalid x-cos-storage-class: {storage_class}.")
        stored = self.backend.put_object(
            request.bucket,
            request.key,
            body,
            content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata={k: v for k, v in headers.items() if k.startswith("x-cos-meta-")},
            storage_class=storage_class,
            request_id=request.request_id,
        )
        return Reply(headers=request.answer(("ETag", stored.etag)))

    def delete_object(self, request: _Request) -> Reply:
        self.backend.delete_object(request.bucket, request.key)
        return Reply(204, request.answer())

    # ---- injected refusals: answered without processing anything --------------------------------

    def _refuse_drop(self, request: _Request, fault: CosFault) -> Reply:
        self._record(request.request_id, request.operation, request.bucket, request.key, None, None, "drop")
        return Reply(drop=True)

    def _refuse_error(self, request: _Request, fault: CosFault) -> Reply:
        self._record(
            request.request_id, request.operation, request.bucket, request.key, fault.status, fault.code, "error"
        )
        return self._error_reply(fault, request.resource, request.request_id, request.method)

    # ---- rendering ------------------------------------------------------------------------------

    def _error_reply(self, error: CosError | CosFault, resource: str, request_id: str, method: str) -> Reply:
        trace_id = self.backend.new_trace_id()
        headers = (("Content-Type", "application/xml"), ("x-cos-request-id", request_id), ("x-cos-trace-id", trace_id))
        if method == "HEAD":
            # HEAD answers carry no body, so the SDK sees only the status (and names a 404
            # "NoSuchResource" itself).
            return Reply(error.status, headers, send_body=False, length=0)
        echoed = error.extra if isinstance(error, CosError) else ()
        extra = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in echoed)
        body = (
            "<?xml version='1.0' encoding='utf-8' ?>\n<Error>"
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{extra}"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
            f"<TraceId>{trace_id}</TraceId></Error>"
        ).encode()
        return Reply(error.status, headers, body=body)

    def _record(
        self,
        request_id: str,
        operation: str,
        bucket: str,
        key: str,
        status: int | None,
        error_code: str | None,
        fault: str | None,
    ) -> None:
        call = Call(operation, bucket, key, status, error_code, self.backend.clock(), fault, request_id)
        self.backend.calls.record(call)


# ---- parsing the request -----------------------------------------------------------------------


def _parse_host(host: str) -> tuple[str, str]:
    match = _HOST.fullmatch(host)
    if match is None:
        raise InvalidURI(
            f"Host {host!r} is not <bucket>.cos.<region>.myqcloud.com "
            "(reach the fake with CosConfig(Region=..., IP=..., Port=...), not Domain/Endpoint).",
        )
    bucket, region = match["bucket"], match["region"]
    if bucket_name_problem(bucket, region):
        raise InvalidBucketName()
    return bucket, region


def _decode_path(raw_path: str) -> str:
    """The object key: the percent-decoded path without its leading "/" ("" for the bucket)."""
    if not raw_path.startswith("/"):
        raise InvalidURI()
    try:
        return unquote_to_bytes(raw_path[1:]).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidURI("The object key is not valid UTF-8.") from None


def _operation(method: str, key: str) -> str:
    if method not in _NAMES:
        raise MethodNotAllowed(f"The method {method} is not allowed against this resource.")
    return _NAMES[method][1 if key else 0]


def _check_params(operation: str, params: Mapping[str, str]) -> None:
    """Refuse query parameters the fake does not implement (sub-resources, versions, presigning)."""
    allowed = _QUERY_PARAMS.get(operation, frozenset())
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        raise OperationNotImplemented(f"The fake COS does not implement {operation} with ?{'&'.join(unknown)}.")


def _object_headers(stored: StoredObject) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", stored.content_type),
        ("ETag", stored.etag),
        ("Last-Modified", formatdate(stored.last_modified, usegmt=True)),
        ("Accept-Ranges", "bytes"),
        *sorted(stored.metadata.items()),
    ]
    if stored.storage_class != "STANDARD":
        headers.append(("x-cos-storage-class", stored.storage_class))
    return headers
