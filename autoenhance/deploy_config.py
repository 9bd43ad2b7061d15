"""serverless.yml as the one source of the function's configuration, read as the Framework reads it.

The deployed function's environment is `inputs.environment.variables` with every `${env:NAME}`
resolved from the shell and `.env` (the shell wins, as dotenv never overrides a set variable).
Every local command (check-config, replay, backfill, status) loads its configuration from here,
so what it shows and runs is what `scf deploy` sends; a variable set in the shell overrides
serverless.yml's value for a local run, and `sources` says where each value came from.

Pure apart from reading the project's files: `load_project` reads, the rest maps.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from handler.config import KNOWN_VARIABLES
from handler.variable_names import is_near_miss, misspelt_variables
from handler.variables import INVALID, MAX_CONFIG_FILE_CHARS, parse_json, read_file

from .serverless_yaml import YamlRefused, parse_serverless_yml

# The repository this CLI runs from: the default project (serverless.yml, .env, image-task.json, build/).
ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR_VARIABLE = "AUTOENHANCE_PROJECT_DIR"
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
# MPS_IMAGE_TASK, MPS_IMAGE_TASK_FILE and MPS_DEFINITION are one choice: setting one in the shell
# replaces serverless.yml's choice rather than adding a second (which the function refuses).
TASK_SOURCES = ("MPS_IMAGE_TASK", "MPS_IMAGE_TASK_FILE", "MPS_DEFINITION")
# Variables naming files the function reads from its code root: `package` ships each of them.
FILE_VARIABLES = ("MPS_IMAGE_TASK_FILE", "RULES_FILE")
# What the Framework puts where an embedded ${env:NAME} is unset (a whole-value one drops the key).
UNSET_EMBEDDED = "undefined"


class ProjectError(ValueError):
    """serverless.yml or .env cannot be read (a usage error: exit code 2)."""


class Project(NamedTuple):
    root: Path  # the directory holding serverless.yml, .env and the files the configuration names
    doc: Any  # serverless.yml parsed, unresolved; None when the project has none
    dotenv: dict[str, str]  # .env's values ({} without one)

    @property
    def serverless_yml(self) -> Path:
        return self.root / "serverless.yml"

    @property
    def build_dir(self) -> Path:
        return self.root / "build" / "scf"

    def lookup(self, shell: Mapping[str, str]) -> dict[str, str]:
        """What ${env:NAME} resolves from: .env, overridden by the shell."""
        return {**self.dotenv, **shell}


class FunctionEnvironment(NamedTuple):
    root: Path  # the project: relative file names in the configuration resolve from here
    variables: dict[str, str]  # what the function sees when run locally: the shell plus serverless.yml
    deployed: dict[str, str]  # serverless.yml's variables as `scf deploy` would send them
    sources: dict[str, str]  # variable -> where its local value came from
    notes: tuple[str, ...]  # what the reader should know: unset references, no serverless.yml
    watched_bucket: str | None  # the COS trigger's bucket, when serverless.yml names one
    watched_region: str | None = None  # that bucket's region, from the trigger's domain
    function_region: str | None = None  # inputs.region, resolved: what SCF gives the function as TENCENTCLOUD_REGION
    # Shell variables left out of `variables`: slips of our names that serverless.yml does not deploy,
    # so the deployed function never sees them (see `function_environment`).
    ignored: tuple[str, ...] = ()


def project_root(shell: Mapping[str, str]) -> Path:
    return Path(shell.get(PROJECT_DIR_VARIABLE) or ROOT).resolve()


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as dotenv reads them: comments on their own lines, optional quotes and `export`."""
    values = {}
    text = _read_text(path)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def _read_text(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as f:
            text = f.read(MAX_CONFIG_FILE_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read ({exc})") from None
    if len(text) > MAX_CONFIG_FILE_CHARS:
        raise ProjectError(f"{path}: over {MAX_CONFIG_FILE_CHARS} characters, refused unread")
    return text


def load_project(shell: Mapping[str, str]) -> Project:
    root = project_root(shell)
    path = root / "serverless.yml"
    doc = None
    if path.is_file():
        try:
            doc = parse_serverless_yml(_read_text(path))
        except YamlRefused as exc:
            raise ProjectError(f"{path}{exc}") from None
    dotenv = read_dotenv(root / ".env") if (root / ".env").is_file() else {}
    return Project(root, doc, dotenv)


def resolve(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    """Substitute ${env:NAME} the way the Framework does, noting names it could not resolve."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in env:
                missing.add(m.group(1))
            return env.get(m.group(1), UNSET_EMBEDDED)

        return ENV_REFERENCE.sub(sub, value)
    if isinstance(value, list):
        return [resolve(v, env, missing) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, env, missing) for k, v in value.items()}
    return value


def inputs_of(doc: Any) -> dict[str, Any]:
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def declared_variables(doc: Any) -> dict[str, Any]:
    """inputs.environment.variables, unresolved ({} when absent or not a mapping)."""
    environment = inputs_of(doc).get("environment")
    variables = environment.get("variables") if isinstance(environment, dict) else None
    return variables if isinstance(variables, dict) else {}


def as_env_value(value: Any) -> str:
    """A YAML scalar as the string SCF stores (check-deploy asks for quotes; this is what an unquoted one becomes)."""
    return value if isinstance(value, str) else json.dumps(value)


def deployed_variables(doc: Any, lookup: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(variables as deployed, variable -> the ${env:...} it came through, names that did not resolve)."""
    deployed: dict[str, str] = {}
    via: dict[str, str] = {}
    unresolved: set[str] = set()
    for name, raw in declared_variables(doc).items():
        name = str(name)
        if raw is None:  # `NAME:` with nothing after it: YAML null, sent as no variable at all
            continue
        text = as_env_value(raw)
        whole = ENV_REFERENCE.fullmatch(text)
        if whole and whole.group(1) not in lookup:
            unresolved.add(whole.group(1))
            via[name] = whole.group(1)
            continue  # the Framework drops a variable whose whole value is an unset reference
        missing: set[str] = set()
        deployed[name] = resolve(text, lookup, missing)
        unresolved |= missing
        names = ENV_REFERENCE.findall(text)
        if names:
            via[name] = ", ".join(names)
    return deployed, via, unresolved


def trigger_location(doc: Any, lookup: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(bucket, region) of the single COS trigger's XML-API domain <bucket>.cos.<region>.myqcloud.com,
    each None when it does not resolve."""
    for event in inputs_of(doc).get("events") or []:
        cos = event.get("cos") if isinstance(event, dict) else None
        params = cos.get("parameters") if isinstance(cos, dict) else None
        if isinstance(params, dict) and isinstance(params.get("bucket"), str):
            missing: set[str] = set()
            domain = resolve(params["bucket"], lookup, missing)
            if not missing:
                bucket, _, rest = str(domain).partition(".cos.")
                region, dot, _ = rest.partition(".")
                return bucket or None, (region if dot else None) or None
    return None, None


def function_region(doc: Any, lookup: Mapping[str, str]) -> str | None:
    """inputs.region resolved: the region SCF runs the function in, when it resolves."""
    missing: set[str] = set()
    region = resolve(inputs_of(doc).get("region"), lookup, missing)
    return region if isinstance(region, str) and region and not missing else None


def origin_of(raw: Any, shell: Mapping[str, str], lookup: Mapping[str, str]) -> str:
    """Where serverless.yml's value `raw` comes from, for a message: "REGION in .env", "REGION in
    the shell", or "serverless.yml" when it names no ${env:...}."""
    names = ENV_REFERENCE.findall(raw) if isinstance(raw, str) else []
    if not names:
        return "serverless.yml"

    def where(name: str) -> str:
        return "the shell" if name in shell else ".env" if name in lookup else "neither the shell nor .env"

    return ", ".join(f"{n} in {where(n)}" for n in dict.fromkeys(names))


def function_environment(project: Project, shell: Mapping[str, str]) -> FunctionEnvironment:
    """The environment a local run gives the function: serverless.yml's, with the shell's values on top.

    A shell variable serverless.yml does not deploy never reaches the deployed function, so one
    that merely starts like ours (an OUTPUT_FORMAT some other tool reads) is left out with a note
    instead of stopping every command. A near miss of a name we read (MPS_DEFINITON) is kept, to be
    refused naming the shell: it is most likely a local override with a typo in it.
    """
    slips = misspelt_variables(shell)
    if project.doc is None:
        note = f"no serverless.yml in {project.root}: the configuration is the shell's environment only"
        from_shell = {n: "shell" for n in [*KNOWN_VARIABLES, *slips] if n in shell}
        return FunctionEnvironment(project.root, dict(shell), {}, from_shell, (note,), None)
    lookup = project.lookup(shell)
    deployed, via, unresolved = deployed_variables(project.doc, lookup)
    declared = {str(n) for n in declared_variables(project.doc)}
    ignored = tuple(n for n in slips if n not in declared and not is_near_miss(n))
    variables = {k: v for k, v in shell.items() if k not in ignored}
    sources: dict[str, str] = {}
    shell_task = [n for n in TASK_SOURCES if shell.get(n)]
    for name, value in deployed.items():
        if name in shell:
            sources[name] = f"shell (overrides serverless.yml's {value!r})"
        elif shell_task and name in TASK_SOURCES:
            sources[name] = f"not used: the shell's {shell_task[0]} replaces serverless.yml's {name}"
        else:
            # The function resolves these from its code root; a local run reads the project's copy.
            variables[name] = (
                str(project.root / value) if name in FILE_VARIABLES and not os.path.isabs(value) else value
            )
            if name in via:
                origin = "the shell" if any(n in shell for n in via[name].split(", ")) else ".env"
                sources[name] = f"serverless.yml, ${{env:{via[name]}}} from {origin}"
            else:
                sources[name] = "serverless.yml"
    for name in [*KNOWN_VARIABLES, *slips]:
        if name in shell and name not in sources and name not in ignored:
            sources[name] = "shell"
    notes = tuple(
        f"${{env:{name}}} is not set in the shell or {project.root / '.env'}: "
        + (
            f"the Framework would deploy without {var}"
            if (var := _variable_for(via, name, deployed))
            else f"the Framework would deploy the text {UNSET_EMBEDDED!r} in its place"
        )
        for name in sorted(unresolved)
    ) + tuple(
        f"{name} is set in the shell, but serverless.yml does not deploy it, so the function never sees it: "
        f"ignored ({slips[name]})"
        for name in ignored
    )
    bucket, region = trigger_location(project.doc, lookup)
    return FunctionEnvironment(
        project.root, variables, deployed, sources, notes, bucket, region, function_region(project.doc, lookup), ignored
    )


def _variable_for(via: Mapping[str, str], reference: str, deployed: Mapping[str, str]) -> str | None:
    """The variable a whole-value reference would have set (it is then absent from `deployed`)."""
    for name, names in via.items():
        if names == reference and name not in deployed:
            return name
    return None


def referenced_files(variables: Mapping[str, str], root: Path | None = None) -> list[str]:
    """The files (relative to the code root) the configuration makes the function read.

    With `root`, the task files RULES_FILE's rules name too (a rules file that cannot be read
    adds nothing here: the configuration check reports it, read with the same bounds).
    """
    files = [variables[n] for n in FILE_VARIABLES if variables.get(n)]
    rules_file = variables.get("RULES_FILE")
    if root is not None and rules_file and file_inside(root, rules_file) is not None:
        unused: list[str] = []
        text = read_file("RULES_FILE", rules_file, str(root), unused)
        doc = INVALID if text is None else parse_json(text, "RULES_FILE", unused)
        rules = doc.get("rules") if isinstance(doc, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict) and isinstance(rule.get("image_task_file"), str):
                files.append(rule["image_task_file"])
    return list(dict.fromkeys(files))


def file_inside(root: Path, relative: str) -> Path | None:
    """`relative` resolved under `root`, or None when it is absolute or escapes it."""
    if os.path.isabs(relative) or "\\" in relative:
        return None
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) else None
