"""A user's slips and hostile files: each named where it is (variable, file, line), refused within bounds."""

from __future__ import annotations

import pytest
import yaml
from repo import autoenhance as run
from repo import make_project

from autoenhance import serverless_yaml
from autoenhance.deploy_check import check_project, serverless_check
from autoenhance.deploy_config import ProjectError, function_environment, load_project
from autoenhance.serverless_yaml import MAX_YAML_ALIASES, MAX_YAML_DEPTH, YamlRefused, parse_serverless_yml
from handler.config import load_settings
from handler.errors import ConfigurationError
from handler.regions import DOCUMENTED_REGIONS, region_slip
from handler.variables import INVALID, MAX_CONFIG_FILE_CHARS, MAX_JSON_DEPTH, parse_json


def check(project, shell=None):
    shell = shell or {}
    return check_project(load_project({"AUTOENHANCE_PROJECT_DIR": str(project), **shell}), shell, built=False)


def set_dotenv(project, name, value):
    lines = [line for line in (project / ".env").read_text().splitlines() if not line.startswith(f"{name}=")]
    (project / ".env").write_text("\n".join([*lines, f"{name}={value}"]) + "\n")


def edit_variables(project, **values):
    path = project / "serverless.yml"
    doc = yaml.safe_load(path.read_text())
    doc["inputs"]["environment"]["variables"].update(values)
    path.write_text(yaml.safe_dump(doc))


def one_line_error(r) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()


# -- 1. check-config --explain shows the request the function would send ------------------------------


def test_explain_uses_the_buckets_region_from_the_trigger(project, env):
    set_dotenv(project, "REGION", "ap-shanghai")
    r = run(env, "check-config", "--explain", "uploads/a.jpg")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('"Region": "ap-shanghai"') == 2  # CosInputInfo and CosOutputStorage
    assert "ap-guangzhou" not in r.stdout
    assert "in ap-shanghai (the trigger's bucket region" in r.stdout
    assert "sent to MPS in ap-shanghai (the function's region)" in r.stdout


def test_explain_region_option_and_mps_region(project, env):
    r = run({**env, "MPS_REGION": "ap-beijing"}, "check-config", "--explain", "uploads/a.jpg", "--region", "gz")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('"Region": "ap-guangzhou"') == 2 and "(--region;" in r.stdout
    assert "sent to MPS in ap-beijing (MPS_REGION)" in r.stdout


def test_explain_refuses_a_misspelt_region_before_printing(env):
    line = one_line_error(run(env, "check-config", "--explain", "uploads/a.jpg", "--region", "ap-guangzou"))
    assert (
        line
        == "autoenhance check-config: --region 'ap-guangzou': not a region COS documents; did you mean 'ap-guangzhou'?"
    )


# -- 2. region names against the documented list --------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("ap-shangai", "ap-shanghai"),
        ("ap-guangzou", "ap-guangzhou"),
        ("shanghai", "ap-shanghai"),
        ("AP-Shanghai", "ap-shanghai"),
        ("na-toronot", "na-toronto"),
        ("ap-shanghai", None),
        ("ap-beijing-2", None),  # a numbered zone may be new: not a slip of ap-beijing-1
        ("ap-newcity", None),
    ],
)
def test_region_slips(given, meant):
    assert region_slip(given) == meant


def test_every_short_code_maps_to_a_documented_region():
    from handler.regions import COS_SHORT_CODES

    assert set(COS_SHORT_CODES.values()) <= DOCUMENTED_REGIONS


def test_a_misspelt_region_in_env_fails_check_deploy_naming_region_and_env(project):
    set_dotenv(project, "REGION", "ap-shangai")
    assert check(project).errors == [
        "inputs.region 'ap-shangai' (REGION in .env): not a region COS or MPS documents; did you mean 'ap-shanghai'?"
    ]


def test_a_short_region_from_the_shell_gets_a_suggestion_naming_the_shell(project):
    errors = check(project, {"REGION": "shanghai"}).errors
    assert (
        "inputs.region 'shanghai' (REGION in the shell): not a full region name; did you mean 'ap-shanghai'?" in errors
    )


def test_a_well_formed_unknown_region_is_only_a_warning(project):
    result = check(project, {"REGION": "ap-newcity"})
    assert result.errors == []
    assert any(
        w.startswith("inputs.region 'ap-newcity' (REGION in the shell): not a region COS or MPS")
        for w in result.warnings
    )


def test_function_region_variables_are_checked_where_serverless_yml_sets_them(project):
    edit_variables(project, MPS_REGION="ap-bejing", OUTPUT_BUCKET="out-1250000000", OUTPUT_REGION="ap-newcity")
    result = check(project)
    assert (
        "MPS_REGION 'ap-bejing' (serverless.yml): not a region COS or MPS documents; did you mean 'ap-beijing'?"
        in result.errors
    )
    assert any(w.startswith("OUTPUT_REGION 'ap-newcity' (serverless.yml): not a region") for w in result.warnings)
    # The function itself accepts a well-formed region it does not know: a new region needs no code change.
    assert load_settings({"MPS_REGION": "ap-newcity"}).mps_region == "ap-newcity"


