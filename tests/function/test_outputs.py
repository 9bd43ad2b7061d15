"""Where outputs go: handler/outputs.py and the fake MPS's own reading of MPS's naming agree on one table.

The fake MPS decides where a task's output lands independently (from the request it received,
as MPS documents OutputDir/OutputPath); handler/outputs.py predicts the same key for backfill's
"output exists" check. Both are held against the same cases here, so neither can drift alone.
"""

from __future__ import annotations

import json

import pytest

from autoenhance.sample_events import cos_event, cos_record
from fakes.harness import WarmContainer
from handler.config import load_settings
from handler.errors import ConfigurationError, OutputKeyTooLongError
from handler.outputs import loop_problems, output_location, predicted_output_key, retrigger_warning, retriggers

BUCKET, REGION, OTHER = "photos-1250000000", "ap-guangzhou", "out-1250000000"
WEBP = json.dumps({"EncodeConfig": {"Format": "WebP", "Quality": 80}})
NO_FORMAT = json.dumps({"EnhanceConfig": {"SuperResolution": {"Switch": "ON"}}})

CASES = [
    # (key, configuration, output bucket, output key): the source's whole file name, then MPS's {format}
    ("uploads/a/cat.jpg", {}, BUCKET, "enhanced/uploads/a/cat.jpg.jpeg"),
    ("cat.png", {}, BUCKET, "enhanced/cat.png.jpeg"),
    ("a/b.jpg", {"MPS_IMAGE_TASK": WEBP}, BUCKET, "enhanced/a/b.jpg.webp"),
    ("a/b.png", {"MPS_IMAGE_TASK": NO_FORMAT}, BUCKET, "enhanced/a/b.png.png"),
    ("a/b.webp", {"OUTPUT_PATH": "{inputName}.{inputFormat}_hd.{format}"}, BUCKET, "enhanced/a/b.webp_hd.jpeg"),
    ("a/b.png", {"OUTPUT_PATH": "hd/{inputName}.{inputFormat}.{format}"}, BUCKET, "enhanced/a/hd/b.png.jpeg"),
    ("a/photo", {"IMAGE_EXTENSIONS": "jpg"}, BUCKET, None),  # not an image: no output at all
    ("a/b.jpg", {"OUTPUT_DIR": "/out/x"}, BUCKET, "out/x/a/b.jpg.jpeg"),
    ("a/b.jpg", {"OUTPUT_BUCKET": OTHER, "OUTPUT_DIR": "/"}, OTHER, "a/b.jpg.jpeg"),
    ("假期 照片/海边 日落+1 100%.JPG", {}, BUCKET, "enhanced/假期 照片/海边 日落+1 100%.JPG.jpeg"),
    ("a.b.c/d.e.jpg", {}, BUCKET, "enhanced/a.b.c/d.e.jpg.jpeg"),
    ("uploads//a.jpg", {}, BUCKET, "enhanced/uploads//a.jpg.jpeg"),  # an empty segment is kept: another object
]


@pytest.mark.parametrize(("key", "env", "bucket", "expected"), CASES)
def test_the_predicted_key_is_where_the_fake_mps_writes(fake_mps, key, env, bucket, expected):
    settings = load_settings(env)
    if expected is None:
        summary = WarmContainer(fake_mps, env).invoke(cos_event([cos_record(BUCKET, REGION, key)]))
        assert summary["skipped"] == 1 and fake_mps.backend.tasks == []
        return
    assert predicted_output_key(BUCKET, REGION, key, settings) == expected
    summary = WarmContainer(fake_mps, env).invoke(cos_event([cos_record(BUCKET, REGION, key)]))
    assert summary["submitted"] == 1
    [task] = fake_mps.backend.tasks
    written = fake_mps.backend.output_path_for(task)
    assert (written.bucket, written.path.lstrip("/")) == (bucket, expected)


def test_a_template_makes_the_key_unpredictable():
    assert predicted_output_key(BUCKET, REGION, "a/b.jpg", load_settings({"MPS_DEFINITION": "20001"})) is None


@pytest.mark.parametrize(
    "keys",
    [
        ("u/a.jpg", "u/a.png"),  # one name, two formats: MPS's own default gives both u/a.jpeg
        ("u/b.jpg", "u/b.jpeg"),
        ("u/c", "u/c.jpg"),
        ("u/d.JPG", "u/d.jpg"),
        ("u/e.jpg", "u//e.jpg"),  # two objects: empty path segments are not dropped
    ],
)
@pytest.mark.parametrize(
    "path", [None, "{inputName}.{inputFormat}_hd.{format}", "x/{inputName}.{inputFormat}.{format}"]
)
def test_two_sources_never_share_an_output(fake_mps, keys, path):
    env = (
        {"IMAGE_EXTENSIONS": "jpg,jpeg,png"}
        if path is None
        else {"IMAGE_EXTENSIONS": "jpg,jpeg,png", "OUTPUT_PATH": path}
    )
    settings = load_settings(env)
    predicted = {predicted_output_key(BUCKET, REGION, k, settings) for k in keys if "." in k.rsplit("/", 1)[1]}
    assert len(predicted) == len([k for k in keys if "." in k.rsplit("/", 1)[1]])
    WarmContainer(fake_mps, env).invoke(cos_event([cos_record(BUCKET, REGION, k) for k in keys]))
    written = [fake_mps.backend.output_path_for(t).path for t in fake_mps.backend.tasks]
    assert len(written) == len(set(written)) == len(predicted)


