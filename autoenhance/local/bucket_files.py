"""The embedded bucket's files: photos `generate-event --file` put there, and what the fake MPS made of them.

The embedded fake COS lives only as long as a command. The objects that carry real bytes are kept
as files under `<state dir>/buckets/<bucket>/<key>`, so `replay` and `backfill` find the photo an
event was generated from and the fake MPS processes it (fakes/mps/imaging.py), and `status` can
name the output file it wrote.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakes.cos import CosBackend, StoredObject


def buckets_dir() -> Path:
    from .fake_cloud import state_dir

    return state_dir() / "buckets"


def local_file(bucket: str, key: str) -> Path | None:
    """Where the object's file is kept (None: a key no file can mirror, such as one with '..')."""
    parts = PurePosixPath(key.lstrip("/")).parts
    if not parts or any(part in ("..", ".") for part in parts) or "/" in bucket or bucket in ("", ".", ".."):
        return None
    return buckets_dir().joinpath(bucket, *parts)


def put_file(bucket: str, key: str, body: bytes) -> Path:
    """Keep `body` as the embedded bucket's object `key` (what generate-event --file does)."""
    path = local_file(bucket, key)
    if path is None:
        raise ValueError(f"key {key!r} cannot be kept as a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def stored_body(bucket: str, key: str, etag: str) -> bytes | None:
    """The kept file's bytes when they are the upload's (their MD5 is the record's ETag), else None."""
    path = local_file(bucket, key)
    if path is None or not path.is_file():
        return None
    body = path.read_bytes()
    return body if hashlib.md5(body).hexdigest() == etag.strip('"').lower() else None


def save_outputs(cos: CosBackend, objects: list[StoredObject]) -> None:
    """Keep every object with bytes the fake MPS wrote, so `status` can name its file."""
    for stored in objects:
        path = local_file(stored.bucket, stored.key)
        if stored.has_body and path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(cos.get(stored.bucket, stored.key))


def seed_from_files(cos: CosBackend, bucket: str, prefix: str) -> None:
    """Put the bucket's kept files under `prefix` into the fake COS (backfill's demo bucket)."""
    root = buckets_dir() / bucket
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_file() and key.startswith(prefix):
            cos.put_object(bucket, key, path.read_bytes())
