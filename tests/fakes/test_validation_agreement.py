"""The function's start-up validator and the fake MPS's body validator must agree.

They are written independently (handler/image_task.py for users' configuration, fakes/mps/
validation.py for what the API accepts). If the handler accepted a task the API rejects,
every upload would fail at run time instead of the configuration being refused at start-up;
if it refused one the API takes, users could not configure it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.mps.exceptions import MpsError
from fakes.mps.validation import validate
from handler.errors import ImageTaskError
from handler.image_task import RULES, OneOf, schema, validate_image_task

TYPES = schema()["types"]
# The handler checks values fully for these; the generative/AI configs only by type (README).
ENHANCEMENT_CONFIGS = [
    "EncodeConfig",
    "EnhanceConfig",
    "EraseConfig",
    "BlindWatermarkConfig",
    "BeautyConfig",
    "TransformConfig",
]
INPUT = {"Type": "COS", "CosInputInfo": {"Bucket": "b-1250000000", "Region": "ap-guangzhou", "Object": "/a.jpg"}}


def _strings(model: str, field: str) -> st.SearchStrategy[str]:
    rule = RULES.get((model, field)) or (OneOf(("ON", "OFF")) if field == "Switch" else None)
    if isinstance(rule, OneOf):
        return (
            st.sampled_from(rule.values) | st.sampled_from(rule.values).map(str.lower) | st.sampled_from(["", "bogus"])
        )
    return st.text(max_size=8)


def _value(model: str, field: str, spec: Any, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(spec, list):
        return st.lists(_value(model, field, spec[0], depth + 1), max_size=2)
    wrong = st.sampled_from([None, True, "7", 1.5, [], {}])
    if spec == "str":
        return _strings(model, field) | wrong
    if spec == "int":
        return st.integers(-5, 20000) | st.sampled_from([0, 1, 2, 3, 100, 101, 4096, 4097, 16384, 16385]) | wrong
    if spec == "float":
        return st.floats(-1, 20, allow_nan=False) | st.integers(0, 11) | wrong
    if spec == "bool":
        return st.booleans() | wrong
    return _object(spec, depth + 1) | wrong


def _object(model: str, depth: int) -> st.SearchStrategy[dict]:
    fields = TYPES[model]
    if depth > 3:
        return st.just({})
    allowed = ENHANCEMENT_CONFIGS if model == "ImageTaskInput" else sorted(fields)
    names = st.sets(st.sampled_from([*allowed, "Unknwon"]), max_size=3)
    return names.flatmap(
        lambda chosen: st.fixed_dictionaries(
            {n: (_value(model, n, fields[n], depth) if n in fields else st.just(1)) for n in chosen}
        )
    )


def fake_accepts(task: dict) -> bool:
    try:
        validate("ProcessImageRequest", {"InputInfo": INPUT, "ImageTask": task})
    except MpsError:
        return False
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_object("ImageTaskInput", 0).filter(bool))
def test_handler_and_fake_agree_on_image_tasks(task):
    try:
        normalised = validate_image_task(task)
    except ImageTaskError as exc:
        assert not fake_accepts(task), f"handler refuses what MPS accepts: {exc}"
        return
    assert fake_accepts(normalised), f"handler accepts what MPS rejects: {task}"
