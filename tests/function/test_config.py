"""Configuration: defaults, ImageTask validation against the SDK model, and start-up refusals."""

from __future__ import annotations

import json
import os

import pytest

from handler.config import KNOWN_VARIABLES, load_settings
from handler.errors import ConfigurationError, ImageTaskError
from handler.image_task import DEFAULT_IMAGE_TASK, validate_image_task
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
        {"OUTPUT_DIR": "/", "OUTPUT_PATH": "{inputName}.{inputFormat}_hd.{format}"},
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


def test_an_absolute_output_path_is_refused_as_it_puts_every_directory_in_one():
    msg = refused({"OUTPUT_PATH": "/hd/{inputName}.{inputFormat}.{format}"})
    assert "must be relative to the output directory" in msg and "a/x.jpg and b/x.jpg share one output" in msg


def test_fingerprint_changes_with_the_task_and_the_output():
    base = load_settings({}).fingerprint
    assert load_settings({}).fingerprint == base
    assert load_settings({"OUTPUT_DIR": "/hd/"}).fingerprint != base
    assert load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Quality": 80}})}).fingerprint != base
    # Same effective task, different spelling: same fingerprint.
    a = load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Format": "jpeg"}})}).fingerprint
    b = load_settings({"MPS_IMAGE_TASK": json.dumps({"EncodeConfig": {"Format": "JPEG"}})}).fingerprint
    assert a == b


# -- every value checked: nothing silently skips or misroutes every upload --------------------------

WATCHED = "photos-1250000000"


@pytest.mark.parametrize(
    ("raw", "fix"),
    [
        ("jpg png", "IMAGE_EXTENSIONS=jpg,png"),
        ("jpg;png", "IMAGE_EXTENSIONS=jpg,png"),
        ("jpg|png", "IMAGE_EXTENSIONS=jpg,png"),
        ("JPG; .PNG", "IMAGE_EXTENSIONS=jpg,png"),
        ("*", "'*' is no wildcard"),
        ("jpg,*.png", "'*' is no wildcard: name each extension): IMAGE_EXTENSIONS=jpg,png"),
        ("..jpg", "IMAGE_EXTENSIONS=jpg"),
        ("jpé", "e.g. jpg,png"),
    ],
)
def test_image_extensions_not_separated_by_commas_are_refused_with_the_fix(raw, fix):
    msg = refused({"IMAGE_EXTENSIONS": raw})
    assert f"IMAGE_EXTENSIONS={raw!r}: " in msg and "is not an extension" in msg
    assert fix in msg


def test_image_extensions_accept_spaces_a_leading_dot_and_empty_entries():
    assert load_settings({"IMAGE_EXTENSIONS": " jpg , .PNG ,, heic2,"}).extensions == {"jpg", "png", "heic2"}


def test_output_region_without_output_bucket_is_refused():
    msg = refused({"OUTPUT_REGION": "ap-shanghai"})
    assert "OUTPUT_REGION='ap-shanghai': set OUTPUT_BUCKET too" in msg
    s = load_settings({"OUTPUT_REGION": "ap-shanghai", "OUTPUT_BUCKET": "out-1250000000"})
    assert (s.output_bucket, s.output_region) == ("out-1250000000", "ap-shanghai")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OUTPUT_DIR": "/uploads/", "TRIGGER_PREFIX": "uploads/new/"}, "TRIGGER_PREFIX='uploads/new/' lies inside"),
        ({"OUTPUT_DIR": "/"}, "output would land next to the uploaded images"),
    ],
)
def test_output_bucket_naming_the_watched_bucket_gets_the_same_loop_checks(env, expected):
    assert expected in refused(env)  # without OUTPUT_BUCKET
    same = {**env, "OUTPUT_BUCKET": WATCHED}
    with pytest.raises(ConfigurationError) as info:
        load_settings(same, watched_bucket=WATCHED)
    assert f"OUTPUT_BUCKET={WATCHED!r} is the watched bucket itself, so " in str(info.value)
    assert expected in str(info.value)
    # Another watched bucket (or none known): the outputs cannot reach this trigger.
    assert load_settings(same, watched_bucket="other-1250000000").output_bucket == WATCHED
    assert load_settings(same).output_bucket == WATCHED