def test_cos_region_codes_values_are_checked(project):
    edit_variables(project, COS_REGION_CODES="nj=ap-nanjng")
    assert (
        "COS_REGION_CODES's 'nj' -> 'ap-nanjng' (serverless.yml): not a region COS or MPS documents; did you mean 'ap-nanjing'?"
        in check(project).errors
    )


def test_package_refuses_a_misspelt_region(project, env):
    set_dotenv(project, "REGION", "ap-shangai")
    r = run(env, "package", "--no-bytecode", timeout=300)
    assert r.returncode == 1 and "did you mean 'ap-shanghai'?" in r.stderr
    assert not (project / "build").exists()


# -- 3. where a refused value came from -----------------------------------------------------------------


def test_an_unrelated_shell_variable_does_not_stop_commands(env):
    r = run({**env, "OUTPUT_FORMAT": "json"}, "check-config")
    assert r.returncode == 0, r.stderr
    assert (
        "note: OUTPUT_FORMAT is set in the shell, but serverless.yml does not deploy it, so the function never sees it: "
        "ignored (did you mean OUTPUT_PATH?)" in r.stdout
    )


def test_a_near_miss_of_our_name_in_the_shell_is_refused_naming_the_shell(env):
    r = run({**env, "MPS_DEFINITON": "1"}, "check-config")
    assert r.returncode == 2
    assert "  MPS_DEFINITON: unknown variable; did you mean MPS_DEFINITION?  <- shell" in r.stderr.splitlines()


def test_a_slip_serverless_yml_deploys_is_still_refused(project):
    edit_variables(project, OUTPUT_FORMAT="json")
    environment = function_environment(load_project({"AUTOENHANCE_PROJECT_DIR": str(project)}), {})
    assert environment.ignored == () and environment.variables["OUTPUT_FORMAT"] == "json"
    assert any("OUTPUT_FORMAT: unknown variable; did you mean OUTPUT_PATH?" in e for e in check(project).errors)


def test_a_refused_variable_names_where_it_came_from():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            {"OUTPUT_FORMAT": "json", "OUTPUT_DIR": "/a/../b"},
            origins={"OUTPUT_FORMAT": "shell", "OUTPUT_DIR": "serverless.yml"},
        )
    assert "OUTPUT_FORMAT: unknown variable; did you mean OUTPUT_PATH?  <- shell" in str(caught.value)
    assert "OUTPUT_DIR='/a/../b': '.' and '..' segments are not allowed  <- serverless.yml" in str(caught.value)


def test_without_serverless_yml_a_shell_slip_is_sourced_to_the_shell(tmp_path):
    environment = function_environment(
        load_project({"AUTOENHANCE_PROJECT_DIR": str(tmp_path)}), {"OUTPUT_FORMAT": "json"}
    )
    assert environment.sources == {"OUTPUT_FORMAT": "shell"} and environment.variables == {"OUTPUT_FORMAT": "json"}


def test_a_json_error_names_the_file_line_and_column(project):
    (project / "image-task.json").write_text('{"EncodeConfig": {"Format": "JPEG"},}')
    [error] = check(project).errors
    assert (
        "MPS_IMAGE_TASK_FILE: not valid JSON in image-task.json at line 1 column 37: "
        "Expecting property name enclosed in double quotes" in error
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "component: scf\ninputs:\n\tname: x\n",
            ", line 3 column 1: not valid YAML: found character '\\t' that cannot start any token (YAML indents with spaces, never tabs)",
        ),
        (
            "component: scf\ninputs:\n  name: a: b\n",
            ", line 3 column 10: not valid YAML: mapping values are not allowed here",
        ),
    ],
)
def test_a_yaml_error_names_serverless_yml_and_its_line(project, text, expected):
    (project / "serverless.yml").write_text(text)
    with pytest.raises(ProjectError) as caught:
        load_project({"AUTOENHANCE_PROJECT_DIR": str(project)})
    assert str(caught.value).startswith(f"{project / 'serverless.yml'}{expected}")


# -- 4. hostile files ---------------------------------------------------------------------------------


def nested_json(depth: int) -> str:
    return '{"rules": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 100_000])
def test_a_deeply_nested_rules_file_is_refused_by_check_deploy(project, depth):
    (project / "rules.json").write_text(nested_json(depth))
    edit_variables(project, RULES_FILE="rules.json")
    [error] = check(project).errors  # no RecursionError out of the check
    assert f"RULES_FILE: JSON in rules.json nested more than {MAX_JSON_DEPTH} levels deep" in error


