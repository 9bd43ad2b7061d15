"""The ImageTask done on an input's bytes, with Pillow: what the fake MPS writes when the input is an image.

As close to MPS's documented semantics as a local library allows, and every step says how close
(`Step.treatment`): EncodeConfig (Format, Quality) and TransformConfig.ImageResize (every Mode, see
fakes/mps/resize.py) are emulated; EnhanceConfig.SuperResolution is approximated (2x, Lanczos: no
model, no detail added); every other enhancement, erase, watermark, beauty and AI config passes
through untouched and is named as not emulated.

The order is a guess, since MPS's documentation gives none: decode, enhance (super-resolution),
resize, encode. Resizing after super-resolution follows ImageResizeConfig's own words: its Mode is
the *output* image's mode, so the resize has the last word on the output's size.

Pillow is imported only when a task has bytes to decode: the fake MPS serves many tests, and the
benchmarks, that never upload an image. `perform` returns None for bytes Pillow does not recognise
as an image at all (the stand-in bodies tests upload, such as a PNG signature followed by zeros):
the caller keeps its size estimate for those, as before the fake decoded anything.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .resize import ResizeConfigError, ResizeGeometry, resize_geometry

if TYPE_CHECKING:
    from PIL.Image import Image

# What MPS reads (JPEG, PNG, BMP, WebP, GIF, TIFF: the formats its image pages list). Telling
# Pillow so keeps it from "recognising" stray bytes as one of the dozens of formats it knows.
SOURCE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF")
# EncodeConfig.Format (any case) -> Pillow's format name.
ENCODE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "webp": "WEBP"}
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
}
LOSSY = ("JPEG", "WEBP")
# JPEG has no alpha channel; BMP's is one few readers honour (Pillow reads it back as RGB).
OPAQUE = ("JPEG", "BMP")
SUPER_RESOLUTION_FACTOR = 2  # SuperResolutionConfig.Size: "only 2 is supported"
PAD_COLOUR = (255, 255, 255)  # MPS names no pad colour: white, the other clouds' documented default

EMULATED, APPROXIMATED, NOT_EMULATED, OFF = "emulated", "approximated", "not emulated", "off"


class NotAnImage(ValueError):
    """Bytes that look like an image but do not decode (truncated, corrupt): MPS's SourceFileError."""


class BadTask(ValueError):
    """A task value MPS would refuse when running it (MPS's InvalidInput)."""


@dataclass(frozen=True)
class Step:
    """One part of the ImageTask and what the fake did with it."""

    name: str  # the config's path in the ImageTask, e.g. "EnhanceConfig.SuperResolution"
    treatment: str  # EMULATED, APPROXIMATED, NOT_EMULATED or OFF
    detail: str


@dataclass(frozen=True)
class Picture:
    """An image's facts, as the preview shows them."""

    format: str  # Pillow's name: JPEG, PNG, BMP, WEBP, ...
    width: int
    height: int
    mode: str  # Pillow's mode: RGB, RGBA, L, ...


@dataclass(frozen=True)
class Performed:
    """The task done: the output's bytes and type, the source's and output's facts, each step."""

    body: bytes
    content_type: str
    source: Picture
    output: Picture
    steps: tuple[Step, ...]