def test_settings_carry_the_same_bucket_problem_for_the_run_time_check():
    assert load_settings({}).output_bucket_loop == ""
    assert load_settings({"OUTPUT_BUCKET": "out-1250000000"}).output_bucket_loop == ""
    s = load_settings({"OUTPUT_BUCKET": WATCHED, "OUTPUT_DIR": "/uploads/", "TRIGGER_PREFIX": "uploads/new/"})
    assert s.output_bucket_loop.startswith(f"OUTPUT_BUCKET={WATCHED!r} is the watched bucket itself, so ")
    assert "TRIGGER_PREFIX='uploads/new/' lies inside the output directory /uploads/" in s.output_bucket_loop
    assert s.fingerprint == load_settings({"OUTPUT_BUCKET": WATCHED, "OUTPUT_DIR": "/uploads/"}).fingerprint


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("IMAGE_EXTENSION", "IMAGE_EXTENSIONS"),
        ("TRIGGER_PREFX", "TRIGGER_PREFIX"),
        ("COS_REGION_CODE", "COS_REGION_CODES"),
        ("image_extensions", "IMAGE_EXTENSIONS"),
        ("Trigger-Prefix", "TRIGGER_PREFIX"),
        ("IMAGEEXTENSIONS", "IMAGE_EXTENSIONS"),
        ("TRIGER_PREFIX", "TRIGGER_PREFIX"),
        ("IMGAE_EXTENSIONS", "IMAGE_EXTENSIONS"),
        ("TRIGGER_PREFIXES", "TRIGGER_PREFIX"),
        ("mps_region", "MPS_REGION"),
        ("Output_Dir", "OUTPUT_DIR"),
        ("OUPUT_BUCKET", "OUTPUT_BUCKET"),
        ("cos_region_codes", "COS_REGION_CODES"),
    ],
)
def test_a_near_miss_of_any_variable_we_read_is_refused_with_did_you_mean(name, meant):
    assert f"{name}: unknown variable; did you mean {meant}?" in refused({name: "x"})


@pytest.mark.parametrize("known", KNOWN_VARIABLES)
def test_every_variable_we_read_is_guarded_against_slips(known):
    first, _, rest = known.partition("_")
    slips = {
        known.lower(),
        known.replace("_", ""),
        known[:-1],  # a letter missing
        known + "S",  # one too many
        f"{first}_{rest[1]}{rest[0]}{rest[2:]}",  # two swapped
    }
    msg = refused(dict.fromkeys(slips, "x"))
    for slip in slips:
        assert f"{slip}: unknown variable; did you mean {known}?" in msg


# What SCF puts in a function's environment, the CLI's own variables, and a developer's shell.
SCF_ENVIRONMENT = dict.fromkeys(
    [
        # SCF's own
        "SCF_RUNTIME",
        "SCF_FUNCTIONNAME",
        "SCF_FUNCTIONVERSION",
        "SCF_NAMESPACE",
        "SCF_MEMORY_SIZE",
        "SCF_TIMEOUT",
        "SCF_CODE_PATH",
        "SCF_CODE_FILE",
        "SCF_HANDLER",
        "SCF_TRIGGER_TYPE",
        "_SCF_SERVER_PORT",
        # the execution role and account
        "TENCENTCLOUD_REGION",
        "TENCENTCLOUD_APPID",
        "TENCENTCLOUD_UIN",
        "TENCENTCLOUD_RUNENV",
        "TENCENTCLOUD_SECRETID",
        "TENCENTCLOUD_SECRETKEY",
        "TENCENTCLOUD_SESSIONTOKEN",
        "QCLOUD_APPID",
        # the runtime
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PATH",
        "LD_LIBRARY_PATH",
        "LANG",
        "LC_ALL",
        "TZ",
        "HOME",
        "USER",
        "PWD",
        "OLDPWD",
        "_",
        # the CLI and the deploy .env
        "AUTOENHANCE_STATE_DIR",
        "AUTOENHANCE_PROJECT_DIR",
        "AUTOENHANCE_SCF_PYTHON_3_9",
        "TENCENT_SECRET_ID",
        "TENCENT_SECRET_KEY",
        "REGION",
        "BUCKET",
        "EXECUTION_ROLE",
        "COS_ENDPOINT",
        # a developer's shell
        "SHELL",
        "SHLVL",
        "COLUMNS",
        "LINES",
        "TERM",
        "HOSTNAME",
        "DISPLAY",
        "EDITOR",
        "VISUAL",
        "LOGNAME",
        "MAIL",
        "TMPDIR",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "CI",
        "GITHUB_ACTIONS",
        "VIRTUAL_ENV",
        "PYENV_ROOT",
        "PIP_FIND_LINKS",
        "DEBIAN_FRONTEND",
        # other tools' names close to ours
        "COS_REGION",
        "COS_BUCKET",
        "COS_SECRET_ID",
        "COS_SECRET_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "GPS_REGION",
        "IMAGE_NAME",
        "IMAGE_TAG",
        "INPUT_DIR",
        "INPUT_PATH",
        "OUTLET_DIR",
        "STAGE_EXTENSIONS",
    ],
    "x",
)


