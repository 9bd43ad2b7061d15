"""The fake COS's account: its buckets and objects, and one method per API action.

No HTTP and no XML here, and no knowledge of them: fakes/cos/responses.py, built by the server
around this backend, parses a request, authenticates it and calls `list_objects`, `head_bucket`,
`head_object`, `get_object`, `put_object` or `delete_object`; each returns records
(fakes/cos/records.py) or raises a CosError (fakes/cos/exceptions.py). Tests call the same
methods to seed and inspect the state without HTTP or signatures.
"""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Callable, Mapping

from ..core.backend import ServiceBackend
from .exceptions import InvalidObjectState, NoSuchBucket, NoSuchKey
from .faults import CosFault
from .records import Call, ListResult, ObjectCreated, StoredObject
from .store import (
    ARCHIVED,
    DEFAULT_CONTENT_TYPE,
    MAX_KEYS,
    REGION,
    STORAGE_CLASSES,
    Bucket,
    Entry,
    bucket_name_problem,
    md5_etag,
    normalized_metadata,
    object_key_problem,
    page,
    quoted,
)

# The operations this fake implements, by COS's names: what a request can be (fakes/cos/responses.py
# answers each, and refuses any other with 501) and what an injected fault can target.
OPERATIONS = ("GetBucket", "HeadBucket", "GetObject", "HeadObject", "PutObject", "DeleteObject")


