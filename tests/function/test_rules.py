"""Rules files: parsed and matched without I/O; every mistake named with the rule it is in."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from repo import ROOT

from handler.rules import RuleMatch, object_metadata, parse_rules


def parse(rules):
    return parse_rules({"rules": rules}, "RULES_FILE")


def test_the_shipped_example_parses():
    rules, problems = parse_rules(json.loads((ROOT / "rules.example.json").read_text()), "RULES_FILE")
    assert problems == []
    assert [r.name for r in rules] == ["avatars", "large-product-shots", "products", "print-quality"]
    assert rules[1].action == "skip" and rules[0].output == {"dir": "/enhanced/avatars/"}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [{"name": "a", "match": {"prefx": "x/"}, "skip": "r"}],
            "rules[0] (a).match: unknown field 'prefx'; did you mean prefix?",
        ),
        ([{"name": "a", "skip": "r", "imagetask": {}}], "unknown field 'imagetask'; did you mean image_task?"),
        ([{"name": "a"}], "rules[0] (a): needs exactly one of image_task, image_task_file, definition, skip, has none"),
        ([{"name": "a", "skip": "r", "definition": 1}], "has definition, skip"),
        ([{"name": "a b", "skip": "r"}], "rules[0].name: 'a b': must be 1-64 letters"),
        ([{"name": "skip", "skip": "r"}], "'skip' is reserved"),
        ([{"name": "a", "skip": "r"}, {"name": "a", "skip": "r"}], "rules[1] (a).name: 'a' is used by an earlier rule"),
        ([{"name": "a", "match": {"extensions": "jpg"}, "skip": "r"}], "must be a list of extensions"),
        ([{"name": "a", "match": {"extensions": ["j p g"]}, "skip": "r"}], "each must be letters and digits"),
        ([{"name": "a", "match": {"min_size": -1}, "skip": "r"}], "min_size: -1: must be a whole number of bytes"),
        ([{"name": "a", "match": {"min_size": True}, "skip": "r"}], "min_size: True: must be a whole number"),
        ([{"name": "a", "match": {"min_size": 9, "max_size": 1}, "skip": "r"}], "nothing would match"),
        ([{"name": "a", "match": {"content_type": "jpeg"}, "skip": "r"}], "must be a media type such as image/png"),
        ([{"name": "a", "match": {"metadata": {"kind": "x"}}, "skip": "r"}], "must be an x-cos-meta-* header name"),
        ([{"name": "a", "match": {"metadata": {"x-cos-meta-autoenhance": "a"}}, "skip": "r"}], "cannot be matched on"),
        ([{"name": "a", "match": {"metadata": {"x-cos-meta-k": 1}}, "skip": "r"}], "to exact string values"),
        ([{"name": "a", "skip": ""}], "must be the reason to log"),
        ([{"name": "a", "skip": "r", "output": {"dir": "/x/"}}], "a skip rule writes nothing"),
        ([{"name": "a", "definition": 5, "output": {"folder": "/x/"}}], "output: unknown field 'folder'"),
        ([{"name": "a", "definition": 5, "output": {"dir": 5}}], "must be an object of strings"),
        (["not a rule"], "rules[0]: must be an object"),
    ],
)
def test_each_mistake_is_named_with_its_rule(rules, expected):
    _, problems = parse(rules)
    assert any(expected in p for p in problems), problems


def test_a_file_without_a_rules_list_is_refused():
    assert parse_rules([], "RULES_FILE")[1] == ['RULES_FILE: must be {"rules": [...]}, a list of rules']
    assert "unknown field 'rule'" in parse_rules({"rules": [], "rule": 1}, "RULES_FILE")[1][0]


def test_matching_is_by_prefix_extension_size_content_type_and_metadata():
    m = RuleMatch(
        prefix="p/", extensions=frozenset({"jpg"}), min_size=10, max_size=20, content_type="image/*",
        metadata=(("x-cos-meta-kind", "shot"),),
    )  # fmt: skip
    meta = {"x-cos-meta-kind": "shot"}
    assert m.matches("p/a.JPG", 15, "image/jpeg; charset=x", meta)
    assert not m.matches("q/a.jpg", 15, "image/jpeg", meta)
    assert not m.matches("p/a.png", 15, "image/jpeg", meta)
    assert not m.matches("p/a.jpg", 9, "image/jpeg", meta) and not m.matches("p/a.jpg", 21, "image/jpeg", meta)
    assert not m.matches("p/a.jpg", 15, "text/plain", meta)
    assert not m.matches("p/a.jpg", 15, "image/jpeg", {"x-cos-meta-kind": "Shot"})  # values are exact
    assert RuleMatch(content_type="image/png").matches("a", 1, "IMAGE/PNG", {})
    assert RuleMatch().matches("anything", 0, "", {})


def test_object_metadata_keeps_only_user_metadata_with_lowercase_names():
    meta = {
        "x-cos-request-id": "r",
        "Content-Type": "image/jpeg",
        "X-Cos-Meta-Kind": "shot",
        "x-cos-meta-autoenhance": "skip",
    }
    assert object_metadata(meta) == (("x-cos-meta-autoenhance", "skip"), ("x-cos-meta-kind", "shot"))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_any_json_is_parsed_or_refused_never_crashes(doc):
    rules, problems = parse_rules({"rules": [doc]}, "RULES_FILE")
    assert rules or problems
