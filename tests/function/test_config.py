"""Configuration: defaults, ImageTask validation against the SDK model, and start-up refusals."""

from __future__ import annotations

import json

import pytest

from handler.config import ConfigurationError, load_settings
from handler.image_task import DEFAULT_IMAGE_TASK, ImageTaskError, validate_image_task
from handler.outputs import guard_prefix


def refused(env: dict, tmp_path=None) -> str:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env, base_dir=str(tmp_path) if tmp_path else None)
    return str(info.value)


def test_defaults_are_the_reference_example_into_enhanced():
    s = load_settings({})
    assert (
        s.image_task
        == DEFAULT_IMAGE_TASK
        == {
            "EncodeConfig": {"Format": "JPEG", "Quality": 75},
            "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
        }
    )
    assert s.definition is None
    assert s.output_dir == "/enhanced/" and guard_prefix(s) == "enhanced/"
    assert s.output_bucket is None and s.output_path is None
    assert s.endpoint.url == "https://mps.tencentcloudapi.com"
    assert s.extensions == {"jpg", "jpeg", "png", "bmp", "webp"}


def test_image_task_enums_are_case_insensitive_and_normalised():
    task = {
        "EncodeConfig": {"Format": "webp", "Quality": 80},
        "EnhanceConfig": {"SuperResolution": {"Switch": "on", "Type": "HQ", "Size": 2}},
    }
    s = load_settings({"MPS_IMAGE_TASK": json.dumps(task)})
    assert s.image_task == {
        "EncodeConfig": {"Format": "WebP", "Quality": 80},
        "EnhanceConfig": {"SuperResolution": {"Switch": "ON", "Type": "hq", "Size": 2}},
    }


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (
            {"EncodeConfig": {"Fromat": "JPEG"}},
            "ImageTask.EncodeConfig.Fromat: unknown field; did you mean Format? ImageEncodeConfig allows: Format, Quality",
        ),
        (
            {"EncodeConfig": {"Format": "gif"}},
            "ImageTask.EncodeConfig.Format: 'gif' is not allowed; use one of JPEG, PNG, BMP, WebP",
        ),
        ({"EncodeConfig": {"Quality": 0}}, "ImageTask.EncodeConfig.Quality: 0 is out of range; allowed: 1-100"),
        ({"EncodeConfig": {"Quality": 101}}, "allowed: 1-100"),
        ({"EncodeConfig": {"Quality": "75"}}, "ImageTask.EncodeConfig.Quality: '75' should be an integer"),
        ({"EncodeConfig": {"Quality": True}}, "Quality: True should be an integer"),
        ({"EncodeConfig": {"Quality": 75.5}}, "Quality: 75.5 should be an integer"),
        ({"EnhanceConfig": {"SuperResolution": {"Switch": "YES"}}}, "Switch: 'YES' is not allowed; use one of ON, OFF"),
        ({"EnhanceConfig": {"SuperResolution": {"Type": "mq"}}}, "Type: 'mq' is not allowed; use one of lq, hq"),
        ({"EnhanceConfig": {"SuperResolution": {"Size": 3}}}, "Size: 3 is out of range; allowed: 2"),
        ({"EnhanceConfig": {"SharpEnhance": {"Intensity": 1.5}}}, "Intensity: 1.5 is out of range; allowed: 0-1"),
        ({"TransformConfig": {"ImageResize": {"Percent": 20}}}, "Percent: 20 is out of range; allowed: 0.1-10"),
        ({"Nope": {}}, "ImageTask.Nope: unknown field"),
        ({"EncodeConfig": []}, "EncodeConfig: [] should be a JSON object"),
        (
            {"EraseConfig": {"ImageEraseLogo": {"ImageAreaBoxes": [{"Type": "face"}]}}},
            "ImageAreaBoxes[0].Type: 'face' is not allowed",
        ),
    ],
)
def test_bad_image_task_names_field_value_and_what_is_allowed(task, expected):
    assert expected in refused({"MPS_IMAGE_TASK": json.dumps(task)})


def test_every_problem_is_reported_at_once():
    with pytest.raises(ImageTaskError) as info:
        validate_image_task({"EncodeConfig": {"Format": "gif", "Quality": 0}, "Bogus": 1})
    assert len(info.value.problems) == 3


@pytest.mark.parametrize("task", [{}, [], "JPEG", 7])
def test_image_task_must_be_a_non_empty_object(task):
    assert "should be a non-empty JSON object" in refused({"MPS_IMAGE_TASK": json.dumps(task)})


def test_image_task_that_is_not_json():
    assert "MPS_IMAGE_TASK: not valid JSON" in refused({"MPS_IMAGE_TASK": "{Format: JPEG}"})


def test_image_task_file_is_read_relative_to_the_code_root(tmp_path):
    (tmp_path / "task.json").write_text(json.dumps({"EncodeConfig": {"Format": "PNG"}}))
    s = load_settings({"MPS_IMAGE_TASK_FILE": "task.json"}, base_dir=str(tmp_path))
    assert s.image_task == {"EncodeConfig": {"Format": "PNG"}}
    assert "cannot read" in refused({"MPS_IMAGE_TASK_FILE": "missing.json"}, tmp_path)


