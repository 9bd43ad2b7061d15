"""Configuration the user slipped on: where a JSON error is, a region's suggestion, the MPS call's region."""

from __future__ import annotations

import pytest

from handler.config import load_settings
from handler.errors import ConfigurationError


def refused(env: dict, tmp_path=None) -> str:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env, base_dir=str(tmp_path) if tmp_path else None)
    return str(info.value)


def test_a_json_error_says_where_in_the_text_and_which_file(tmp_path):
    assert "MPS_IMAGE_TASK: not valid JSON at line 1 column 2: Expecting property name" in refused(
        {"MPS_IMAGE_TASK": "{Format: JPEG}"}
    )
    (tmp_path / "task.json").write_text('{\n  "EncodeConfig": {"Format": "PNG"},\n}')
    message = refused({"MPS_IMAGE_TASK_FILE": "task.json"}, tmp_path)
    assert "MPS_IMAGE_TASK_FILE: not valid JSON in task.json at line 3 column 1: Expecting property name" in message


def test_a_region_variable_that_is_not_a_full_name_gets_a_suggestion():
    assert "MPS_REGION='shanghai': must be a full region name such as ap-guangzhou; did you mean 'ap-shanghai'?" in (
        refused({"MPS_REGION": "shanghai"})
    )
    # A well-formed region the documented list does not know is accepted: a new region needs no code change.
    assert load_settings({"MPS_REGION": "ap-newcity"}).mps_region == "ap-newcity"


def test_the_mps_call_goes_to_mps_region_else_the_functions_else_the_buckets():
    assert load_settings({"MPS_REGION": "ap-beijing"}).mps_region_for("ap-shanghai", "ap-guangzhou") == "ap-beijing"
    assert load_settings({}).mps_region_for("ap-shanghai", "ap-guangzhou") == "ap-shanghai"
    assert load_settings({}).mps_region_for(None, "ap-guangzhou") == "ap-guangzhou"