def test_the_near_miss_rule_never_fires_on_scf_the_cli_or_a_shell():
    s = load_settings(SCF_ENVIRONMENT)
    assert s.image_task == DEFAULT_IMAGE_TASK


def test_the_near_miss_rule_never_fires_on_this_machines_environment():
    """os.environ is what main_handler and the CLI read: no variable in it may be taken for a typo."""
    ours = {k: v for k, v in os.environ.items() if k not in KNOWN_VARIABLES}
    problems = []
    try:
        load_settings(ours)
    except ConfigurationError as exc:
        problems = exc.problems
    assert not [p for p in problems if "unknown variable" in p]


@pytest.mark.parametrize("prefix", ["/uploads/", "//uploads/", "uploads/"])
def test_trigger_prefix_drops_a_leading_slash_as_cos_keys_have_none(prefix):
    assert load_settings({"TRIGGER_PREFIX": prefix}).trigger_prefix == "uploads/"
    assert load_settings({"TRIGGER_PREFIX": "/"}).trigger_prefix is None


def test_the_loop_check_sees_the_normalised_trigger_prefix():
    assert "TRIGGER_PREFIX='enhanced/' lies inside the output directory /enhanced/" in refused(
        {"TRIGGER_PREFIX": "/enhanced/"}
    )


@pytest.mark.parametrize("prefix", ["uploads\\new\\", "up\nloads/", "uploads/\x7f", "\tuploads/"])
def test_trigger_prefix_with_control_characters_or_backslashes_is_refused(prefix):
    assert f"TRIGGER_PREFIX={prefix!r}: control characters and backslashes are not allowed" in refused(
        {"TRIGGER_PREFIX": prefix}
    )


@pytest.mark.parametrize("text", ["1e-9", "0.1", "0.19", "900.5", "nan", "NaN", "inf", "-inf", "-1"])
def test_timeout_outside_its_range_is_refused(text):
    assert f"MPS_TIMEOUT_SECONDS={text!r}: must be a number of seconds from 0.2 to 900" in refused(
        {"MPS_TIMEOUT_SECONDS": text}
    )


@pytest.mark.parametrize("text", ["0.2", "0.5", "10", "900"])
def test_timeout_inside_its_range_is_used(text):
    assert load_settings({"MPS_TIMEOUT_SECONDS": text}).http_timeout == float(text)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:secret@mps.example.com", "https://***@mps.example.com"),
        ("https://alice@mps.example.com:8443", "https://***@mps.example.com:8443"),
        ("http://:hunter2@127.0.0.1:9000/", "http://***@127.0.0.1:9000/"),
        ("https://u:se#cr?et/x@mps.example.com", "https://***@mps.example.com"),  # not where urlsplit cuts
        ("u:secret@mps.example.com", "***@mps.example.com"),
    ],
)
def test_endpoint_with_user_info_is_refused_without_showing_it(url, shown):
    msg = refused({"MPS_ENDPOINT": url})
    assert f"MPS_ENDPOINT={shown!r}: must not contain a user name or password" in msg
    for secret in ("secret", "se#cr", "alice", "hunter2", "u:"):
        assert secret not in msg


def test_endpoint_user_info_stays_hidden_when_other_problems_quote_the_url():
    msg = refused({"MPS_ENDPOINT": "ftp://bob:pw123@host:99999/x?y=1"})
    assert "pw123" not in msg and "bob" not in msg
    assert "must be a URL" in msg and "port" in msg and "query" in msg


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mps.example.com?x=1", "must not have a query (?...) or fragment (#...)"),
        ("https://mps.example.com/?", "must not have a query"),
        ("https://mps.example.com#top", "must not have a query (?...) or fragment (#...)"),
        ("https://mps.example.com:99999", "the port must be a number from 1 to 65535"),
        ("https://mps.example.com:abc", "the port must be a number from 1 to 65535"),
        ("https://mps.example.com:0", "the port must be a number from 1 to 65535"),
        ("https://mps.example.com:", "the port must be a number from 1 to 65535"),
        ("http://[::1", "must be a URL"),
        ("https://:443", "must be a URL"),
    ],
)
def test_endpoint_query_fragment_and_bad_ports_are_refused(url, expected):
    assert f"MPS_ENDPOINT={url!r}: {expected}" in refused({"MPS_ENDPOINT": url})


def test_endpoint_with_an_ipv6_host_and_port_is_accepted():
    assert load_settings({"MPS_ENDPOINT": "http://[::1]:9000"}).endpoint.host == "[::1]:9000"


