"""The fake MPS does the ImageTask to an input's image bytes: checked on its outputs with Pillow.

Expected sizes come from the SDK's ImageResizeConfig rules (fakes/mps/resize.py's docstring, and
docs/preview.md#resize for the guesses), worked out by hand in the tables below. The backend runs
in-process on a FakeClock; one test goes the whole way through both official SDKs.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from fakes.cos import CosBackend
from fakes.harness import BUCKET, REGION, FakeCos, FakeMps
from fakes.mps import FakeClock, MpsBackend, TaskOutcome
from fakes.mps.imaging import APPROXIMATED, EMULATED, NOT_EMULATED
from fakes.mps.records import Caller
from fakes.mps.resize import ResizeConfigError, resize_geometry

LANDSCAPE = (400, 200)
RED, BLUE = (200, 30, 30), (30, 30, 200)


def picture(size: tuple[int, int] = LANDSCAPE, fmt: str = "PNG", mode: str = "RGB", colour: Any = RED) -> bytes:
    """A plain image: the left half `colour`, the right half blue (so a crop or a pad shows)."""
    image = Image.new(mode, size, colour)
    right = BLUE + ((255,) if mode == "RGBA" else ())
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


class Ran:
    """One task run to FINISH on an in-process fake MPS wired to a fake COS holding `body`."""

    def __init__(self, image_task: dict[str, Any] | None, body: bytes, key: str = "uploads/cat.png", **kwargs: Any):
        clock = FakeClock()
        self.cos = CosBackend(clock=clock)
        self.cos.create_bucket(BUCKET, REGION)
        self.cos.put_object(BUCKET, key, body, content_type="image/png")
        self.mps = MpsBackend(cos=self.cos, clock=clock, rate_limit_per_second=None, **kwargs)
        params: dict[str, Any] = {
            "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/" + key}},
            "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
            "OutputDir": "/enhanced/",
        }
        if image_task is not None:
            params["ImageTask"] = image_task
        else:
            params["Definition"] = 123
        task_id = self.mps.process_image(params, Caller("id", REGION))["TaskId"]
        clock.advance(3.0)
        self.mps.finish_due_tasks()
        outcome = self.mps.outcome_of(task_id)
        assert outcome is not None
        self.outcome: TaskOutcome = outcome

    @property
    def image(self) -> Image.Image:
        written = self.outcome.written
        assert written is not None and self.outcome.failure is None
        return Image.open(io.BytesIO(self.cos.get(BUCKET, written.key)))

    def steps(self) -> dict[str, str]:
        assert self.outcome.performed is not None
        return {step.name: step.treatment for step in self.outcome.performed.steps}


def resized(config: dict[str, Any], size: tuple[int, int] = LANDSCAPE) -> Image.Image:
    return Ran({"TransformConfig": {"ImageResize": config}}, picture(size)).image


# ---- resize: every mode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"Mode": "percent", "Percent": 0.5}, (200, 100)),
        ({"Mode": "percent", "Percent": 1.5}, (600, 300)),
        ({}, (400, 200)),  # Mode defaults to percent, Percent to 1.0
        ({"Mode": "lfit", "Width": 100, "Height": 100}, (100, 50)),  # the largest inside 100x100
        ({"Mode": "mfit", "Width": 100, "Height": 100}, (200, 100)),  # the smallest covering 100x100
        ({"Mode": "fill", "Width": 100, "Height": 100}, (100, 100)),  # mfit, then the centre cropped
        ({"Mode": "pad", "Width": 100, "Height": 100}, (100, 100)),  # lfit, then padded
        ({"Mode": "fixed", "Width": 100, "Height": 100}, (100, 100)),  # forced
        ({"Mode": "lfit", "Width": 800, "Height": 800}, (800, 400)),  # enlarging is allowed
        ({"Mode": "lfit", "Width": 100}, (100, 50)),  # one side: the other keeps the aspect ratio
        ({"Mode": "mfit", "Height": 50}, (100, 50)),
        ({"Mode": "fixed", "Width": 100}, (100, 50)),
        ({"Mode": "fill", "Width": 100}, (100, 100)),  # one side: fill and pad need a box, a square
        ({"Mode": "pad", "Height": 80}, (80, 80)),
        ({"Mode": "lfit", "LongSide": 100, "ShortSide": 80}, (100, 50)),  # box 100x80 on a landscape source
        ({"Mode": "mfit", "LongSide": 100, "ShortSide": 80}, (160, 80)),
        ({"Mode": "fixed", "LongSide": 100, "ShortSide": 80}, (100, 80)),
        ({"Mode": "lfit", "LongSide": 100}, (100, 50)),  # the long side becomes 100
        ({"Mode": "mfit", "ShortSide": 100}, (200, 100)),  # the short side becomes 100
        ({"Mode": "pad", "ShortSide": 60}, (60, 60)),
        ({"Mode": "lfit", "Width": 100, "Height": 100, "LongSide": 300}, (100, 50)),  # Width/Height first
        ({"Mode": "lfit", "Percent": 0.5}, (200, 100)),  # no dimension at all: Percent (a guess)
        ({"Switch": "OFF", "Mode": "fixed", "Width": 10, "Height": 10}, (400, 200)),
    ],
)
def test_every_resize_mode_gives_the_documented_size(config: dict[str, Any], expected: tuple[int, int]) -> None:
    image = resized(config)
    assert (image.format, image.size, image.mode) == ("PNG", expected, "RGB")


def test_sides_round_half_up_and_long_and_short_follow_the_source_orientation() -> None:
    assert resized({"Mode": "lfit", "Width": 100, "Height": 100}, (300, 200)).size == (100, 67)  # 66.7
    assert resized({"Mode": "fixed", "LongSide": 100, "ShortSide": 80}, (200, 400)).size == (80, 100)


def test_fill_crops_the_centre_and_pad_centres_on_white() -> None:
    filled = resized({"Mode": "fill", "Width": 100, "Height": 100}).convert("RGB")
    # 400x200 -> 200x100, the middle 100x100 kept: red on the left, blue on the right.
    assert filled.getpixel((10, 50)) == RED and filled.getpixel((90, 50)) == BLUE
    padded = resized({"Mode": "pad", "Width": 100, "Height": 100}).convert("RGB")
    # 400x200 -> 100x50, centred: white bands above and below.
    assert padded.getpixel((50, 5)) == (255, 255, 255) and padded.getpixel((50, 95)) == (255, 255, 255)
    assert padded.getpixel((10, 50)) == RED and padded.getpixel((90, 50)) == BLUE


def test_a_mode_the_submission_check_let_through_is_still_refused_when_the_task_runs() -> None:
    # ProcessImage refuses an unknown Mode first (fakes/mps/validation.py); the resize never guesses one.
    with pytest.raises(ResizeConfigError, match="stretch"):
        resize_geometry({"Mode": "stretch", "Width": 10}, 400, 200)
    with pytest.raises(ResizeConfigError, match="Width"):
        resize_geometry({"Mode": "lfit", "Width": -1}, 400, 200)


# ---- formats and quality ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "key", "pillow_format", "content_type", "mode"),
    [
        ("JPEG", "enhanced/cat.jpeg", "JPEG", "image/jpeg", "RGB"),
        ("jpeg", "enhanced/cat.jpeg", "JPEG", "image/jpeg", "RGB"),  # enum values are case-insensitive
        ("PNG", "enhanced/cat.png", "PNG", "image/png", "RGBA"),
        ("BMP", "enhanced/cat.bmp", "BMP", "image/bmp", "RGB"),  # flattened, as JPEG is
        ("WebP", "enhanced/cat.webp", "WEBP", "image/webp", "RGBA"),
        (None, "enhanced/cat.png", "PNG", "image/png", "RGBA"),  # no Format: the source's
    ],
)
def test_each_format_is_encoded_as_named_and_typed(
    fmt: str | None, key: str, pillow_format: str, content_type: str, mode: str
) -> None:
    ran = Ran({"EncodeConfig": {"Format": fmt}} if fmt else {}, picture(mode="RGBA", colour=(*RED, 128)))
    written = ran.outcome.written
    assert written is not None and (written.key, written.content_type) == (key, content_type)
    assert (ran.image.format, ran.image.size, ran.image.mode) == (pillow_format, LANDSCAPE, mode)


def test_jpeg_has_no_transparency_so_it_is_flattened_onto_white() -> None:
    ran = Ran({"EncodeConfig": {"Format": "JPEG"}}, picture(mode="RGBA", colour=(0, 0, 0, 0)))
    assert ran.image.mode == "RGB"
    assert all(channel > 245 for channel in ran.image.getpixel((10, 10)))  # transparent -> white, not black
    assert ran.steps()["EncodeConfig"] == APPROXIMATED


def test_quality_changes_a_lossy_output_and_not_a_lossless_one() -> None:
    source = picture(size=(200, 200), fmt="PNG")
    low, high = (Ran({"EncodeConfig": {"Format": "JPEG", "Quality": q}}, source) for q in (10, 95))
    assert low.outcome.written is not None and high.outcome.written is not None
    assert low.outcome.written.size < high.outcome.written.size
    png = Ran({"EncodeConfig": {"Format": "PNG", "Quality": 10}}, source)
    assert png.outcome.written is not None and png.outcome.written.size == len(
        Ran({"EncodeConfig": {"Format": "PNG"}}, source).cos.get(BUCKET, "enhanced/cat.png")
    )


# ---- enhancement, pass-through, and the order ---------------------------------------------------


def test_super_resolution_doubles_both_sides_and_says_it_is_approximated() -> None:
    ran = Ran({"EnhanceConfig": {"SuperResolution": {"Switch": "ON"}}}, picture(fmt="JPEG"), key="uploads/a.jpg")
    assert (ran.image.format, ran.image.size) == ("JPEG", (800, 400))
    assert ran.steps()["EnhanceConfig.SuperResolution"] == APPROXIMATED
    off = Ran({"EnhanceConfig": {"SuperResolution": {"Switch": "OFF"}}}, picture())
    assert off.image.size == LANDSCAPE


def test_the_resize_comes_after_super_resolution_so_it_decides_the_output_size() -> None:
    task = {
        "EnhanceConfig": {"SuperResolution": {}},  # Switch defaults to ON
        "TransformConfig": {"ImageResize": {"Mode": "lfit", "Width": 256, "Height": 256}},
    }
    ran = Ran(task, picture())
    assert ran.image.size == (256, 128)
    names = list(ran.steps())
    assert names.index("EnhanceConfig.SuperResolution") < names.index("TransformConfig.ImageResize")
    assert ran.steps()["TransformConfig.ImageResize"] == EMULATED


def test_other_configs_pass_through_and_are_named_as_not_emulated() -> None:
    task = {
        "EnhanceConfig": {"Denoise": {"Switch": "ON", "Type": "weak"}},
        "EraseConfig": {"ImageEraseLogo": {"Switch": "ON"}},
        "BeautyConfig": {"Type": "auto"},
    }
    ran = Ran(task, picture())
    assert ran.image.size == LANDSCAPE
    steps = ran.steps()
    assert [steps[n] for n in ("EnhanceConfig.Denoise", "EraseConfig", "BeautyConfig")] == [NOT_EMULATED] * 3


def test_a_template_task_is_re_encoded_unchanged_and_says_so() -> None:
    ran = Ran(None, picture())
    assert ran.image.size == LANDSCAPE and ran.steps()["Definition"] == NOT_EMULATED


# ---- inputs that are not images -----------------------------------------------------------------


def test_a_corrupt_image_fails_the_task_with_source_file_error_and_writes_nothing() -> None:
    truncated = picture(size=(300, 300), fmt="JPEG")[:400]
    ran = Ran({"EncodeConfig": {"Format": "PNG"}}, truncated, key="uploads/broken.jpg")
    failure = ran.outcome.failure
    assert failure is not None and failure.code == "SourceFileError"
    assert "/uploads/broken.jpg" in failure.message and "decode" in failure.message
    assert ran.outcome.written is None and ran.mps.output_objects() == []
    assert list(ran.cos.objects(BUCKET)) == ["uploads/broken.jpg"]


def test_stand_in_bytes_keep_the_estimate_unless_the_backend_is_told_to_fail_them() -> None:
    stand_in = b"\x89PNG\r\n\x1a\n" + bytes(2000)  # what the older tests upload: no image inside
    kept = Ran({"EncodeConfig": {"Format": "PNG"}}, stand_in)
    assert kept.outcome.failure is None and kept.outcome.performed is None
    assert kept.outcome.written is not None and kept.outcome.written.size == len(stand_in)
    strict = Ran({"EncodeConfig": {"Format": "PNG"}}, stand_in, stand_in_bodies=False)
    assert strict.outcome.failure is not None and strict.outcome.failure.code == "SourceFileError"


def test_saving_an_unrun_task_decides_a_corrupt_input_fails() -> None:
    clock = FakeClock()
    cos = CosBackend(clock=clock)
    cos.create_bucket(BUCKET, REGION)
    cos.put_object(BUCKET, "a.jpg", picture(fmt="JPEG")[:300])
    mps = MpsBackend(cos=cos, clock=clock, rate_limit_per_second=None)
    cosinput = {"Bucket": BUCKET, "Region": REGION, "Object": "/a.jpg"}
    mps.process_image({"InputInfo": {"Type": "COS", "CosInputInfo": cosinput}, "ImageTask": {}}, Caller("id", REGION))
    [saved] = mps.saved_tasks()
    assert saved["outcome"]["ErrMsg"] == "SourceFileError" and mps.output_objects() == []


def test_pending_tasks_can_be_run_early_and_still_report_their_own_time() -> None:
    clock = FakeClock()
    cos = CosBackend(clock=clock)
    cos.create_bucket(BUCKET, REGION)
    cos.put_object(BUCKET, "a.png", picture())
    mps = MpsBackend(cos=cos, clock=clock, rate_limit_per_second=None)
    cosinput = {"Bucket": BUCKET, "Region": REGION, "Object": "/a.png"}
    params = {"InputInfo": {"Type": "COS", "CosInputInfo": cosinput}, "OutputDir": "/out/", "ImageTask": {}}
    task_id = mps.process_image(params, Caller("id", REGION))["TaskId"]
    [ran] = mps.run_pending_tasks()
    assert ran.task_id == task_id and [o.key for o in mps.output_objects()] == ["out/a.png"]
    assert mps.describe_image_task_detail({"TaskId": task_id}, Caller("id", REGION))["Status"] == "WAITING"
    clock.advance(3.0)
    assert mps.finish_due_tasks() == []  # it ran once
    assert mps.describe_image_task_detail({"TaskId": task_id}, Caller("id", REGION))["Status"] == "FINISH"


# ---- through both official SDKs -----------------------------------------------------------------


def test_an_uploaded_image_comes_back_processed_through_the_sdks(make_fake_mps: Any, fake_cos: FakeCos) -> None:
    wired: FakeMps = make_fake_mps(cos=fake_cos, rate_limit_per_second=None)
    cos = fake_cos.client(retry=0)
    cos.put_object(Bucket=BUCKET, Key="uploads/avatars/me.png", Body=picture(), ContentType="image/png")
    body = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/uploads/avatars/me.png"},
        },
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
        "OutputDir": "/enhanced/avatars/",
        "ImageTask": {
            "EncodeConfig": {"Format": "WebP", "Quality": 70},
            "TransformConfig": {"ImageResize": {"Switch": "ON", "Mode": "lfit", "Width": 128, "Height": 128}},
        },
    }
    client = mps_client.MpsClient(
        wired.credential, REGION, ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=wired.host))
    )
    req = models.ProcessImageRequest()
    req.from_json_string(json.dumps(body))
    task_id = client.ProcessImage(req).TaskId
    wired.clock.advance(3.0)  # type: ignore[attr-defined]
    detail_req = models.DescribeImageTaskDetailRequest()
    detail_req.TaskId = task_id
    [result] = client.DescribeImageTaskDetail(detail_req).ImageProcessTaskResultSet
    assert (result.Status, result.Output.Path) == ("SUCCESS", "/enhanced/avatars/me.webp")
    got = cos.get_object(Bucket=BUCKET, Key="enhanced/avatars/me.webp")
    assert got["Content-Type"] == "image/webp"
    image = Image.open(io.BytesIO(got["Body"].get_raw_stream().read()))
    assert (image.format, image.size, image.mode) == ("WEBP", (128, 64), "RGB")
