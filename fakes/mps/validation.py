"""Request-body validation for the fake MPS, as strict as the real API.

Two layers:
- the SCHEMA (which field names exist at every level, and their JSON types) is read from the
  official SDK's models at first use, so it can never drift from what the SDK can send;
- a hand-written table of the documented value rules (enums, ranges, formats, required
  fields; docs/tencent-cloud.md#request-fields, #imagetask) on top.

Error codes follow the API: a field unknown at any depth -> UnknownParameter, wrong JSON type
-> InvalidParameter, missing required field -> MissingParameter, bad value ->
InvalidParameterValue (or the specific SessionId codes).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

from .exceptions import (
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    MpsError,
    SessionContextTooLong,
    SessionIdTooLong,
    UnknownParameter,
)

_MODELS = "tencentcloud.mps.v20190612.models"
_TYPE_LINE = re.compile(r"^\s*:type (\w+): (.+?)\s*$", re.MULTILINE)
_CLASS_REF = re.compile(r":class:`tencentcloud\.mps\.v20190612\.models\.(\w+)`")
_SCALARS = ("str", "int", "float", "bool")


@dataclass(frozen=True)
class FieldType:
    kind: str  # "str" | "int" | "float" | "bool" | "model"
    model: str = ""  # the SDK class name when kind == "model"
    is_list: bool = False
    non_negative: bool = False  # "list of int non-negative"


def parse_type(text: str) -> FieldType:
    """One `:type Name: ...` annotation of the SDK, e.g. 'list of int non-negative'."""
    ref = _CLASS_REF.fullmatch(text)
    if ref:
        return FieldType("model", ref.group(1))
    words = text.split()
    is_list = words[:2] == ["list", "of"]
    if is_list:
        words = words[2:]
    if not words:
        raise ValueError(f"unrecognised SDK type annotation: {text!r}")
    non_negative = words[1:] == ["non-negative"]
    if len(words) > 1 and not non_negative:
        raise ValueError(f"unrecognised SDK type annotation: {text!r}")
    if words[0] in _SCALARS:
        return FieldType(words[0], is_list=is_list, non_negative=non_negative)
    return FieldType("model", words[0], is_list=is_list)


@functools.cache
def model_fields(model: str) -> Mapping[str, FieldType]:
    """The fields of one SDK model class, parsed from its __init__ docstring (cached)."""
    import importlib

    # Imported here: the models module is ~100k lines; only the first request pays for it.
    cls = getattr(importlib.import_module(_MODELS), model)
    return {name: parse_type(text) for name, text in _TYPE_LINE.findall(cls.__init__.__doc__ or "")}


def schema(root: str = "ProcessImageRequest") -> dict[str, Mapping[str, FieldType]]:
    """Every model reachable from `root`, by class name (for inspection and tests)."""
    out: dict[str, Mapping[str, FieldType]] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name not in out:
            out[name] = model_fields(name)
            pending.extend(f.model for f in out[name].values() if f.kind == "model")
    return out


# ---- documented value rules --------------------------------------------------------------

Scalar = Union[str, int, float, bool]


@dataclass(frozen=True)
class OneOf:
    values: tuple[Scalar, ...]
    case_insensitive: bool = False
    error: type[MpsError] = InvalidParameterValue

    def problem(self, value: Scalar) -> str | None:
        if self.case_insensitive and isinstance(value, str):
            ok = value.lower() in {str(v).lower() for v in self.values}
        else:
            ok = value in self.values
        return None if ok else f"{value!r} is not one of {', '.join(map(str, self.values))}"


@dataclass(frozen=True)
class Between:
    low: float | None
    high: float | None
    error: type[MpsError] = InvalidParameterValue

    def problem(self, value: Scalar) -> str | None:
        assert isinstance(value, (int, float))
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return f"{value!r} is out of range [{self.low}, {self.high}]"
        return None


@dataclass(frozen=True)
class Matches:
    pattern: str
    description: str
    error: type[MpsError] = InvalidParameterValue

    def problem(self, value: Scalar) -> str | None:
        return None if re.fullmatch(self.pattern, str(value), re.DOTALL) else f"{value!r} {self.description}"


@dataclass(frozen=True)
class MaxLength:
    limit: int
    error: type[MpsError]

    def problem(self, value: Scalar) -> str | None:
        return None if len(str(value)) <= self.limit else f"longer than {self.limit} characters"


Rule = Union[OneOf, Between, Matches, MaxLength]

# Full COS region names (COS buckets live in these; MPS reads and writes them).
COS_REGIONS = frozenset(
    {
        "ap-beijing-1",
        "ap-beijing",
        "ap-nanjing",
        "ap-shanghai",
        "ap-guangzhou",
        "ap-guangzhou-2",
        "ap-chengdu",
        "ap-chongqing",
        "ap-shenzhen-fsi",
        "ap-shanghai-fsi",
        "ap-beijing-fsi",
        "ap-hongkong",
        "ap-taipei",
        "ap-singapore",
        "ap-jakarta",
        "ap-mumbai",
        "ap-seoul",
        "ap-bangkok",
        "ap-tokyo",
        "na-siliconvalley",
        "na-ashburn",
        "na-toronto",
        "sa-saopaulo",
        "eu-frankfurt",
        "eu-moscow",
    }
)

_SIZE_4096 = Between(0, 4096)
_SIZE_16384 = Between(1, 16384)
_BUCKET = Matches(r"[a-z0-9][a-z0-9-]*-[0-9]+", "is not a full bucket name <name>-<appid>")
_REGION = OneOf(tuple(sorted(COS_REGIONS)))

# (model, field) -> rules; model "*" applies to that field name in every model.
RULES: Mapping[tuple[str, str], tuple[Rule, ...]] = {
    ("*", "Switch"): (OneOf(("ON", "OFF")),),
    # The official example sends "jpeg" for the documented "JPEG": Format is case-insensitive.
    ("ImageEncodeConfig", "Format"): (OneOf(("JPEG", "PNG", "BMP", "WebP"), case_insensitive=True),),
    ("ImageEncodeConfig", "Quality"): (Between(1, 100),),
    ("SuperResolutionConfig", "Type"): (OneOf(("lq", "hq")),),
    ("SuperResolutionConfig", "Size"): (OneOf((2,)),),
    ("AdvancedSuperResolutionConfig", "Type"): (OneOf(("standard", "super", "ultra")),),
    ("AdvancedSuperResolutionConfig", "Mode"): (OneOf(("percent", "aspect", "fixed")),),
    ("AdvancedSuperResolutionConfig", "Width"): (_SIZE_4096,),
    ("AdvancedSuperResolutionConfig", "Height"): (_SIZE_4096,),
    ("AdvancedSuperResolutionConfig", "LongSide"): (_SIZE_4096,),
    ("AdvancedSuperResolutionConfig", "ShortSide"): (_SIZE_4096,),
    ("ImageDenoiseConfig", "Type"): (OneOf(("weak", "strong")),),
    ("ImageQualityEnhanceConfig", "Type"): (OneOf(("weak", "normal", "strong")),),
    ("ColorEnhanceConfig", "Type"): (OneOf(("weak", "normal", "strong")),),
    ("SharpEnhanceConfig", "Intensity"): (Between(0.0, 1.0),),
    ("FaceEnhanceConfig", "Intensity"): (Between(0.0, 1.0),),
    ("LowLightEnhanceConfig", "Type"): (OneOf(("normal",)),),
    ("ImageResizeConfig", "Mode"): (OneOf(("percent", "mfit", "lfit", "fill", "pad", "fixed")),),
    ("ImageResizeConfig", "Percent"): (Between(0.1, 10.0),),
    ("ImageResizeConfig", "Width"): (_SIZE_16384,),
    ("ImageResizeConfig", "Height"): (_SIZE_16384,),
    ("ImageResizeConfig", "LongSide"): (_SIZE_16384,),
    ("ImageResizeConfig", "ShortSide"): (_SIZE_16384,),
    ("ImageEraseLogoConfig", "DetectTypes"): (OneOf(("logo", "text", "watermark")),),
    ("ImageEraseLogoConfig", "EraseStrength"): (OneOf(("low", "mid", "high")),),
    ("ImageEraseLogoConfig", "WatermarkType"): (
        OneOf(("corner_watermark", "tiled_watermark", "auto_detect_type", "selected_watermark")),
    ),
    ("ImageAreaBoxInfo", "Type"): (OneOf(("logo", "text")),),
    ("ImageAreaBoxInfo", "BoundingBoxUnitType"): (OneOf((0, 1, 2)),),
    ("BeautyConfig", "Type"): (OneOf(("auto",)),),
    ("BeautyEffectItemConfig", "Value"): (Between(0, 100),),
    ("BeautyEffectItemConfig", "Type"): (
        OneOf(
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
    ),
    ("BeautyFilterItemConfig", "Value"): (Between(-100, 100),),
    ("BeautyFilterItemConfig", "Type"): (OneOf(("Dongjing", "Qingjiaopian", "Meiwei")),),
    ("MediaInputInfo", "Type"): (OneOf(("COS", "URL", "AWS-S3", "VOD")),),
    ("CosInputInfo", "Bucket"): (_BUCKET,),
    ("CosInputInfo", "Region"): (_REGION,),
    ("CosInputInfo", "Object"): (Matches(r"/.*", "does not start with /"),),
    ("TaskOutputStorage", "Type"): (OneOf(("COS", "AWS-S3", "VOD")),),
    ("CosOutputStorage", "Bucket"): (_BUCKET,),
    ("CosOutputStorage", "Region"): (_REGION,),
    ("ProcessImageRequest", "OutputPath"): (Matches(r".*\.\{format\}", "does not end with .{format}"),),
    ("ProcessImageRequest", "OutputDir"): (Matches(r"/(.*/)?", "does not start and end with /"),),
    ("ProcessImageRequest", "Definition"): (Between(1, None),),
    ("ProcessImageRequest", "SessionId"): (MaxLength(50, SessionIdTooLong),),
    ("ProcessImageRequest", "SessionContext"): (MaxLength(1000, SessionContextTooLong),),
}

REQUIRED: Mapping[str, tuple[str, ...]] = {
    "ProcessImageRequest": ("InputInfo",),
    "DescribeImageTaskDetailRequest": ("TaskId",),
    "MediaInputInfo": ("Type",),
    "CosInputInfo": ("Bucket", "Region", "Object"),
    "UrlInputInfo": ("Url",),
    "TaskOutputStorage": ("Type",),
    "BeautyEffectItemConfig": ("Type",),
    "BeautyFilterItemConfig": ("Type",),
}

# model -> (field, value, then this field is required); the SDK docstrings say "required when Type is ...".
REQUIRED_WHEN: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "MediaInputInfo": (
        ("Type", "COS", "CosInputInfo"),
        ("Type", "URL", "UrlInputInfo"),
        ("Type", "AWS-S3", "S3InputInfo"),
        ("Type", "VOD", "VODInputInfo"),
    ),
    "TaskOutputStorage": (
        ("Type", "COS", "CosOutputStorage"),
        ("Type", "AWS-S3", "S3OutputStorage"),
        ("Type", "VOD", "VODOutputStorage"),
    ),
}

# Not in the SDK's ProcessImageRequest model, yet ProcessImage's error list names them.
SESSION_FIELDS: Mapping[str, FieldType] = {"SessionId": FieldType("str"), "SessionContext": FieldType("str")}

# ---- the walk ------------------------------------------------------------------------------


def validate(model: str, body: Mapping[str, object], extra_fields: Mapping[str, FieldType] | None = None) -> None:
    """Raise MpsError for the first problem in `body`, a request of SDK model `model`."""
    _check_object(model, body, "", {**model_fields(model), **(extra_fields or {})})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_object(model: str, obj: Mapping[str, object], path: str, fields: Mapping[str, FieldType]) -> None:
    for name in obj:
        if name not in fields:
            raise UnknownParameter(f"The parameter `{_join(path, name)}` is not recognized.")
    # null is "not given"; so is "" for free-text fields (SessionId's doc says so explicitly),
    # but not for enum fields: "" is no documented value, so it is checked (and refused).
    given = {k: v for k, v in obj.items() if v is not None and (v != "" or _is_enum(model, k))}
    required = list(REQUIRED.get(model, ()))
    required += [needed for field, value, needed in REQUIRED_WHEN.get(model, ()) if given.get(field) == value]
    for name in required:
        if name not in given:
            raise MissingParameter(f"The parameter `{_join(path, name)}` is missing.")
    for name, value in given.items():
        _check_field(model, name, fields[name], value, _join(path, name))


def _is_enum(model: str, name: str) -> bool:
    return any(isinstance(rule, OneOf) for rule in RULES.get((model, name), ()) + RULES.get(("*", name), ()))


def _check_field(model: str, name: str, ftype: FieldType, value: object, path: str) -> None:
    if not ftype.is_list:
        _check_item(model, name, ftype, value, path)
        return
    if not isinstance(value, list):
        raise InvalidParameter(f"The parameter `{path}` should be an array.")
    for i, item in enumerate(value):
        _check_item(model, name, ftype, item, f"{path}.{i}")


def _check_item(model: str, name: str, ftype: FieldType, value: object, path: str) -> None:
    if ftype.kind == "model":
        if not isinstance(value, dict):
            raise InvalidParameter(f"The parameter `{path}` should be an object.")
        _check_object(ftype.model, value, path, model_fields(ftype.model))
        return
    if not _has_type(ftype.kind, value):
        raise InvalidParameter(f"The parameter `{path}` should be of type {ftype.kind}.")
    assert isinstance(value, (str, int, float, bool))
    if ftype.non_negative and isinstance(value, int) and value < 0:
        raise InvalidParameterValue(f"The parameter `{path}` must not be negative.")
    for rule in RULES.get((model, name), ()) + RULES.get(("*", name), ()):
        problem = rule.problem(value)
        if problem:
            raise rule.error(f"The value of `{path}` is invalid: {problem}.")


def _has_type(kind: str, value: object) -> bool:
    # bool is a subclass of int in Python, but JSON true is not a number.
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, (int, float))
    return kind == "str" and isinstance(value, str)
