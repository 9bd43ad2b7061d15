"""The objects the embedded fake COS holds, so `autoenhance backfill` without `--live` has work.

A bucket that looks lived-in: images, a few non-images and folder markers, and some images
whose output exists already (backfill skips those).
"""

from __future__ import annotations

from typing import Any


def seed_demo_bucket(backend: Any, bucket: str, prefix: str, count: int) -> None:
    """Put `count` demo objects under `prefix` in `bucket` of a fake COS backend."""
    for i in range(count):
        kind = i % 10
        if kind == 7:
            key = f"{prefix}docs/report-{i:04d}.pdf"
        elif kind == 8:
            key = f"{prefix}albums/{i // 10:03d}/"
        else:
            key = f"{prefix}albums/{i // 10:03d}/photo {i:04d}.{'png' if kind == 3 else 'jpg'}"
        backend.put_object(bucket, key, size=0 if key.endswith("/") else 200_000 + i)
        if kind == 5:  # this one was enhanced already: its output exists
            backend.put_object(bucket, f"enhanced/{key.rsplit('/', 1)[0]}/photo {i:04d}.jpeg", size=150_000)
