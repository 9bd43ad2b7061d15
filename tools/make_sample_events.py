"""Regenerate events/*.json, the real-shaped sample COS events shipped with the project.

Usage: python tools/make_sample_events.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autoenhance.sample_events import cos_event, cos_record

BUCKET, REGION = "photos-1250000000", "ap-guangzhou"
T = 1_764_000_000

SAMPLES = {
    "put.json": [cos_record(BUCKET, REGION, "uploads/2026/cat.jpg", event_time=T)],
    "post-multipart-form.json": [
        cos_record(
            BUCKET,
            REGION,
            "uploads/form/avatar.png",
            "post",
            event_time=T + 1,
            content_type="multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        )
    ],
    "copy.json": [cos_record(BUCKET, REGION, "uploads/copied/dog.jpeg", "copy", event_time=T + 2)],
    "multipart-upload.json": [
        cos_record(BUCKET, REGION, "uploads/big/panorama.webp", "multipart", size=48_000_000, event_time=T + 3)
    ],
    "versioned-bucket.json": [
        cos_record(
            BUCKET, REGION, "uploads/versioned/logo.png", event_time=T + 4, version_id="MTg0NDUxNTc1NjIzMTQ1MDAwODg"
        )
    ],
    "batch.json": [
        cos_record(BUCKET, REGION, f"uploads/batch/img-{i:02d}.jpg", event_time=T + 10 + i) for i in range(5)
    ],
    "unicode-and-space-key.json": [
        cos_record(BUCKET, REGION, "uploads/假期 照片/海边 日落+1 100%.jpg", event_time=T + 20)
    ],
    "non-image.json": [cos_record(BUCKET, REGION, "uploads/docs/report.pdf", event_time=T + 30)],
    "delete.json": [cos_record(BUCKET, REGION, "uploads/2026/cat.jpg", "delete", event_time=T + 40)],
    "output-directory-object.json": [cos_record(BUCKET, REGION, "enhanced/uploads/2026/cat.jpg", event_time=T + 50)],
    # The uploader's own say, in the object's metadata (x-cos-meta-autoenhance), and RULES_FILE's folders:
    "opt-out-metadata.json": [
        cos_record(
            BUCKET,
            REGION,
            "uploads/2026/keep-as-is.jpg",
            event_time=T + 60,
            metadata={"x-cos-meta-autoenhance": "skip"},
        )
    ],
    "avatar-upload.json": [cos_record(BUCKET, REGION, "uploads/avatars/u123.png", event_time=T + 70)],
    "product-shot.json": [
        cos_record(
            BUCKET, REGION, "uploads/products/shoe.jpg", event_time=T + 80, metadata={"x-cos-meta-purpose": "print"}
        )
    ],
    # The uploader deleted the object at once and COS delivered both in one event: the function
    # submits the upload (it never looks in the bucket) and skips the delete; MPS then finds no
    # input and the task fails with SourceFileError (the demo report's failure).
    "deleted-before-processing.json": [
        cos_record(BUCKET, REGION, "uploads/2026/tmp-upload.jpg", event_time=T + 90),
        cos_record(BUCKET, REGION, "uploads/2026/tmp-upload.jpg", "delete", event_time=T + 90),
    ],
}


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "events"
    out.mkdir(exist_ok=True)
    for name, records in SAMPLES.items():
        text = json.dumps(cos_event(records), indent=2, ensure_ascii=False) + "\n"
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(SAMPLES)} events to {out}")


if __name__ == "__main__":
    main()
