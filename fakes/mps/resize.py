"""ImageResizeConfig's geometry: the size an image becomes, from the SDK's documented rules.

Pure arithmetic, no Pillow: fakes/mps/imaging.py does the pixels. What the SDK's
`ImageResizeConfig` docstring says (docs/preview.md#resize has the table and the guesses):

- `Switch` ON/OFF, default ON; `Mode` default `percent`.
- `percent`: scale both sides by `Percent` (default 1.0, 0.1-10.0).
- `mfit`: scale to "the larger rectangle" of Width x Height: the smallest size covering the box.
- `lfit`: scale to "the smaller rectangle": the largest size fitting inside the box.
- `fill`: as mfit, then crop the box from the centre.
- `pad`: as lfit, then pad to the box.
- `fixed`: scale to the box, ignoring the aspect ratio.
- `Width`/`Height` are used first when Mode is not percent; `LongSide`/`ShortSide` only when
  neither Width nor Height is set.

The SDK says nothing more; the rest follows the other clouds' image services that share these
mode names (their documented box rules): one of Width/Height alone gives a box of the source's
aspect ratio for lfit/mfit/fixed and a square for fill/pad; LongSide/ShortSide apply to the
source's longer/shorter side; no dimension at all falls back to Percent. Sides are rounded half
up and are at least 1 pixel. Enlarging is allowed (MPS has no "limit" switch; Percent goes to 10).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MODES = ("percent", "mfit", "lfit", "fill", "pad", "fixed")
_SQUARE_BOX_MODES = ("fill", "pad")  # one side given: they need a whole box, so it is square


class ResizeConfigError(ValueError):
    """A resize configuration MPS would refuse (the task fails with InvalidInput)."""


@dataclass(frozen=True)
class ResizeGeometry:
    """What the resize does to a width x height image: scale the whole image to `scaled`, then
    crop (fill) or pad (pad) it to `canvas`, centred; `canvas == scaled` for the other modes."""

    mode: str
    scaled: tuple[int, int]
    canvas: tuple[int, int]
    rule: str  # in words, for the preview page: "lfit into 256x256"


def side(value: float) -> int:
    """A computed side in pixels: rounded half up, at least 1."""
    return max(1, math.floor(value + 0.5))


def resize_geometry(config: Mapping[str, object], width: int, height: int) -> ResizeGeometry | None:
    """The resize `config` (an ImageResizeConfig) applies to a `width` x `height` image; None when
    its Switch is OFF."""
    if str(config.get("Switch") or "ON").upper() != "ON":
        return None
    mode = str(config.get("Mode") or "percent").lower()
    if mode not in MODES:
        raise ResizeConfigError(f"ImageResize.Mode {config.get('Mode')!r} is not one of {', '.join(MODES)}")
    box = None if mode == "percent" else _box(config, mode, width, height)
    if box is None:
        percent = _number(config, "Percent") or 1.0
        size = (side(width * percent), side(height * percent))
        return ResizeGeometry("percent", size, size, f"percent {percent:g}")
    box_w, box_h = box
    box_text = f"{_fmt(box_w)}x{_fmt(box_h)}"
    if mode == "fixed":
        size = (side(box_w), side(box_h))
        return ResizeGeometry(mode, size, size, f"fixed {box_text}")
    fit_inside = mode in ("lfit", "pad")
    scale = min(box_w / width, box_h / height) if fit_inside else max(box_w / width, box_h / height)
    scaled = (side(width * scale), side(height * scale))
    if mode in ("lfit", "mfit"):
        return ResizeGeometry(mode, scaled, scaled, f"{mode} {'into' if fit_inside else 'over'} {box_text}")
    return ResizeGeometry(mode, scaled, (side(box_w), side(box_h)), f"{mode} {box_text}")


def _box(config: Mapping[str, object], mode: str, width: int, height: int) -> tuple[float, float] | None:
    """The box a non-percent mode scales against, or None when no dimension is set."""
    box_w, box_h = _number(config, "Width"), _number(config, "Height")
    if box_w and box_h:
        return box_w, box_h
    if box_w or box_h:
        if mode in _SQUARE_BOX_MODES:
            only = box_w or box_h
            return only, only
        return (box_w, box_w * height / width) if box_w else (box_h * width / height, box_h)
    long_side, short_side = _number(config, "LongSide"), _number(config, "ShortSide")
    landscape = width >= height  # a square source's "long side" is its width: a guess
    if long_side and short_side:
        return (long_side, short_side) if landscape else (short_side, long_side)
    if long_side or short_side:
        if mode in _SQUARE_BOX_MODES:
            only = long_side or short_side
            return only, only
        scale = long_side / max(width, height) if long_side else short_side / min(width, height)
        return width * scale, height * scale
    return None


def _number(config: Mapping[str, object], name: str) -> float:
    value = config.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ResizeConfigError(f"ImageResize.{name} {value!r} must be a positive number")
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"
