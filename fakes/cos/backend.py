"""The fake COS itself: state and rules, no HTTP (fakes/cos/server.py puts it on the wire).

`respond()` answers one XML-API request the way COS does: it reads the bucket and region from
the Host header, applies any injected fault, checks the signature (fakes/cos/signature.py), then
runs the operation and returns a `Reply` telling the server what to put on (or withhold from)
the wire. The other public methods seed and inspect the state directly, without HTTP.

Implemented operations: GetBucket (list objects, v1 with marker), HeadBucket, GetObject
(with Range), HeadObject, PutObject, DeleteObject. Anything else answers 501 NotImplemented, so
a client that starts using a new API fails loudly instead of being silently accepted.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import re
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote_to_bytes
from xml.sax.saxutils import escape

from . import signature

OPERATIONS = frozenset({"GetBucket", "HeadBucket", "GetObject", "HeadObject", "PutObject", "DeleteObject"})
MAX_KEYS = 1000  # GET Bucket's max-keys default and cap
MAX_KEY_BYTES = 850  # COS object key limit (UTF-8 bytes)
DEFAULT_CONTENT_TYPE = "application/octet-stream"
STORAGE_CLASSES = frozenset(
    {"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "ARCHIVE", "DEEP_ARCHIVE", "MAZ_STANDARD", "MAZ_STANDARD_IA"}
)
_ARCHIVED = frozenset({"ARCHIVE", "DEEP_ARCHIVE"})  # GET needs a restore first
EVENT_PUT = "cos:ObjectCreated:Put"

# <BucketName-APPID>: lowercase letters, digits and "-", not starting or ending with "-"; the
# whole request domain <bucket>.cos.<region>.myqcloud.com is at most 60 characters (COS naming rules).
_BUCKET_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+")
_MAX_DOMAIN = 60
_HOST = re.compile(r"(?P<bucket>[^.]+)\.cos\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)")
_REGION = re.compile(r"[a-z]+(?:-[a-z0-9]+)+")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_XML_ATTR = {'"': "&quot;"}  # COS writes ETag quotes as &quot;
_LIST_PARAMS = frozenset({"prefix", "delimiter", "marker", "max-keys", "encoding-type"})
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


class CosError(Exception):
    """A COS error answer: HTTP `status`, wire `code` (e.g. "NoSuchKey") and `message`;
    `extra` adds (tag, text) elements to the error body (SignatureDoesNotMatch's StringToSign)."""

    def __init__(self, status: int, code: str, message: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


FaultKind = Literal["error", "drop", "slow", "lost_answer"]


@dataclass(frozen=True)
class CosFault:
    """A failure to inject. Build with the class methods, e.g. `CosFault.error(503, "SlowDown")`."""

    kind: FaultKind
    status: int = 500
    code: str = ""
    message: str = ""
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int, code: str, message: str = "") -> CosFault:
        """An XML error answer with this status and code; nothing is processed."""
        return cls("error", status=status, code=code, message=message or f"Injected fault: {code}.")

    @classmethod
    def drop(cls) -> CosFault:
        """Close the connection without answering; nothing is processed."""
        return cls("drop")

    @classmethod
    def slow(cls, seconds: float) -> CosFault:
        """Process the request, then wait this long before answering."""
        return cls("slow", seconds=seconds)

    @classmethod
    def lost_answer(cls) -> CosFault:
        """Process the request (a PUT stores the object), then close without answering."""
        return cls("lost_answer")


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer puts on the wire.

    The body is `body` followed by `zeros` zero bytes (objects seeded with a size only are
    generated, never stored). `length` overrides Content-Length (HEAD describes the object but
    sends no body); `drop` means close the connection and send nothing; `delay` is slept first.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    zeros: int = 0
    length: int | None = None
    send_body: bool = True
    delay: float = 0.0
    drop: bool = False

    @property
    def content_length(self) -> int:
        return len(self.body) + self.zeros if self.length is None else self.length


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


class _Entry:
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
class _Bucket:
    name: str
    region: str
    entries: dict[str, _Entry] = field(default_factory=dict)
    # Keys in COS order, built on the first listing and kept up to date after that (seeding
    # 20,000 keys in random order then costs one sort, not 20,000 insertions).
    sorted_keys: list[str] | None = None

    @property
    def appid(self) -> str:
        return self.name.rpartition("-")[2]

    def keys_in_order(self) -> list[str]:
        if self.sorted_keys is None:
            # COS lists in UTF-8 byte order, which is code-point order, which is str order.
            self.sorted_keys = sorted(self.entries)
        return self.sorted_keys

    def store(self, key: str, entry: _Entry) -> None:
        if key not in self.entries and self.sorted_keys is not None:
            insort(self.sorted_keys, key)
        self.entries[key] = entry

    def remove(self, key: str) -> None:
        if self.entries.pop(key, None) is not None and self.sorted_keys is not None:
            del self.sorted_keys[bisect_left(self.sorted_keys, key)]


@dataclass
class _Credential:
    secret_key: str
    token: str | None


@dataclass
class _Page:
    contents: list[tuple[str, _Entry]]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str


@dataclass
class _Request:
    """One parsed request (what every operation needs)."""

    method: str
    operation: str
    host: str
    raw_path: str
    key: str
    params: dict[str, str]
    headers: Mapping[str, str]  # lowercase names
    body: bytes
    request_id: str

    @property
    def resource(self) -> str:  # how COS names the resource in error bodies
        return self.host + self.raw_path


class CosBackend:
    """One COS account. `clock` stamps Last-Modified and events (signatures always use real
    time); `latency_seconds` is added to every answer (a benchmark's network); `seed` makes
    request ids reproducible."""

    def __init__(
        self, *, clock: Callable[[], float] | None = None, latency_seconds: float = 0.0, seed: int = 0
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.latency_seconds = latency_seconds
        self.calls: list[Call] = []
        self.callback_errors: list[BaseException] = []  # raised by on_object_created callbacks
        self._buckets: dict[str, _Bucket] = {}
        self._credentials: dict[str, _Credential] = {}
        self._queued: list[tuple[str | None, CosFault]] = []
        self._callbacks: list[Callable[[ObjectCreated], object]] = []
        self._ids = random.Random(seed)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()  # the server is threaded: every state access holds it

    # ---- configuration and seeding --------------------------------------------------------

    def create_bucket(self, bucket: str, region: str) -> None:
        """Create `<name>-<appid>` in `region` (e.g. "photos-1250000000", "ap-guangzhou")."""
        if not _REGION.fullmatch(region):
            raise ValueError(f"not a COS region: {region!r}")
        problem = _bucket_name_problem(bucket, region)
        if problem:
            raise ValueError(problem)
        with self._lock:
            if bucket in self._buckets:
                raise ValueError(f"bucket {bucket!r} already exists")
            self._buckets[bucket] = _Bucket(bucket, region)

    def add_credential(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        """Accept requests signed with this key; with a token, they must also carry it in
        x-cos-security-token (temporary credentials, like an SCF execution role's)."""
        with self._lock:
            self._credentials[secret_id] = _Credential(secret_key, token)

    def on_object_created(self, callback: Callable[[ObjectCreated], object]) -> Callable[[ObjectCreated], object]:
        """Call `callback(ObjectCreated)` after every successful PUT, wire or seeded.

        It runs in the thread that served the PUT, after the object is stored and before the
        answer is sent, so when the uploader's put_object returns the callback has run. Its
        exceptions are kept in `callback_errors`, never sent to the uploader. Returns `callback`
        (usable as a decorator).
        """
        with self._lock:
            self._callbacks.append(callback)
        return callback

    def inject(self, fault: CosFault, times: int = 1, operation: str | None = None) -> None:
        """Queue `fault` for the next `times` requests of `operation` (None: any), FIFO."""
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {sorted(OPERATIONS)}")
        with self._lock:
            self._queued.extend([(operation, fault)] * times)

    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes = b"",
        *,
        size: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        etag: str | None = None,
        last_modified: float | None = None,
        metadata: Mapping[str, str] | None = None,
        storage_class: str = "STANDARD",
    ) -> StoredObject:
        """Seed an object (no HTTP, no signature); fires the on_object_created callbacks.

        With `size` (> 0) and no body the object stores nothing: GET streams `size` zero bytes
        and its ETag (unless given) is an opaque stable hash, like a multipart upload's - not the
        MD5 of the zeros, which would cost a full pass over them.
        """
        if size is not None and body and size != len(body):
            raise ValueError(f"size={size} but the body has {len(body)} bytes")
        if size is not None and size < 0:
            raise ValueError("size must be >= 0")
        if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise ValueError(f"object keys are 1 to {MAX_KEY_BYTES} UTF-8 bytes")
        if storage_class not in STORAGE_CLASSES:
            raise ValueError(f"unknown storage class {storage_class!r}")
        stored_body = bytes(body) if body or not size else None
        entry = _Entry(
            size=len(body) if stored_body is not None else int(size or 0),
            body=stored_body,
            etag=_quoted(etag) if etag else (_md5_etag(body) if stored_body is not None else None),
            last_modified=self.clock() if last_modified is None else last_modified,
            content_type=content_type,
            metadata=_normalized_metadata(metadata),
            storage_class=storage_class,
        )
        with self._lock:
            found = self._buckets.get(bucket)
            if found is None:
                raise KeyError(f"no bucket {bucket!r}: create_bucket() it first")
            found.store(key, entry)
        stored = _stored(found, key, entry)
        self._notify(stored, None)
        return stored

    # ---- inspection (tests) ---------------------------------------------------------------

    def head(self, bucket: str, key: str) -> StoredObject:
        """The object, or CosError NoSuchBucket / NoSuchKey."""
        with self._lock:
            found = self._bucket(bucket)
            entry = found.entries.get(key)
        if entry is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        return _stored(found, key, entry)

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes (generated zeros for a size-only object)."""
        with self._lock:
            entry = self._bucket(bucket).entries.get(key)
        if entry is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        return entry.body if entry.body is not None else bytes(entry.size)

    def objects(self, bucket: str) -> dict[str, StoredObject]:
        """Every object of `bucket`, in COS listing order."""
        with self._lock:
            found = self._bucket(bucket)
            items = [(key, found.entries[key]) for key in found.keys_in_order()]
        return {key: _stored(found, key, entry) for key, entry in items}

    def list_objects(
        self, bucket: str, prefix: str = "", marker: str = "", max_keys: int = MAX_KEYS, delimiter: str = ""
    ) -> ListResult:
        """One GET Bucket page, exactly as the wire answers it (max_keys is capped at 1000)."""
        max_keys = min(max_keys, MAX_KEYS)
        with self._lock:
            found = self._bucket(bucket)
            page = _page(found, prefix, marker, max_keys, delimiter)
        return ListResult(
            bucket=bucket,
            prefix=prefix,
            marker=marker,
            delimiter=delimiter,
            max_keys=max_keys,
            contents=tuple(_stored(found, key, entry) for key, entry in page.contents),
            common_prefixes=tuple(page.common_prefixes),
            is_truncated=page.is_truncated,
            next_marker=page.next_marker,
        )

    def count(self, operation: str | None = None) -> int:
        """How many requests (of `operation`, or all) arrived, faults and errors included."""
        with self._lock:
            return sum(1 for call in self.calls if operation is None or call.operation == operation)

    # ---- the API ----------------------------------------------------------------------------

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Reply:
        """Answer one HTTP request (`target` is the raw request-target, path and query;
        `headers` have lowercase names). This is what the server calls."""
        reply, extra_delay = self._respond(method.upper(), target, headers, body)
        return replace(reply, delay=self.latency_seconds + extra_delay)

    def _respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[Reply, float]:
        request_id = self._new_request_id()
        raw_path, _, query = target.partition("?")
        host = headers.get("host", "").split(":", 1)[0]
        operation, bucket, key = "Unknown", "", ""
        try:
            bucket, region = _parse_host(host)
            key = _decode_path(raw_path)
            operation = _operation(method, key)
            if operation not in OPERATIONS:
                raise CosError(501, "NotImplemented", f"The fake COS does not implement {operation}.")
            params = dict(parse_qsl(query, keep_blank_values=True))
            _check_params(operation, params)
        except CosError as e:
            self._record(request_id, operation, bucket, key, e.status, e.code, None)
            return self._error_reply(e, host + raw_path, request_id, method), 0.0
        request = _Request(method, operation, host, raw_path, key, params, headers, body, request_id)

        fault = self._next_fault(operation)
        if fault is not None and fault.kind == "drop":
            self._record(request_id, operation, bucket, key, None, None, "drop")
            return Reply(drop=True), 0.0
        if fault is not None and fault.kind == "error":
            injected = CosError(fault.status, fault.code, fault.message)
            self._record(request_id, operation, bucket, key, injected.status, injected.code, "error")
            return self._error_reply(injected, request.resource, request_id, method), 0.0

        error_code = None
        try:
            reply = self._handle(request, bucket, region)
        except CosError as e:
            reply, error_code = self._error_reply(e, request.resource, request_id, method), e.code
        kind = fault.kind if fault is not None else None
        if kind == "lost_answer":
            self._record(request_id, operation, bucket, key, None, error_code, kind)
            return Reply(drop=True), 0.0
        self._record(request_id, operation, bucket, key, reply.status, error_code, kind)
        return reply, fault.seconds if fault is not None else 0.0

    def _handle(self, request: _Request, bucket_name: str, region: str) -> Reply:
        with self._lock:
            bucket = self._buckets.get(bucket_name)
        if bucket is None or bucket.region != region:
            # A bucket that lives in another region is not found at this region's endpoint.
            raise CosError(404, "NoSuchBucket", "The specified bucket does not exist.")
        self._authenticate(request)
        if request.operation == "GetBucket":
            return self._get_bucket(request, bucket)
        if request.operation == "HeadBucket":
            return Reply(headers=self._headers(request, ("x-cos-bucket-region", bucket.region)))
        if request.operation in ("GetObject", "HeadObject"):
            return self._get_object(request, bucket)
        if request.operation == "PutObject":
            return self._put_object(request, bucket)
        if request.operation == "DeleteObject":
            with self._lock:
                bucket.remove(request.key)
            return Reply(204, self._headers(request))
        raise CosError(501, "NotImplemented", f"The fake COS does not implement {request.operation}.")

    def _authenticate(self, request: _Request) -> None:
        auth = signature.parse_authorization(request.headers.get("authorization"))
        with self._lock:
            credential = self._credentials.get(auth.secret_id) if auth else None
        rejection = signature.verify(
            auth,
            credential.secret_key if credential else None,
            method=request.method,
            path="/" + request.key,
            params=request.params,
            headers=request.headers,
        )
        if rejection is None and credential is not None:
            # A temporary SecretId is only valid with its token; a permanent one takes none.
            if (credential.token or "") != request.headers.get("x-cos-security-token", ""):
                rejection = signature.Rejection(
                    signature.INVALID_ACCESS_KEY_ID,
                    "The x-cos-security-token is missing, invalid, or does not belong to this SecretId.",
                )
        if rejection is not None:
            echoed = (("StringToSign", rejection.string_to_sign), ("FormatString", rejection.format_string))
            raise CosError(403, rejection.code, rejection.message, tuple(item for item in echoed if item[1]))

    def _get_bucket(self, request: _Request, bucket: _Bucket) -> Reply:
        params = request.params
        encoding = params.get("encoding-type", "")
        if encoding not in ("", "url"):
            raise CosError(400, "InvalidArgument", "encoding-type must be url.")
        raw_max = params.get("max-keys", "")
        if raw_max and not raw_max.isdigit():
            raise CosError(400, "InvalidArgument", "max-keys must be an integer between 0 and 1000.")
        max_keys = min(int(raw_max), MAX_KEYS) if raw_max else MAX_KEYS
        prefix, marker, delimiter = params.get("prefix", ""), params.get("marker", ""), params.get("delimiter", "")
        with self._lock:
            page = _page(bucket, prefix, marker, max_keys, delimiter)

        def text(value: str) -> str:  # encoding-type=url: percent-encode (the SDK url-decodes these)
            return quote(value.encode("utf-8"), safe="-_.~") if encoding else escape(value)

        owner = f"<Owner><ID>{bucket.appid}</ID><DisplayName>{bucket.appid}</DisplayName></Owner>"
        parts = ["<?xml version='1.0' encoding='utf-8' ?>\n<ListBucketResult>", f"<Name>{bucket.name}</Name>"]
        if encoding:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<Prefix>{text(prefix)}</Prefix><Marker>{text(marker)}</Marker><MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        parts.append(f"<IsTruncated>{'true' if page.is_truncated else 'false'}</IsTruncated>")
        if page.is_truncated:
            parts.append(f"<NextMarker>{text(page.next_marker)}</NextMarker>")
        parts.extend(f"<CommonPrefixes><Prefix>{text(cp)}</Prefix></CommonPrefixes>" for cp in page.common_prefixes)
        for key, entry in page.contents:
            parts.append(
                f"<Contents><Key>{text(key)}</Key><LastModified>{_iso(entry.last_modified)}</LastModified>"
                f"<ETag>{escape(_etag(key, entry), _XML_ATTR)}</ETag><Size>{entry.size}</Size>{owner}"
                f"<StorageClass>{entry.storage_class}</StorageClass></Contents>"
            )
        parts.append("</ListBucketResult>")
        body = "".join(parts).encode("utf-8")
        return Reply(headers=self._headers(request, ("Content-Type", "application/xml")), body=body)

    def _get_object(self, request: _Request, bucket: _Bucket) -> Reply:
        with self._lock:
            entry = bucket.entries.get(request.key)
        head = request.operation == "HeadObject"
        if entry is None:
            raise CosError(404, "NoSuchKey", "The specified key does not exist.")
        if not head and entry.storage_class in _ARCHIVED:
            raise CosError(403, "InvalidObjectState", "The object is archived: restore it before GET.")
        headers = [
            ("Content-Type", entry.content_type),
            ("ETag", _etag(request.key, entry)),
            ("Last-Modified", formatdate(entry.last_modified, usegmt=True)),
            ("Accept-Ranges", "bytes"),
            *sorted((entry.metadata or {}).items()),
        ]
        if entry.storage_class != "STANDARD":
            headers.append(("x-cos-storage-class", entry.storage_class))
        if head:
            return Reply(headers=self._headers(request, *headers), length=entry.size, send_body=False)
        overrides = {_RESPONSE_OVERRIDES[k]: v for k, v in request.params.items() if k in _RESPONSE_OVERRIDES}
        headers = [(name, overrides.pop(name, value)) for name, value in headers] + sorted(overrides.items())
        start, end, status = 0, entry.size, 200
        wanted = _RANGE.fullmatch(request.headers.get("range", "").strip())
        if wanted and (wanted[1] or wanted[2]):
            if wanted[1]:
                start, end = int(wanted[1]), min(int(wanted[2]) + 1 if wanted[2] else entry.size, entry.size)
            else:
                start, end = max(entry.size - int(wanted[2]), 0), entry.size
            if start >= entry.size or start >= end:
                raise CosError(416, "InvalidRange", "The requested range is not satisfiable.")
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end - 1}/{entry.size}"))
        if entry.body is None:
            return Reply(status, self._headers(request, *headers), zeros=end - start)
        body = entry.body if (start, end) == (0, entry.size) else entry.body[start:end]
        return Reply(status, self._headers(request, *headers), body=body)

    def _put_object(self, request: _Request, bucket: _Bucket) -> Reply:
        headers, body = request.headers, request.body
        if len(request.key.encode("utf-8")) > MAX_KEY_BYTES:
            raise CosError(400, "KeyTooLong", f"The object key is longer than {MAX_KEY_BYTES} bytes.")
        sent_md5 = headers.get("content-md5")
        if sent_md5 is not None:
            try:
                digest = base64.b64decode(sent_md5, validate=True)
            except ValueError:
                raise CosError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.") from None
            if len(digest) != 16:
                raise CosError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
            if digest != hashlib.md5(body).digest():
                raise CosError(400, "BadDigest", "The Content-MD5 you specified did not match what was received.")
        storage_class = headers.get("x-cos-storage-class", "STANDARD").upper()
        if storage_class not in STORAGE_CLASSES:
            raise CosError(400, "InvalidArgument", f"Invalid x-cos-storage-class: {storage_class}.")
        entry = _Entry(
            size=len(body),
            body=body,
            etag=_md5_etag(body),
            last_modified=self.clock(),
            content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata={k: v for k, v in headers.items() if k.startswith("x-cos-meta-")} or None,
            storage_class=storage_class,
        )
        with self._lock:
            bucket.store(request.key, entry)
        self._notify(_stored(bucket, request.key, entry), request.request_id)
        return Reply(headers=self._headers(request, ("ETag", entry.etag or "")))

    # ---- internals ---------------------------------------------------------------------------

    def _bucket(self, name: str) -> _Bucket:
        """Call with the lock held."""
        found = self._buckets.get(name)
        if found is None:
            raise CosError(404, "NoSuchBucket", "The specified bucket does not exist.")
        return found

    def _headers(self, request: _Request, *headers: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (*headers, ("x-cos-request-id", request.request_id))

    def _error_reply(self, error: CosError, resource: str, request_id: str, method: str) -> Reply:
        trace_id = self._new_trace_id()
        headers = (("Content-Type", "application/xml"), ("x-cos-request-id", request_id), ("x-cos-trace-id", trace_id))
        if method == "HEAD":
            # HEAD answers carry no body, so the SDK sees only the status (and names a 404
            # "NoSuchResource" itself).
            return Reply(error.status, headers, send_body=False, length=0)
        extra = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in error.extra)
        body = (
            "<?xml version='1.0' encoding='utf-8' ?>\n<Error>"
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{extra}"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
            f"<TraceId>{trace_id}</TraceId></Error>"
        ).encode()
        return Reply(error.status, headers, body=body)

    def _notify(self, stored: StoredObject, request_id: str | None) -> None:
        """Run the on_object_created callbacks; a seeded object (request_id None) gets an id here."""
        with self._lock:
            callbacks = list(self._callbacks)
        if not callbacks:
            return
        if request_id is None:
            request_id = self._new_request_id()
        event = ObjectCreated(
            bucket=stored.bucket,
            region=stored.region,
            key=stored.key,
            size=stored.size,
            etag=stored.etag,
            request_id=request_id,
            time=stored.last_modified,
            content_type=stored.content_type,
            metadata=stored.metadata,
        )
        for callback in callbacks:
            try:
                callback(event)
            except Exception as e:  # noqa: BLE001 - a broken callback must not break the upload
                with self._lock:
                    self.callback_errors.append(e)

    def _next_fault(self, operation: str) -> CosFault | None:
        with self._lock:
            for i, (wanted, fault) in enumerate(self._queued):
                if wanted is None or wanted == operation:
                    del self._queued[i]
                    return fault
        return None

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
        with self._lock:
            self.calls.append(Call(operation, bucket, key, status, error_code, self.clock(), fault, request_id))

    def _new_request_id(self) -> str:
        # COS request ids are base64 of "<hex time>_<hex>_<hex>_<counter>"; a seeded RNG makes
        # them reproducible (getrandbits and count() are atomic under the GIL).
        raw = f"{int(self.clock()):08x}_{self._ids.getrandbits(32):08x}_{self._ids.getrandbits(16):x}_{next(self._counter)}"
        return base64.b64encode(raw.encode("ascii")).decode("ascii")

    def _new_trace_id(self) -> str:
        return base64.b64encode(self._ids.getrandbits(384).to_bytes(48, "big")).decode("ascii")


# ---- pure helpers ----------------------------------------------------------------------------------


def _bucket_name_problem(bucket: str, region: str) -> str:
    """Why `bucket` is not a valid COS bucket name ("" when it is)."""
    if not _BUCKET_NAME.fullmatch(bucket):
        return (
            f"invalid bucket name {bucket!r}: <name>-<appid>, lowercase letters, digits and '-', "
            "not starting or ending with '-'"
        )
    if len(f"{bucket}.cos.{region}.myqcloud.com") > _MAX_DOMAIN:
        return f"bucket name {bucket!r} too long: the request domain exceeds {_MAX_DOMAIN} characters"
    return ""


def _parse_host(host: str) -> tuple[str, str]:
    match = _HOST.fullmatch(host)
    if match is None:
        raise CosError(
            400,
            "InvalidURI",
            f"Host {host!r} is not <bucket>.cos.<region>.myqcloud.com "
            "(reach the fake with CosConfig(Region=..., IP=..., Port=...), not Domain/Endpoint).",
        )
    bucket, region = match["bucket"], match["region"]
    if _bucket_name_problem(bucket, region):
        raise CosError(400, "InvalidBucketName", "The specified bucket is not valid.")
    return bucket, region


def _decode_path(raw_path: str) -> str:
    """The object key: the percent-decoded path without its leading "/" ("" for the bucket)."""
    if not raw_path.startswith("/"):
        raise CosError(400, "InvalidURI", "Couldn't parse the specified URI.")
    try:
        return unquote_to_bytes(raw_path[1:]).decode("utf-8")
    except UnicodeDecodeError:
        raise CosError(400, "InvalidURI", "The object key is not valid UTF-8.") from None


def _operation(method: str, key: str) -> str:
    names = {
        "GET": ("GetBucket", "GetObject"),
        "HEAD": ("HeadBucket", "HeadObject"),
        "PUT": ("PutBucket", "PutObject"),
        "DELETE": ("DeleteBucket", "DeleteObject"),
        "POST": ("PostBucket", "PostObject"),
    }
    if method not in names:
        raise CosError(405, "MethodNotAllowed", f"The method {method} is not allowed against this resource.")
    return names[method][1 if key else 0]


def _check_params(operation: str, params: Mapping[str, str]) -> None:
    """Refuse query parameters the fake does not implement (sub-resources, versions, presigning)."""
    if operation == "GetBucket":
        allowed = _LIST_PARAMS
    elif operation == "GetObject":
        allowed = frozenset(_RESPONSE_OVERRIDES)
    else:
        allowed = frozenset()
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        raise CosError(501, "NotImplemented", f"The fake COS does not implement {operation} with ?{'&'.join(unknown)}.")


def _page(bucket: _Bucket, prefix: str, marker: str, max_keys: int, delimiter: str) -> _Page:
    """One GET Bucket page (call with the lock held).

    Keys after `marker` that start with `prefix`, in order; with a delimiter, keys whose rest
    (after the prefix) contains it are rolled up into one CommonPrefix that counts as one entry.
    A marker that is itself a CommonPrefix (what NextMarker is after a rolled-up entry) skips
    that whole group, so paging never returns it twice.
    """
    if max_keys <= 0:
        return _Page([], [], False, "")
    keys = bucket.keys_in_order()
    i = max(bisect_right(keys, marker) if marker else 0, bisect_left(keys, prefix))
    contents: list[tuple[str, _Entry]] = []
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
    return _Page(contents, prefixes, truncated, last if truncated else "")


def _after_group(keys: list[str], common: str, i: int) -> int:
    """The index of the first key after `i` that does not start with `common`."""
    last = ord(common[-1])
    if last < 0x10FFFF:
        return bisect_left(keys, common[:-1] + chr(last + 1), i)
    while i < len(keys) and keys[i].startswith(common):
        i += 1
    return i


def _stored(bucket: _Bucket, key: str, entry: _Entry) -> StoredObject:
    return StoredObject(
        bucket=bucket.name,
        region=bucket.region,
        key=key,
        size=entry.size,
        etag=_etag(key, entry),
        last_modified=entry.last_modified,
        content_type=entry.content_type,
        metadata=dict(entry.metadata or {}),
        storage_class=entry.storage_class,
        has_body=entry.body is not None,
    )


def _etag(key: str, entry: _Entry) -> str:
    if entry.etag is not None:
        return entry.etag
    return '"' + hashlib.md5(f"{key}\0{entry.size}".encode()).hexdigest() + '"'


def _md5_etag(body: bytes) -> str:
    return '"' + hashlib.md5(body).hexdigest() + '"'


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _normalized_metadata(metadata: Mapping[str, str] | None) -> dict[str, str] | None:
    if not metadata:
        return None
    out = {}
    for name, value in metadata.items():
        lowered = name.lower()
        out[lowered if lowered.startswith("x-cos-meta-") else "x-cos-meta-" + lowered] = value
    return out


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