def perform(image_task: Mapping[str, Any] | None, body: bytes) -> Performed | None:
    """Do `image_task` (ProcessImage's ImageTask; None: a template the fake cannot know) to `body`.

    None when `body` is not recognisably an image; NotAnImage when it is but does not decode;
    BadTask for a value MPS refuses."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(body), formats=SOURCE_FORMATS)
    except UnidentifiedImageError:
        return None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise NotAnImage(str(e)) from None
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise NotAnImage(f"{image.format} data does not decode: {e}") from None
    source_format = image.format or "PNG"
    source = Picture(source_format, image.width, image.height, image.mode)
    task = image_task or {}
    steps: list[Step] = []
    if getattr(image, "n_frames", 1) > 1:
        steps.append(Step("input", APPROXIMATED, f"animated {source_format}: its first frame only"))
    work = _workable(image)
    work = _enhance(work, _section(task, "EnhanceConfig"), steps)
    steps += _passed_through(task)
    work = _transform(work, _section(task, "TransformConfig"), steps)
    if image_task is None:
        steps.append(Step("Definition", NOT_EMULATED, "a template the fake cannot read: its task is not done"))
    data, out_format, work = _encode(work, _section(task, "EncodeConfig"), source_format, steps)
    output = Picture(out_format, work.width, work.height, work.mode)
    return Performed(data, CONTENT_TYPES[out_format], source, output, tuple(steps))


# ---- the steps, in the order the fake does them ------------------------------------------------


def _workable(image: Image) -> Image:
    """The decoded image in a mode every step can scale: palette and 1-bit images become RGB(A)/L."""
    if image.mode in ("P", "PA"):
        transparent = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if transparent else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "LA":
        return image.convert("RGBA")
    return image


def _enhance(image: Image, enhance: Mapping[str, Any], steps: list[Step]) -> Image:
    from PIL import Image as PilImage

    for name, config in enhance.items():
        where = f"EnhanceConfig.{name}"
        if not isinstance(config, dict):
            continue
        if not _switched_on(config):
            steps.append(Step(where, OFF, "Switch OFF"))
        elif name == "SuperResolution":
            size = config.get("Size") or SUPER_RESOLUTION_FACTOR
            if size != SUPER_RESOLUTION_FACTOR:
                raise BadTask(f"{where}.Size {size!r}: only 2 is supported")
            target = (image.width * SUPER_RESOLUTION_FACTOR, image.height * SUPER_RESOLUTION_FACTOR)
            kind = config.get("Type") or "lq"
            steps.append(
                Step(
                    where,
                    APPROXIMATED,
                    f"2x ({image.width}x{image.height} -> {target[0]}x{target[1]}) by Lanczos resampling, "
                    f"not MPS's model: the size is right, no detail is added (Type {kind} makes no difference here)",
                )
            )
            image = image.resize(target, PilImage.Resampling.LANCZOS)
        else:
            steps.append(Step(where, NOT_EMULATED, "passed through: the image is not changed by it here"))
    return image


def _passed_through(task: Mapping[str, Any]) -> list[Step]:
    """Every config the fake does not do, by name (erase, watermark, beauty, AI, ...)."""
    done = ("EncodeConfig", "EnhanceConfig", "TransformConfig")
    return [
        Step(name, NOT_EMULATED, "passed through: the image is not changed by it here")
        for name, config in task.items()
        if name not in done and config is not None
    ]


def _transform(image: Image, transform: Mapping[str, Any], steps: list[Step]) -> Image:
    from PIL import Image as PilImage

    config = transform.get("ImageResize")
    if not isinstance(config, dict):
        return image
    where = "TransformConfig.ImageResize"
    try:
        geometry = resize_geometry(config, image.width, image.height)
    except ResizeConfigError as e:
        raise BadTask(str(e)) from None
    if geometry is None:
        steps.append(Step(where, OFF, "Switch OFF"))
        return image
    before = f"{image.width}x{image.height}"
    resized = image.resize(geometry.scaled, PilImage.Resampling.LANCZOS)
    resized = _fit_canvas(resized, geometry)
    steps.append(
        Step(where, EMULATED, f"{geometry.rule}: {before} -> {resized.width}x{resized.height} (Lanczos resampling)")
    )
    return resized


def _fit_canvas(image: Image, geometry: ResizeGeometry) -> Image:
    """Crop (fill) or pad (pad) the scaled image to the canvas, centred."""
    from PIL import Image as PilImage

    (width, height), (canvas_w, canvas_h) = geometry.scaled, geometry.canvas
    if geometry.mode == "fill":
        left, top = (width - canvas_w) // 2, (height - canvas_h) // 2
        return image.crop((left, top, left + canvas_w, top + canvas_h))
    if geometry.mode == "pad":
        colour = (*PAD_COLOUR, 255)[: len(image.getbands())] if image.mode in ("RGB", "RGBA") else 255
        canvas = PilImage.new(image.mode, (canvas_w, canvas_h), colour)
        canvas.paste(image, ((canvas_w - width) // 2, (canvas_h - height) // 2))
        return canvas
    return image


def _encode(image: Image, encode: Mapping[str, Any], source_format: str, steps: list[Step]) -> tuple[bytes, str, Image]:
    asked = str(encode.get("Format") or "")
    out_format = ENCODE_FORMATS.get(asked.lower()) if asked else source_format
    if out_format is None:
        raise BadTask(f"EncodeConfig.Format {asked!r} is not one of JPEG, PNG, BMP, WebP")
    image, flattened = _for_format(image, out_format)
    options: dict[str, Any] = {}
    quality = encode.get("Quality")
    if out_format in LOSSY:
        if quality is not None:
            options["quality"] = int(quality)
        how = (
            f"quality {quality} on the encoder's own 1-100 scale (MPS's is relative to the source's quality)"
            if quality is not None
            else "the encoder's default quality (MPS keeps the source's)"
        )
    else:
        how = "lossless" + (f": Quality {quality} has no effect" if quality is not None else "")
    name = "EncodeConfig" if encode else "EncodeConfig (absent: the source's format)"
    treatment = APPROXIMATED if out_format in LOSSY else EMULATED
    detail = f"{out_format}, {how}" + (f"; {flattened}" if flattened else "")
    steps.append(Step(name, treatment, detail))
    out = io.BytesIO()
    image.save(out, format=out_format, **options)
    return out.getvalue(), out_format, image


def _for_format(image: Image, out_format: str) -> tuple[Image, str]:
    """The image in a mode `out_format` stores, and what that changed ("" when nothing)."""
    from PIL import Image as PilImage

    has_alpha = "A" in image.getbands()
    if out_format in OPAQUE and has_alpha:
        rgba = image.convert("RGBA")
        flat = PilImage.new("RGB", image.size, PAD_COLOUR)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat, f"{out_format} keeps no transparency here: flattened onto white (a guess: MPS does not say)"
    allowed = {
        "JPEG": ("RGB", "L", "CMYK"),
        "WEBP": ("RGB", "RGBA"),
        "PNG": ("RGB", "RGBA", "L", "I;16"),
        "BMP": ("RGB", "L"),
    }.get(out_format, ("RGB", "RGBA", "L"))
    if image.mode in allowed:
        return image, ""
    return image.convert("RGBA" if has_alpha else "RGB"), ""


# ---- reading the task ----------------------------------------------------------------------------


def _section(task: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = task.get(name)
    return value if isinstance(value, dict) else {}


def _switched_on(config: Mapping[str, Any]) -> bool:
    """Every Switch defaults to ON (the SDK's docstrings)."""
    return str(config.get("Switch") or "ON").upper() == "ON"