@pytest.mark.parametrize(
    "path",
    ["hd.{format}", "/flat/hd.{format}", "{inputname}.{format}", "{format}.{format}", "{inputName}_hd.{format}"],
)
def test_an_output_path_that_lets_two_sources_share_an_output_is_refused(path):
    """Without the source's whole file name, u/a.jpg and u/a.png (or every image) map to one key."""
    msg = refused({"OUTPUT_PATH": path})
    assert f"OUTPUT_PATH={path!r}: must contain {{inputName}}.{{inputFormat}}" in msg and "share one output" in msg


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ('{"EncodeConfig": null}', "ImageTask.EncodeConfig"),
        ('{"EncodeConfig": {"Format": null, "Quality": 80}}', "ImageTask.EncodeConfig.Format"),
        ('{"EnhanceConfig": {"SuperResolution": null}}', "ImageTask.EnhanceConfig.SuperResolution"),
        (
            '{"EraseConfig": {"ImageEraseLogo": {"ImageAreaBoxes": [{"Type": null}]}}}',
            "ImageTask.EraseConfig.ImageEraseLogo.ImageAreaBoxes[0].Type",
        ),
    ],
)
def test_null_fields_are_refused_at_every_depth(task, field):
    assert f"MPS_IMAGE_TASK: {field}: null is not a value; omit the field instead of null" in refused(
        {"MPS_IMAGE_TASK": task}
    )


def test_a_required_null_field_is_reported_once_as_required():
    task = '{"BeautyConfig": {"BeautyEffectItems": [{"Type": null, "Value": 10}]}}'
    msg = refused({"MPS_IMAGE_TASK": task})
    assert "BeautyEffectItems[0].Type: required in BeautyEffectItemConfig" in msg
    assert "null is not a value" not in msg


def test_the_api_reading_of_a_task_still_drops_nulls_as_mps_does():
    assert validate_image_task({"EncodeConfig": {"Format": "png", "Quality": None}}) == {
        "EncodeConfig": {"Format": "PNG"}
    }


def test_duplicate_keys_in_the_task_are_refused_naming_the_key(tmp_path):
    task = '{"EncodeConfig": {"Format": "JPEG", "Quality": 80, "Quality": 75}, "EncodeConfig": {"Format": "PNG"}}'
    msg = refused({"MPS_IMAGE_TASK": task})
    assert "MPS_IMAGE_TASK: duplicate key 'Quality', 'EncodeConfig' in the JSON; keep one" in msg
    (tmp_path / "task.json").write_text('{"EncodeConfig": {"Format": "PNG", "Format": "WebP"}}')
    assert "MPS_IMAGE_TASK_FILE: duplicate key 'Format'" in refused({"MPS_IMAGE_TASK_FILE": "task.json"}, tmp_path)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OUTPUT_DIR": "\\enhanced\\"}, "OUTPUT_DIR='\\\\enhanced\\\\': backslashes are not allowed"),
        ({"OUTPUT_DIR": "/a\\b/"}, "backslashes are not allowed"),
        ({"OUTPUT_PATH": "hd\\{inputName}.{format}"}, "backslashes are not allowed"),
    ],
)
def test_backslashes_in_output_dir_and_path_are_refused(env, expected):
    assert expected in refused(env)


def test_every_new_problem_is_reported_at_once_and_secrets_are_redacted():
    key = "CanarySecretKey0123456789abcdefX"  # a role key's shape: 32 letters and digits
    env = {
        "TENCENTCLOUD_SECRETKEY": key,
        "IMAGE_EXTENSIONS": f"jpg {key}",
        "OUTPUT_REGION": "ap-shanghai",
        "TRIGGER_PREFIX": f"\\{key}",
        "MPS_TIMEOUT_SECONDS": key,
        "OUTPUT_PATH": f"{key}.{{format}}",
        "OUTPUT_DIR": f"\\{key}",
        "IMAGE_EXTENSION": "png",
    }
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    assert len(info.value.problems) == 7  # one for each variable but the key itself
    text = str(info.value)
    assert key not in text and key.lower() not in text
    assert "e.g. jpg,png" in text  # no fix made of the secret lowercased


def test_a_session_token_pasted_into_image_extensions_is_not_shown_in_pieces():
    token = "AbCdEf-GhIjKl_MnOp+QrSt/UvWx=" * 6  # long, with separators, as session tokens are
    msg = refused({"TENCENTCLOUD_SESSIONTOKEN": token, "IMAGE_EXTENSIONS": token})
    assert "AbCdEf" not in msg and "abcdef" not in msg and "e.g. jpg,png" in msg