def test_definition_replaces_the_inline_task():
    s = load_settings({"MPS_DEFINITION": "20001"})
    assert s.definition == 20001 and s.image_task is None
    assert "positive integer template id" in refused({"MPS_DEFINITION": "abc"})


def test_task_sources_are_mutually_exclusive():
    msg = refused({"MPS_DEFINITION": "1", "MPS_IMAGE_TASK": "{}"})
    assert "set only one of MPS_IMAGE_TASK, MPS_DEFINITION" in msg


def test_misspelt_variable_is_refused_not_ignored():
    msg = refused({"MPS_IMAGETASK": "{}", "PATH": "/usr/bin"})
    assert "MPS_IMAGETASK: unknown variable; did you mean MPS_IMAGE_TASK?" in msg
    assert "PATH:" not in msg


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OUTPUT_BUCKET": "photos"}, "OUTPUT_BUCKET='photos': must be the full bucket name <name>-<appid>"),
        ({"OUTPUT_REGION": "guangzhou"}, "OUTPUT_REGION='guangzhou': must be a full region name"),
        ({"MPS_REGION": "gz"}, "MPS_REGION='gz': must be a full region name"),
        ({"MPS_ENDPOINT": "127.0.0.1:9000"}, "MPS_ENDPOINT='127.0.0.1:9000': must be a URL"),
        ({"MPS_ENDPOINT": "ftp://x"}, "must be a URL"),
        ({"OUTPUT_PATH": "/out/{inputName}.jpg"}, "MPS requires it to end with .{format}"),
        ({"OUTPUT_DIR": "/a/../b/"}, "'.' and '..' segments are not allowed"),
        ({"OUTPUT_DIR": "/out/{inputName}/"}, "must be a plain directory"),
        ({"IMAGE_EXTENSIONS": " , "}, "list at least one extension"),
        ({"MPS_TIMEOUT_SECONDS": "0"}, "MPS_TIMEOUT_SECONDS='0'"),
        ({"COS_REGION_CODES": "nj"}, "is not 'code=full-region'"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env, expected):
    assert expected in refused(env)


def test_endpoint_override_for_local_fakes():
    s = load_settings({"MPS_ENDPOINT": "http://127.0.0.1:9000"})
    assert (s.endpoint.scheme, s.endpoint.host) == ("http", "127.0.0.1:9000")


def test_output_dir_is_normalised():
    assert load_settings({"OUTPUT_DIR": "hd"}).output_dir == "/hd/"
    assert load_settings({"OUTPUT_DIR": "/a//b"}).output_dir == "/a/b/"


def test_extensions_are_configurable_case_insensitively():
    assert load_settings({"IMAGE_EXTENSIONS": "JPG, .Heic"}).extensions == {"jpg", "heic"}


# -- loop guard at start-up -----------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"OUTPUT_DIR": "/"},
        {"OUTPUT_DIR": ""},
        {"OUTPUT_DIR": "/", "OUTPUT_PATH": "{inputName}_hd.{format}"},
        {"OUTPUT_PATH": "/{inputName}_hd.{format}"},
    ],
)
def test_output_next_to_sources_in_the_same_bucket_is_refused_with_a_fix(env):
    msg = refused(env)
    assert "would trigger the function again" in msg
    assert "Set OUTPUT_DIR to a directory such as /enhanced/" in msg


def test_output_root_is_allowed_in_another_bucket():
    s = load_settings({"OUTPUT_DIR": "/", "OUTPUT_BUCKET": "out-1250000000"})
    assert guard_prefix(s) == ""


def test_trigger_prefix_inside_the_output_directory_is_refused():
    msg = refused({"OUTPUT_DIR": "/enhanced/", "TRIGGER_PREFIX": "enhanced/uploads/"})
    assert "lies inside the output directory /enhanced/" in msg


def test_output_directory_inside_the_trigger_prefix_is_allowed():
    """The runtime guard skips the outputs' own events, so this cannot loop."""
    s = load_settings({"OUTPUT_DIR": "/uploads/enhanced/", "TRIGGER_PREFIX": "uploads/"})
    assert guard_prefix(s) == "uploads/enhanced/"


def test_absolute_output_path_sets_the_guard_and_warns_about_collisions():
    s = load_settings({"OUTPUT_PATH": "/hd/{inputName}_x.{format}"})
    assert guard_prefix(s) == "hd/"
    assert any("overwrite" in w for w in s.warnings)


def test_fingerprint_changes_with_the_task_and_the_output():
    base = load_settings({}).fingerprint
    assert load_settings({}).fingerprint == base
    assert load_settings({"OUTPUT_DIR": "/hd/"}).fingerprint != base
    assert load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Quality": 80}})}).fingerprint != base
    # Same effective task, different spelling: same fingerprint.
    a = load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Format": "jpeg"}})}).fingerprint
    b = load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Format": "JPEG"}})}).fingerprint
    assert a == b