def test_a_file_name_holding_an_mps_variable_fails_instead_of_being_renamed(fake_mps):
    summary, _error = WarmContainer(fake_mps).outcome(cos_event([cos_record(BUCKET, REGION, "u/{format}.jpg")]))
    [result] = summary["results"]
    assert (
        result["outcome"] == "failed"
        and result["error_code"] == "UnsafeKey"
        and "file-name variable" in result["error"]
    )


def test_unknown_variables_in_output_path_are_refused():
    with pytest.raises(ConfigurationError, match="only .inputName., .inputFormat. and .format. are filled in"):
        load_settings({"OUTPUT_PATH": "{inputName}.{inputFormat}_{width}.{format}"})


@pytest.mark.parametrize(
    ("env", "trigger_prefix", "expected"),
    [
        ({}, "", True),  # the trigger watches the whole bucket, outputs included
        ({}, "uploads/", False),
        ({"OUTPUT_DIR": "/uploads/enhanced/"}, "", True),
        ({"OUTPUT_BUCKET": OTHER}, "", False),
        ({"OUTPUT_DIR": "/uploads/enhanced/"}, "uploads/", True),
    ],
)
def test_retrigger_is_one_rule_for_check_config_and_the_deploy_check(env, trigger_prefix, expected):
    settings = load_settings(env)
    assert retriggers(settings, trigger_prefix) is expected
    with_prefix = load_settings({**env, **({"TRIGGER_PREFIX": trigger_prefix} if trigger_prefix else {})})
    assert (retrigger_warning(with_prefix) is not None) is expected


@pytest.mark.parametrize(
    ("output_dir", "output_bucket", "watched", "problems"),
    [
        ("/uploads/", None, None, 1),  # TRIGGER_PREFIX inside the output directory
        ("/uploads/", None, OTHER, 1),
        ("/uploads/", BUCKET, BUCKET, 1),
        ("/uploads/", BUCKET, OTHER, 0),
        ("/uploads/", BUCKET, None, 0),  # not known here: the function checks its records instead
        ("/", OTHER, OTHER, 1),  # output next to the sources
        ("/", OTHER, BUCKET, 0),
        ("/enhanced/", BUCKET, BUCKET, 0),
    ],
)
def test_loop_checks_apply_whenever_outputs_go_to_the_watched_bucket(output_dir, output_bucket, watched, problems):
    """No OUTPUT_BUCKET, or one naming the watched bucket: the same refusals either way."""
    env = {"OUTPUT_DIR": output_dir, "TRIGGER_PREFIX": "uploads/new/", "OUTPUT_BUCKET": OTHER}
    settings = load_settings(env)._replace(output_bucket=output_bucket)
    assert len(loop_problems(settings, watched)) == problems


def test_the_trigger_prefix_is_compared_as_cos_keys_are_written():
    """'/uploads/new/' from the console is the key prefix uploads/new/: inside OUTPUT_DIR=/uploads/."""
    settings = load_settings({"OUTPUT_DIR": "/uploads/", "OUTPUT_BUCKET": BUCKET, "TRIGGER_PREFIX": "/uploads/new/"})
    [problem] = loop_problems(settings, BUCKET)
    assert "TRIGGER_PREFIX='uploads/new/' lies inside the output directory /uploads/" in problem


def test_a_source_whose_output_key_would_pass_850_bytes_fails_before_any_call(fake_mps):
    """COS keys are at most 850 bytes: MPS could not write the output, so no task is made for it."""
    fits = "u/" + "a" * (850 - len("enhanced/u/") - len(".jpg.jpeg")) + ".jpg"
    too_long = "u/" + "b" * (850 - len("enhanced/u/") - len(".jpg.jpeg") + 1) + ".jpg"
    assert len(predicted_output_key(BUCKET, REGION, fits, load_settings({})).encode()) == 850
    assert predicted_output_key(BUCKET, REGION, too_long, load_settings({})) is None
    summary, _error = WarmContainer(fake_mps).outcome(
        cos_event([cos_record(BUCKET, REGION, fits), cos_record(BUCKET, REGION, too_long)])
    )
    first, second = summary["results"]
    assert first["outcome"] == "submitted"
    assert second["outcome"] == "failed" and second["error_code"] == "OutputKeyTooLong"
    assert "851 bytes, over COS's 850-byte limit" in second["error"]
    assert len(fake_mps.backend.tasks) == 1


def test_with_a_template_the_longest_format_is_assumed():
    settings = load_settings({"MPS_DEFINITION": "20001"})
    key = "u/" + "c" * (850 - len("enhanced/u/") - len(".jpg.xxxx") + 1) + ".jpg"
    with pytest.raises(OutputKeyTooLongError):
        output_location(BUCKET, REGION, key, settings)
