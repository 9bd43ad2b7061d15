"""Validate a configured ImageTask against the SDK's model and the documented value rules.

Field names and types come from `mps_schema.json`, extracted from the official SDK's
`ImageTaskInput` model by tools/gen_mps_schema.py (the models module itself is too big to
import at cold start). On top of that, the enums and ranges that the MPS docs state
(docs/tencent-cloud.md#imagetask) are checked here; enum values are matched case-insensitively and sent
in their documented spelling. Generative/AI sub-configs are type-checked only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple, Union

from .errors import ImageTaskError

_SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mps_schema.json")

DEFAULT_IMAGE_TASK: Mapping[str, Any] = {
    "EncodeConfig": {"Format": "JPEG", "Quality": 75},
    "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
}


class OneOf(NamedTuple):
    values: tuple[str, ...]


class Between(NamedTuple):
    low: float
    high: float


ValueRule = Union[OneOf, Between]  # a field's allowed values; named apart from RULES_FILE's Rule (handler/rules.py)
_SWITCH = OneOf(("ON", "OFF"))

# (model type, field) -> rule. Keyed by model type so a rule holds wherever the type is used.
RULES: Mapping[tuple[str, str], ValueRule] = {
    ("ImageEncodeConfig", "Format"): OneOf(("JPEG", "PNG", "BMP", "WebP")),
    ("ImageEncodeConfig", "Quality"): Between(1, 100),
    ("SuperResolutionConfig", "Type"): OneOf(("lq", "hq")),
    ("SuperResolutionConfig", "Size"): Between(2, 2),
    ("AdvancedSuperResolutionConfig", "Type"): OneOf(("standard", "super", "ultra")),
    ("AdvancedSuperResolutionConfig", "Mode"): OneOf(("percent", "aspect", "fixed")),
    ("AdvancedSuperResolutionConfig", "Width"): Between(0, 4096),
    ("AdvancedSuperResolutionConfig", "Height"): Between(0, 4096),
    ("AdvancedSuperResolutionConfig", "LongSide"): Between(0, 4096),
    ("AdvancedSuperResolutionConfig", "ShortSide"): Between(0, 4096),
    ("ImageDenoiseConfig", "Type"): OneOf(("weak", "strong")),
    ("ImageQualityEnhanceConfig", "Type"): OneOf(("weak", "normal", "strong")),
    ("ColorEnhanceConfig", "Type"): OneOf(("weak", "normal", "strong")),
    ("SharpEnhanceConfig", "Intensity"): Between(0.0, 1.0),
    ("FaceEnhanceConfig", "Intensity"): Between(0.0, 1.0),
    ("LowLightEnhanceConfig", "Type"): OneOf(("normal",)),
    ("ImageResizeConfig", "Mode"): OneOf(("percent", "mfit", "lfit", "fill", "pad", "fixed")),
    ("ImageResizeConfig", "Percent"): Between(0.1, 10.0),
    ("ImageResizeConfig", "Width"): Between(1, 16384),
    ("ImageResizeConfig", "Height"): Between(1, 16384),
    ("ImageResizeConfig", "LongSide"): Between(1, 16384),
    ("ImageResizeConfig", "ShortSide"): Between(1, 16384),
    ("ImageEraseLogoConfig", "EraseStrength"): OneOf(("low", "mid", "high")),
    ("ImageEraseLogoConfig", "WatermarkType"): OneOf(
        ("corner_watermark", "tiled_watermark", "auto_detect_type", "selected_watermark")
    ),
    ("ImageEraseLogoConfig", "DetectTypes"): OneOf(("logo", "text", "watermark")),
    ("ImageAreaBoxInfo", "Type"): OneOf(("logo", "text")),
    ("ImageAreaBoxInfo", "BoundingBoxUnitType"): Between(0, 2),
    ("BeautyEffectItemConfig", "Value"): Between(0, 100),
    ("BeautyEffectItemConfig", "Type"): OneOf(
        (
            "Whiten",
            "BlackAlpha1",
            "BlackAlpha2",
            "FoundationAlpha2",
            "Clear",
            "Sharpen",
            "Smooth",
            "BeautyThinFace",
            "NatureFace",
            "VFace",
            "EnlargeEye",
            "EyeLighten",
            "RemoveEyeBags",
            "ThinNose",
            "RemoveLawLine",
            "CheekboneThin",
            "FaceFeatureLipsLut",
            "ToothWhiten",
            "FaceFeatureSoftlight",
            "Makeup",
        )
    ),
    ("BeautyFilterItemConfig", "Value"): Between(-100, 100),
    ("BeautyFilterItemConfig", "Type"): OneOf(("Dongjing", "Qingjiaopian", "Meiwei")),
    ("BeautyConfig", "Type"): OneOf(("auto",)),
}

# Fields the docs mark required inside their object.
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "BeautyEffectItemConfig": ("Type",),
    "BeautyFilterItemConfig": ("Type",),
}

_JSON_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}
_JSON_NAMES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false"}


_schema_cache: dict[str, Any] | None = None


def schema() -> dict[str, Any]:
    global _schema_cache
    if _schema_cache is None:
        with open(_SCHEMA_FILE, encoding="utf-8") as f:
            _schema_cache = json.load(f)
    return _schema_cache


def validate_image_task(task: Any, where: str = "ImageTask", *, refuse_null: bool = False) -> dict[str, Any]:
    """Return a normalised copy of `task` or raise ImageTaskError listing every problem.

    MPS, like the SDK's serialiser, takes a null field as absent, so by default nulls are dropped.
    `refuse_null` is for a configuration someone wrote: a null there is a mistake that would vanish
    without a word ({"EncodeConfig": null} would become an empty task, which is refused as {}).
    """
    problems: list[str] = []
    if not isinstance(task, dict) or not task:
        raise ImageTaskError([f"{where} should be a non-empty JSON object, got {task!r}"])
    doc = schema()
    result = _check(task, doc["root"], where, doc["types"], problems, refuse_null=refuse_null)
    if problems:
        raise ImageTaskError(problems)
    return result


def _check(
    value: Any,
    spec: Any,
    path: str,
    types: Mapping[str, Any],
    problems: list[str],
    rule: ValueRule | None = None,
    refuse_null: bool = False,
) -> Any:
    if isinstance(spec, list):
        if not isinstance(value, list):
            problems.append(f"{path}: {value!r} should be a JSON array")
            return value
        return [
            _check(item, spec[0], f"{path}[{i}]", types, problems, rule, refuse_null) for i, item in enumerate(value)
        ]
    if spec in _JSON_TYPES:
        ok = isinstance(value, _JSON_TYPES[spec]) and (spec == "bool" or not isinstance(value, bool))
        if not ok:
            problems.append(f"{path}: {value!r} should be {_JSON_NAMES[spec]}")
            return value
        return _apply_rule(rule, value, path, problems) if rule else value
    fields = types[spec]
    if not isinstance(value, dict):
        problems.append(f"{path}: {value!r} should be a JSON object ({spec})")
        return value
    out: dict[str, Any] = {}
    for name in REQUIRED.get(spec, ()):
        if value.get(name) in (None, ""):
            problems.append(f"{path}.{name}: required in {spec}")
    for name, item in value.items():
        field_path = f"{path}.{name}"
        if name not in fields:
            import difflib  # only on this error path

            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(f"{field_path}: unknown field; {hint}{spec} allows: {', '.join(sorted(fields))}")
            continue
        if item is None:
            if refuse_null and name not in REQUIRED.get(spec, ()):  # a required one is reported above
                problems.append(f"{field_path}: null is not a value; omit the field instead of null")
            continue  # the SDK serialiser drops None the same way
        field_rule = _SWITCH if name == "Switch" else RULES.get((spec, name))
        out[name] = _check(item, fields[name], field_path, types, problems, field_rule, refuse_null)
    return out


def _apply_rule(rule: ValueRule, value: Any, path: str, problems: list[str]) -> Any:
    if isinstance(rule, OneOf):
        if not isinstance(value, str):
            return value  # the type problem is already reported
        for allowed in rule.values:
            if value.lower() == allowed.lower():
                return allowed
        problems.append(f"{path}: {value!r} is not allowed; use one of {', '.join(rule.values)}")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not rule.low <= value <= rule.high:
            allowed = f"{_fmt(rule.low)}" if rule.low == rule.high else f"{_fmt(rule.low)}-{_fmt(rule.high)}"
            problems.append(f"{path}: {value!r} is out of range; allowed: {allowed}")
    return value


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)
