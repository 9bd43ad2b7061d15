"""Local images through the function's decision and the local MPS: what each upload would become.

Each image becomes the record COS would deliver for its upload (autoenhance/sample_events.py,
parsed by handler/cos_event.py), so `handler.plan.plan_record` picks its rule and builds the very
ProcessImage request the function sends. A submitted request then runs on the fake MPS wired to a
fake COS holding the image (in this process, on a fake clock: no waiting), and the output object
MPS writes is read back with the steps that made it (fakes/mps/imaging.py).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from fakes.cos import CosBackend
from fakes.mps import FakeClock, MpsBackend, MpsError
from fakes.mps.backend import PROCESSING_SECONDS, WAITING_SECONDS
from fakes.mps.imaging import SOURCE_FORMATS, Step
from fakes.mps.records import Caller, json_object, json_text
from handler.config import Settings
from handler.cos_event import CosUploadRecord, parse_records
from handler.plan import Fail, Skip, plan_record

from ..sample_events import cos_event, cos_record

CALLER = Caller(secret_id="autoenhance-preview", region="")


@dataclass(frozen=True)
class Facts:
    """What the page shows of an image."""

    format: str
    width: int
    height: int
    mode: str
    size: int  # bytes

    def describe(self) -> str:
        return f"{self.width}x{self.height} {self.format} {self.mode}, {self.size:,} bytes"


@dataclass(frozen=True)
class Upload:
    """One local image, uploaded as `key` with these x-cos-meta-* headers."""

    source: Path
    key: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Shot:
    """One image's trip: the function's plan, and for a submitted one what MPS made of it."""

    upload: Upload
    bucket: str
    outcome: str  # "success", "failed" (the plan or the task), "skipped"
    rule: str | None = None
    reason: str = ""  # why it was skipped or failed ("" when it succeeded)
    request: dict[str, Any] | None = None
    output: str = ""  # bucket:/path, as DescribeImageTaskDetail reports it
    before: Facts | None = None
    after: Facts | None = None
    output_body: bytes = b""
    steps: tuple[Step, ...] = ()


def facts_of(body: bytes) -> Facts | None:
    """The image's facts, None when Pillow cannot read it as one of MPS's source formats."""
    try:
        with Image.open(io.BytesIO(body), formats=SOURCE_FORMATS) as image:
            return Facts(image.format or "?", image.width, image.height, image.mode, len(body))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def preview(uploads: Sequence[Upload], settings: Settings, bucket: str, region: str) -> list[Shot]:
    """Every upload planned as the function plans it and, when submitted, run on the local MPS."""
    return [_one(upload, settings, bucket, region) for upload in uploads]


def _one(upload: Upload, settings: Settings, bucket: str, region: str) -> Shot:
    body = upload.source.read_bytes()
    record = cos_record(
        bucket, region, upload.key, size=len(body), etag=hashlib.md5(body).hexdigest(), metadata=dict(upload.metadata)
    )
    [item] = parse_records(cos_event([record]), None, settings.region_codes)
    shot = Shot(upload, bucket, "failed", before=facts_of(body))
    if not isinstance(item, CosUploadRecord):
        shot.reason = item.message
        return shot
    plan = plan_record(item, settings)
    shot.rule = plan.rule
    if isinstance(plan, Skip):
        shot.outcome, shot.reason = "skipped", plan.reason
        return shot
    if isinstance(plan, Fail):
        shot.reason = f"{plan.error_code}: {plan.error}"
        return shot
    shot.request = plan.request
    _run_on_local_mps(shot, item, body)
    return shot


def _run_on_local_mps(shot: Shot, item: CosUploadRecord, body: bytes) -> None:
    request = shot.request or {}
    clock = FakeClock()
    cos = CosBackend(clock=clock)
    target = json_object(json_object(request.get("OutputStorage")).get("CosOutputStorage"))
    for bucket, region in (
        (item.bucket, item.region),
        (json_text(target.get("Bucket")), json_text(target.get("Region"))),
    ):
        _ensure_bucket(cos, bucket, region)
    cos.put_object(
        item.bucket, item.key, body, content_type=item.content_type or "application/octet-stream",
        metadata=dict(item.metadata),
    )  # fmt: skip
    # Bytes that are no image fail here as in MPS; the fakes' tests keep such stand-ins as images.
    mps = MpsBackend(cos=cos, clock=clock, rate_limit_per_second=None, stand_in_bodies=False)
    try:
        task_id = mps.process_image(request, CALLER)["TaskId"]
    except MpsError as e:
        shot.reason = f"ProcessImage refused: {e.code}: {e.message}"
        return
    clock.advance(WAITING_SECONDS + PROCESSING_SECONDS)
    mps.finish_due_tasks()
    outcome = mps.outcome_of(task_id)
    [task] = mps.tasks
    out = mps.output_path_for(task)
    shot.output = f"{out.bucket}:{out.path}"
    if outcome is None or outcome.failure is not None:
        failure = outcome.failure if outcome else None
        shot.reason = f"{failure.code}: {failure.message}" if failure else "the task did not run"
        return
    shot.outcome = "success"
    if outcome.performed is not None:
        shot.steps = outcome.performed.steps
    if outcome.written is not None:
        shot.output_body = cos.get(outcome.written.bucket, outcome.written.key)
        shot.after = facts_of(shot.output_body)


def _ensure_bucket(cos: CosBackend, bucket: str, region: str) -> None:
    """The deployment's buckets exist; a name COS refuses is left out, so the task fails as in COS."""
    from fakes.cos import CosError

    try:
        cos.head_bucket(bucket)
    except CosError:
        try:
            cos.create_bucket(bucket, region)
        except ValueError:
            pass
