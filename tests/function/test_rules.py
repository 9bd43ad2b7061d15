"""Rules files: parsed and matched without I/O; every mistake named with the rule it is in."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from repo import PROJECT, ROOT

from handler.rules import RuleMatch, object_metadata, parse_rules


def parse(rules):
    return parse_rules({"rules": rules}, "RULES_FILE")


def test_a_whole_rules_file_parses():
    """The fixture rules.json: the shipped example's rules."""
    rules, problems = parse_rules(json.loads((PROJECT / "rules.json").read_text()), "RULES_FILE")
    assert problems == []
    assert [r.name for r in rules] == ["avatars", "large-product-shots", "products", "print-quality"]
    assert rules[1].action == "skip" and rules[0].output == {"dir": "/enhanced/avatars/"}


@pytest.mark.shipped_example  # reads the shipped example: moves to dev.py check
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


# -- RULES_FILE loaded with the configuration ----------------------------------------------------


def load_with_rules(tmp_path, rules, **env):
    from handler.config import load_settings

    (tmp_path / "rules.json").write_text(json.dumps({"rules": rules}), encoding="utf-8")
    return load_settings({"RULES_FILE": "rules.json", **env}, base_dir=str(tmp_path))


def refused_rules(tmp_path, rules, **env):
    from handler.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        load_with_rules(tmp_path, rules, **env)
    return str(info.value)


def test_each_rule_gets_its_own_settings_and_fingerprint(tmp_path):
    s = load_with_rules(
        tmp_path,
        [
            {"name": "a", "match": {"prefix": "a/"}, "image_task": {"EncodeConfig": {"Format": "webp"}}},
            {"name": "b", "match": {"prefix": "b/"}, "definition": 20001, "output": {"dir": "/hd"}},
            {"name": "c", "match": {"prefix": "c/"}, "skip": "not these"},
        ],
    )
    a, b, c = s.rules
    assert a.settings.image_task == {"EncodeConfig": {"Format": "WebP"}} and a.settings.output_dir == "/enhanced/"
    assert b.settings.definition == 20001 and b.settings.output_dir == "/hd/" and b.settings.image_task is None
    assert c.settings is None and c.skip == "not these"
    assert len({s.fingerprint, a.settings.fingerprint, b.settings.fingerprint}) == 3


def test_editing_one_rule_changes_only_its_fingerprint(tmp_path):
    rules = [
        {"name": "a", "match": {"prefix": "a/"}, "image_task": {"EncodeConfig": {"Quality": 70}}},
        {"name": "b", "match": {"prefix": "b/"}, "image_task": {"EncodeConfig": {"Quality": 80}}},
    ]
    before = load_with_rules(tmp_path, rules)
    rules[1]["image_task"]["EncodeConfig"]["Quality"] = 85
    after = load_with_rules(tmp_path, rules)
    assert before.fingerprint == after.fingerprint
    assert before.rules[0].settings.fingerprint == after.rules[0].settings.fingerprint
    assert before.rules[1].settings.fingerprint != after.rules[1].settings.fingerprint


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [{"name": "a", "image_task": {"EncodeConfig": {"Quality": 0}}}],
            "RULES_FILE: rule a: image_task: ImageTask.EncodeConfig.Quality: 0 is out of range",
        ),
        (
            [{"name": "a", "image_task_file": "missing.json"}],
            "RULES_FILE: rule a: image_task_file='missing.json': cannot read",
        ),
        ([{"name": "a", "definition": "20001"}], "RULES_FILE: rule a: definition: '20001': must be a positive integer"),
        (
            [{"name": "a", "definition": 1, "output": {"dir": "/"}}],
            "RULES_FILE: rule a: output would land next to the uploaded images",
        ),
        (
            [{"name": "a", "definition": 1, "output": {"bucket": "Bad"}}],
            "RULES_FILE: rule a: output.bucket='Bad': must be the full bucket name",
        ),
        (
            [{"name": "a", "definition": 1, "output": {"region": "ap-shanghai"}}],
            "RULES_FILE: rule a: output.region='ap-shanghai': set OUTPUT_BUCKET too",
        ),
        (
            [{"name": "a", "definition": 1, "output": {"path": "x.{format}"}}],
            "RULES_FILE: rule a: output.path='x.{format}': must contain {inputName}.{inputFormat}",
        ),
        (
            [{"name": "a", "definition": 1, "output": {"dir": "/uploads/in/"}}],
            "TRIGGER_PREFIX='uploads/in/x/' lies inside the output directory",
        ),
    ],
)
def test_a_rules_problems_read_like_the_variables(tmp_path, rules, expected):
    assert expected in refused_rules(tmp_path, rules, TRIGGER_PREFIX="uploads/in/x/")


def test_an_unreadable_or_invalid_rules_file_is_refused(tmp_path):
    from handler.config import load_settings
    from handler.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="RULES_FILE='none.json': cannot read"):
        load_settings({"RULES_FILE": "none.json"}, base_dir=str(tmp_path))
    (tmp_path / "dup.json").write_text('{"rules": [], "rules": []}')
    with pytest.raises(ConfigurationError, match="RULES_FILE: duplicate key 'rules'"):
        load_settings({"RULES_FILE": "dup.json"}, base_dir=str(tmp_path))


def test_a_rule_task_file_is_read_from_the_code_root(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "hd.json").write_text('{"EncodeConfig": {"Format": "PNG"}}')
    s = load_with_rules(tmp_path, [{"name": "hd", "image_task_file": "tasks/hd.json"}])
    assert s.rules[0].settings.image_task == {"EncodeConfig": {"Format": "PNG"}}