def test_package_refuses_a_deeply_nested_rules_file_cleanly(project, env):
    (project / "rules.json").write_text(nested_json(100_000))
    edit_variables(project, RULES_FILE="rules.json")
    r = run(env, "package", "--no-bytecode", timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in r.stderr


@pytest.mark.parametrize("variable", ["MPS_IMAGE_TASK", "MPS_IMAGE_TASK_FILE"])
def test_a_deeply_nested_image_task_is_refused(tmp_path, variable):
    task = '{"EncodeConfig": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"
    env = {variable: task}
    if variable == "MPS_IMAGE_TASK_FILE":
        (tmp_path / "task.json").write_text(task)
        env = {variable: "task.json"}
    with pytest.raises(ConfigurationError, match=f"{variable}: JSON.* nested more than {MAX_JSON_DEPTH} levels deep"):
        load_settings(env, base_dir=str(tmp_path))


def test_an_oversized_task_file_is_refused_unread(tmp_path):
    (tmp_path / "task.json").write_text(" " * (MAX_CONFIG_FILE_CHARS + 1))
    with pytest.raises(ConfigurationError, match=f"is over {MAX_CONFIG_FILE_CHARS} characters"):
        load_settings({"MPS_IMAGE_TASK_FILE": "task.json"}, base_dir=str(tmp_path))


def alias_bomb(levels: int, width: int = 9) -> str:
    """Each level an anchored list of `width` aliases of the one before: width**levels values expanded."""
    lines = ["component: scf", "l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]" for n in range(1, levels)]
    return "\n".join([*lines, f"inputs: *l{levels - 1}", ""])


def test_an_alias_bomb_is_refused_before_it_is_expanded(project, monkeypatch):
    # 2**45 values expanded: only a refusal that never expands it can return at all.
    (project / "serverless.yml").write_text(alias_bomb(levels=45, width=2))
    visited = []
    children = serverless_yaml._children
    monkeypatch.setattr(serverless_yaml, "_children", lambda node: visited.append(node) or children(node))
    with pytest.raises(ProjectError) as caught:
        load_project({"AUTOENHANCE_PROJECT_DIR": str(project)})
    message = str(caught.value)
    assert message.startswith(f"{project / 'serverless.yml'}, line ")
    assert "values once its aliases (*name) are expanded (an alias bomb?): refused before expanding them" in message
    # The expanded size is summed over the composed graph: every node is looked at a bounded number of times.
    assert len(visited) <= 3 * (45 * 3 + 10)


def test_the_billion_laughs_is_refused_at_the_line_where_it_grows_too_big():
    with pytest.raises(YamlRefused) as caught:
        parse_serverless_yml(alias_bomb(levels=9))
    assert str(caught.value).startswith(", line 6: more than 10000 values")  # l4: 9**5 values


def test_too_many_aliases_are_refused_at_the_alias():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlRefused, match=f"^, line 2: more than {MAX_YAML_ALIASES} YAML aliases"):
        parse_serverless_yml(text)


@pytest.mark.parametrize(
    "text", ["a: " + "[" * 100_000 + "]" * 100_000, "a:\n" + "".join(" " * n + "- \n" for n in range(100))]
)
def test_deep_yaml_nesting_is_refused(text):
    with pytest.raises(YamlRefused, match=f"nested more than {MAX_YAML_DEPTH} levels deep"):
        parse_serverless_yml(text)


def test_an_alias_into_itself_is_refused():
    with pytest.raises(YamlRefused, match="^, line 1: a YAML alias refers to the value that contains it"):
        parse_serverless_yml("a: &a [1, *a]\n")


def test_shared_aliases_within_bounds_load_as_yaml_safe_load_does():
    text = "base: &base {memorySize: 64, timeout: 60}\ninputs: {<<: *base, name: f}\nlist: [*base, *base]\n"
    assert parse_serverless_yml(text) == yaml.safe_load(text)


def test_check_deploy_reports_an_alias_bomb_as_a_usage_error(project, env):
    (project / "serverless.yml").write_text(alias_bomb(levels=9))
    line = one_line_error(run(env, "check-deploy"))
    assert line.startswith(f"autoenhance check-deploy: {project / 'serverless.yml'}, line 6: more than 10000 values")


def test_json_nesting_up_to_the_limit_is_read():
    problems: list[str] = []
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "X", problems) is not INVALID and problems == []
    deeper = MAX_JSON_DEPTH + 1
    assert parse_json("[" * deeper + "]" * deeper, "X", problems) is INVALID
    assert problems == [f"X: JSON nested more than {MAX_JSON_DEPTH} levels deep"]


def test_enable_role_auth_is_named_as_doing_nothing(tmp_path):
    """The deploy code ignores enableRoleAuth: a user who relies on it is told, not left to find out."""
    project = make_project(tmp_path / "project", dotenv=True)
    doc = yaml.safe_load((project / "serverless.yml").read_text(encoding="utf-8"))
    doc["inputs"]["enableRoleAuth"] = True
    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    check = serverless_check(doc, env, project, {})
    assert any(w.startswith("inputs.enableRoleAuth does nothing") for w in check.warnings)
    del doc["inputs"]["enableRoleAuth"]
    assert not any("enableRoleAuth" in w for w in serverless_check(doc, env, project, {}).warnings)