class CosBackend(ServiceBackend[Call, CosFault]):
    """One COS account. `clock` stamps Last-Modified and events (signatures always use real
    time); `latency_seconds` is added to every answer (a benchmark's network); `seed` makes
    request ids reproducible."""

    def __init__(
        self, *, clock: Callable[[], float] | None = None, latency_seconds: float = 0.0, seed: int = 0
    ) -> None:
        super().__init__(clock=clock, latency_seconds=latency_seconds)
        self.callback_errors: list[BaseException] = []  # raised by on_object_created callbacks
        self._seed = seed
        self._buckets: dict[str, Bucket] = {}
        self._callbacks: list[Callable[[ObjectCreated], object]] = []
        self._ids = random.Random(seed)
        self._counter = itertools.count(1)

    # ---- configuration --------------------------------------------------------------------

    def create_bucket(self, bucket: str, region: str) -> None:
        """Create `<name>-<appid>` in `region` (e.g. "photos-1250000000", "ap-guangzhou")."""
        if not REGION.fullmatch(region):
            raise ValueError(f"not a COS region: {region!r}")
        problem = bucket_name_problem(bucket, region)
        if problem:
            raise ValueError(problem)
        with self._lock:
            if bucket in self._buckets:
                raise ValueError(f"bucket {bucket!r} already exists")
            self._buckets[bucket] = Bucket(bucket, region)

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
        self.faults.inject(fault, times, _known(operation))

    def set_fault_rates(self, rates: Mapping[CosFault, float], seed: int = 0, operation: str | None = None) -> None:
        """Random faults at these rates, drawn from an RNG seeded with `seed`; queued faults go first."""
        self.faults.set_rates(rates.items(), seed, _known(operation))

    # ---- the API actions (also how tests seed and inspect) ----------------------------------

    def list_objects(
        self, bucket: str, prefix: str = "", marker: str = "", max_keys: int = MAX_KEYS, delimiter: str = ""
    ) -> ListResult:
        """One GET Bucket page, exactly as the wire answers it (max_keys is capped at 1000)."""
        max_keys = min(max_keys, MAX_KEYS)
        with self._lock:
            found = self._bucket(bucket)
            listed = page(found, prefix, marker, max_keys, delimiter)
        return ListResult(
            bucket=bucket,
            prefix=prefix,
            marker=marker,
            delimiter=delimiter,
            max_keys=max_keys,
            contents=tuple(found.describe(key, entry) for key, entry in listed.contents),
            common_prefixes=tuple(listed.common_prefixes),
            is_truncated=listed.is_truncated,
            next_marker=listed.next_marker,
        )

    def head_bucket(self, bucket: str) -> str:
        """The bucket's region, or NoSuchBucket."""
        with self._lock:
            return self._bucket(bucket).region

    def head_object(self, bucket: str, key: str) -> StoredObject:
        """The object, or CosError NoSuchBucket / NoSuchKey."""
        with self._lock:
            found = self._bucket(bucket)
            entry = found.entries.get(key)
        if entry is None:
            raise NoSuchKey()
        return found.describe(key, entry)

    head = head_object

    def get_object(self, bucket: str, key: str) -> tuple[StoredObject, bytes | None]:
        """The object and its bytes (None: a size-only object, whose bytes are zeros); an
        archived object is InvalidObjectState."""
        with self._lock:
            found = self._bucket(bucket)
            entry = found.entries.get(key)
        if entry is None:
            raise NoSuchKey()
        if entry.storage_class in ARCHIVED:
            raise InvalidObjectState()
        return found.describe(key, entry), entry.body

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes (generated zeros for a size-only object)."""
        with self._lock:
            entry = self._bucket(bucket).entries.get(key)
        if entry is None:
            raise NoSuchKey()
        return entry.body if entry.body is not None else bytes(entry.size)

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
        request_id: str | None = None,
    ) -> StoredObject:
        """Store an object; fires the on_object_created callbacks (with `request_id`, the PUT's
        x-cos-request-id, or a new one for a seeded object).

        With `size` (> 0) and no body the object stores nothing: GET streams `size` zero bytes
        and its ETag (unless given) is an opaque stable hash, like a multipart upload's - not the
        MD5 of the zeros, which would cost a full pass over them.
        """
        if size is not None and body and size != len(body):
            raise ValueError(f"size={size} but the body has {len(body)} bytes")
        if size is not None and size < 0:
            raise ValueError("size must be >= 0")
        key_problem = object_key_problem(key)
        if key_problem:
            raise ValueError(key_problem)
        if storage_class not in STORAGE_CLASSES:
            raise ValueError(f"unknown storage class {storage_class!r}")
        stored_body = bytes(body) if body or not size else None
        entry = Entry(
            size=len(body) if stored_body is not None else int(size or 0),
            body=stored_body,
            etag=quoted(etag) if etag else (md5_etag(body) if stored_body is not None else None),
            last_modified=self.clock() if last_modified is None else last_modified,
            content_type=content_type,
            metadata=normalized_metadata(metadata),
            storage_class=storage_class,
        )
        with self._lock:
            found = self._buckets.get(bucket)
            if found is None:
                raise KeyError(f"no bucket {bucket!r}: create_bucket() it first")
            found.store(key, entry)
        stored = found.describe(key, entry)
        self._notify(stored, request_id)
        return stored

    def delete_object(self, bucket: str, key: str) -> None:
        """Remove the object; a missing key is no error (COS answers 204 for it too)."""
        with self._lock:
            self._bucket(bucket).remove(key)

    # ---- inspection (tests) ---------------------------------------------------------------

    def objects(self, bucket: str) -> dict[str, StoredObject]:
        """Every object of `bucket`, in COS listing order."""
        with self._lock:
            found = self._bucket(bucket)
            items = [(key, found.entries[key]) for key in found.keys_in_order()]
        return {key: found.describe(key, entry) for key, entry in items}

    def count(self, operation: str | None = None) -> int:
        """How many requests (of `operation`, or all) arrived, faults and errors included."""
        return sum(1 for call in self.calls.snapshot() if operation is None or call.operation == operation)

    # ---- ids (seeded, so a run is reproducible) ------------------------------------------------

    def new_request_id(self) -> str:
        # COS request ids are base64 of "<hex time>_<hex>_<hex>_<counter>" (getrandbits and
        # count() are atomic under the GIL).
        raw = f"{int(self.clock()):08x}_{self._ids.getrandbits(32):08x}_{self._ids.getrandbits(16):x}_{next(self._counter)}"
        return base64.b64encode(raw.encode("ascii")).decode("ascii")

    def new_trace_id(self) -> str:
        return base64.b64encode(self._ids.getrandbits(384).to_bytes(48, "big")).decode("ascii")

    # ---- internals ---------------------------------------------------------------------------

    def _bucket(self, name: str) -> Bucket:
        """Call with the lock held."""
        found = self._buckets.get(name)
        if found is None:
            raise NoSuchBucket()
        return found

    def _notify(self, stored: StoredObject, request_id: str | None) -> None:
        """Run the on_object_created callbacks; a seeded object (request_id None) gets an id here."""
        with self._lock:
            callbacks = list(self._callbacks)
        if not callbacks:
            return
        if request_id is None:
            request_id = self.new_request_id()
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

    def _clear(self) -> None:
        self._buckets.clear()
        self._callbacks.clear()
        self.callback_errors.clear()
        self._ids = random.Random(self._seed)
        self._counter = itertools.count(1)


def _known(operation: str | None) -> str | None:
    if operation is not None and operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; one of {sorted(OPERATIONS)}")
    return operation
