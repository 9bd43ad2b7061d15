"""`check-deploy`'s rules: would `scf deploy` of this serverless.yml, .env and build/scf work?

The rules come from the `scf` component's documented inputs and the SCF API limits
(docs/tencent-cloud.md#serverless-component, #limits, #retry-configuration, #dead-letter-queue):
input names and types, memory classes, the COS trigger's shape (the bucket as its XML-API
domain, one event type, `enable: true`), environment-variable limits, inputs that must never be
set here (`asyncRunEnable` and the settings that only work with it), every region named against
the documented list (docs/tencent-cloud.md#regions), and this function's own configuration
loaded exactly as the function will load it. Errors fail the check (and
`package`); warnings are printed and do not.

Pure: a parsed serverless.yml and the values ${env:...} resolves from in, problems out. Only
`check_project` looks at files (the ones the configuration names and the built package).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from handler.config import Settings, load_settings
from handler.errors import ConfigurationError, RegionError
from handler.index import MAX_MARGIN_SECONDS
from handler.outputs import guard_prefix, retriggers
from handler.regions import DOCUMENTED_REGIONS, is_full_region, parse_code_overrides, region_slip

from .deploy_config import (
    UNSET_EMBEDDED,
    Project,
    declared_variables,
    deployed_variables,
    file_inside,
    inputs_of,
    origin_of,
    referenced_files,
    resolve,
)

TOP_LEVEL = {"org", "app", "stage", "component", "name", "inputs"}
INPUTS = {
    "src", "type", "name", "namespace", "handler", "entryFile", "role", "enableRoleAuth", "runtime", "region",
    "description", "memorySize", "timeout", "initTimeout", "eip", "publicAccess", "environment", "vpcConfig",
    "layers", "deadLetter", "cls", "asyncRunEnable", "traceEnable", "msgTTL", "retryNum", "installDependency",
    "tags", "cfs", "ignoreTriggers", "events", "image", "provisionedNum", "qualifier",
}  # fmt: skip
# Inputs the component documents but this function must not use, and why.
NEVER_SET = {
    "asyncRunEnable": "switches SCF to long-running mode (fixed at creation, no retries for execution errors): "
    "failed records would never be retried or dead-lettered",
    "traceEnable": "works only with asyncRunEnable, which this function must not use",
    "retryNum": "the component applies it only with asyncRunEnable; set retries after deploying with "
    "UpdateFunctionEventInvokeConfig (docs/deploying.md)",
    "msgTTL": "the component applies it only with asyncRunEnable; set the message TTL after deploying with "
    "UpdateFunctionEventInvokeConfig (docs/deploying.md)",
}
COS_TRIGGER_PARAMETERS = {"qualifier", "bucket", "filter", "events", "enable"}
RUNTIMES = ("Python3.9", "Python3.10")
MEMORY_CLASSES = (64, *range(128, 3072 + 1, 128))
MEASURED_PEAK_MIB = 32  # docs/performance.md: a 123-record event at SCF's 128 KB limit, CPython 3.9
GENEROUS_MEMORY = 256  # above this a class buys nothing measurable and costs more per GB-second
MIN_TIMEOUT = 30  # seconds: room for backoff retries inside one invocation
ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,63}")
RESERVED_ENV_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
ENV_TOTAL_LIMIT = 4096
COS_DOMAIN = re.compile(r"(?P<bucket>[a-z0-9][a-z0-9-]*-[0-9]+)\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com")
DEAD_LETTER_TYPES = ("queue", "topic")  # SCF DeadLetterConfig.Type; its exact accepted spelling is unpublished
DEPLOY_KEYS = ("TENCENT_SECRET_ID", "TENCENT_SECRET_KEY")
CMQ_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")  # TDMQ CMQ CreateCmqQueue's QueueName rule


class DeployCheck(NamedTuple):
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def serverless_problems(doc: Any, env: Mapping[str, str], code_root: Path) -> list[str]:
    """Every error in a parsed serverless.yml resolved against `env` (empty list: fine)."""
    return serverless_check(doc, env, code_root).errors


def serverless_check(
    doc: Any, env: Mapping[str, str], code_root: Path, shell: Mapping[str, str] | None = None
) -> DeployCheck:
    """`env` is what ${env:...} resolves from; `shell`, the part of it the shell set (the rest is
    .env's), lets a message name the file to fix."""
    missing: set[str] = set()
    resolved = resolve(doc, env, missing)
    errors = [
        f"${{env:{name}}} is not set in the shell or .env (cp .env.example .env, then fill it in)"
        for name in sorted(missing)
    ]
    warnings: list[str] = []
    if not isinstance(resolved, dict):
        return DeployCheck([*errors, "serverless.yml must be a mapping"], warnings)
    errors += [f"unknown top-level key {k!r}" for k in sorted(set(resolved) - TOP_LEVEL)]
    if resolved.get("component") != "scf":
        errors.append(f"component must be 'scf', got {resolved.get('component')!r}")
    inputs = resolved.get("inputs")
    if not isinstance(inputs, dict):
        return DeployCheck([*errors, "inputs must be a mapping"], warnings)
    errors += [f"inputs.{k}: not an input of the scf component" for k in sorted(set(inputs) - INPUTS)]
    errors += [
        f"inputs.{k}: must not be set: {why}"
        for k, why in NEVER_SET.items()
        if k in inputs and inputs[k] not in (False, None)
    ]
    errors += _function_problems(inputs)
    warnings += _memory_warnings(inputs)
    dead_letter_errors, dead_letter_warnings = _dead_letter_problems(inputs)
    errors += dead_letter_errors
    warnings += dead_letter_warnings
    errors += _environment_problems(declared_variables(resolved))
    variables, _, _ = deployed_variables(doc, env)
    region_errors, region_warnings = _region_findings(doc, env, shell or {}, inputs, variables)
    errors += region_errors
    warnings += region_warnings
    if "enableRoleAuth" in inputs:
        # The component still documents it, but the deploy code it runs reads it nowhere
        # (docs/deploying-rehearsal.md): a user relying on it would deploy without SCF_QcsRole.
        warnings.append(
            "inputs.enableRoleAuth does nothing: the deploy code ignores it; authorise SCF's service role "
            "SCF_QcsRole once in the SCF console instead (docs/deploying.md)"
        )
    trigger, params = _trigger(inputs)
    errors += trigger
    watched = None
    if params is not None:
        domain = COS_DOMAIN.fullmatch(str(params.get("bucket", "")))
        watched = domain.group("bucket") if domain else None
    try:
        settings = load_settings(variables, base_dir=str(code_root), watched_bucket=watched)
    except ConfigurationError as exc:
        return DeployCheck([*errors, f"the function would refuse this configuration: {exc}"], warnings)
    errors += _timeout_problems(inputs, settings)
    if params is not None:
        errors += _trigger_prefix_problems(settings, params)
    return DeployCheck(errors, warnings)


def check_project(project: Project, shell: Mapping[str, str], *, built: bool = True) -> DeployCheck:
    """The whole offline check: serverless.yml, .env, the files it names and (when `built`) build/scf."""
    if project.doc is None:
        return DeployCheck([f"no serverless.yml in {project.root}"], [])
    lookup = project.lookup(shell)
    check = serverless_check(project.doc, lookup, project.root, shell)
    errors, warnings = list(check.errors), list(check.warnings)
    variables, _, _ = deployed_variables(project.doc, lookup)
    for relative in referenced_files(variables, project.root):
        if file_inside(project.root, relative) is None:
            errors.append(
                f"{relative!r} (named by the configuration) must be a relative path inside {project.root}: "
                "the package ships only files under the project"
            )
    if not any(k in lookup for k in DEPLOY_KEYS):
        warnings.append(
            "TENCENT_SECRET_ID/TENCENT_SECRET_KEY (the deploying user's keys) are not in .env or the shell: "
            "scf deploy will ask you to log in by scanning a QR code"
        )
    elif any(lookup.get(k, "").startswith("your-") for k in DEPLOY_KEYS):
        warnings.append("TENCENT_SECRET_ID/TENCENT_SECRET_KEY still hold .env.example's placeholders")
    if built and check.ok:
        errors += _package_problems(project, variables)
    return DeployCheck(errors, warnings)


def _package_problems(project: Project, variables: Mapping[str, str]) -> list[str]:
    from .package import BuildMarker, source_digest

    inputs = (project.doc or {}).get("inputs") or {}
    src = inputs.get("src")
    build = project.root / str(src.get("src") if isinstance(src, dict) else src)
    marker = BuildMarker.read(build)
    if marker is None:
        return [f"{build} is not a package built by `autoenhance package`: run it before deploying"]
    problems = []
    runtime = inputs.get("runtime")
    if marker.runtime != runtime:
        problems.append(
            f"{build} was built for {marker.runtime} but serverless.yml deploys {runtime}: run autoenhance package"
        )
    if marker.sources != source_digest(project.root, referenced_files(variables, project.root)):
        problems.append(
            f"{build} is older than the function's code or the files its configuration names: run autoenhance package"
        )
    return problems


def _function_problems(inputs: dict[str, Any]) -> list[str]:
    problems = []
    if inputs.get("runtime") not in RUNTIMES:
        problems.append(f"inputs.runtime must be one of {', '.join(RUNTIMES)}, got {inputs.get('runtime')!r}")
    if inputs.get("handler") != "index.main_handler":
        problems.append(
            f"inputs.handler must be index.main_handler (the package's entry), got {inputs.get('handler')!r}"
        )
    src = inputs.get("src")
    src_path = src.get("src") if isinstance(src, dict) else src
    if src_path not in ("./build/scf", "build/scf"):
        problems.append(f"inputs.src must point at the built package ./build/scf, got {src_path!r}")
    memory = inputs.get("memorySize")
    if memory not in MEMORY_CLASSES or isinstance(memory, bool):
        problems.append(f"inputs.memorySize must be 64 or 128-3072 in steps of 128 (MB), got {memory!r}")
    timeout = inputs.get("timeout")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not MIN_TIMEOUT <= timeout <= 900:
        problems.append(
            f"inputs.timeout must be {MIN_TIMEOUT}-900 seconds (retries need time; SCF's default is 3), got {timeout!r}"
        )
    role = inputs.get("role")
    if not isinstance(role, str) or not role or role == UNSET_EMBEDDED:
        problems.append("inputs.role must name the execution role (its temporary keys are the function's credentials)")
    return problems


def _region_findings(
    doc: Any, env: Mapping[str, str], shell: Mapping[str, str], inputs: dict[str, Any], variables: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Each region the project names, against the regions COS and MPS document.

    A near miss of a documented region is an error (ap-shangai, shanghai); a well-formed region
    the list does not know is only a warning, as the function itself accepts it: a region opened
    after this list needs no code change.
    """
    raw_variables = declared_variables(doc)
    named = [("inputs.region", inputs.get("region"), origin_of(inputs_of(doc).get("region"), shell, env))]
    for name in ("MPS_REGION", "OUTPUT_REGION"):
        if variables.get(name):
            named.append((name, variables[name], origin_of(raw_variables.get(name), shell, env)))
    if variables.get("COS_REGION_CODES"):
        origin = origin_of(raw_variables.get("COS_REGION_CODES"), shell, env)
        try:
            overrides = parse_code_overrides(variables["COS_REGION_CODES"])
        except RegionError:
            overrides = {}  # the function refuses it, and the configuration check says why
        named += [(f"COS_REGION_CODES's {code!r} ->", full, origin) for code, full in overrides.items()]
    errors, warnings = [], []
    for label, value, origin in named:
        text = value if isinstance(value, str) else str(value)
        slip = region_slip(text)
        where = f"{label} {text!r} ({origin})"
        if value is None or text == UNSET_EMBEDDED:
            if label == "inputs.region":
                errors.append(f"{where}: must be the bucket's full region name, such as ap-guangzhou")
        elif not is_full_region(text):
            if label != "inputs.region":
                continue  # the function refuses it, and the configuration check says so
            hint = f"did you mean {slip!r}?" if slip else "such as ap-guangzhou"
            errors.append(f"{where}: not a full region name; {hint}")
        elif slip:
            errors.append(f"{where}: not a region COS or MPS documents; did you mean {slip!r}?")
        elif text not in DOCUMENTED_REGIONS:
            warnings.append(
                f"{where}: not a region COS or MPS documents (docs/tencent-cloud.md#regions): "
                "fine if it opened after that list was written, otherwise check the spelling"
            )
    return errors, warnings


def _memory_warnings(inputs: dict[str, Any]) -> list[str]:
    memory = inputs.get("memorySize")
    if isinstance(memory, int) and not isinstance(memory, bool) and memory > GENEROUS_MEMORY:
        return [
            (
                f"inputs.memorySize {memory} MB: the function peaks near {MEASURED_PEAK_MIB} MiB (docs/performance.md), "
                "and SCF bills memory x duration; 64 or 128 does the same work for less"
            )
        ]
    return []


def _timeout_problems(inputs: dict[str, Any], settings: Settings) -> list[str]:
    timeout = inputs.get("timeout")
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        return []  # already reported
    needed = 2 * settings.http_timeout + MAX_MARGIN_SECONDS
    if timeout < needed:
        return [
            (
                f"inputs.timeout {timeout} s leaves no room for a retry of one {settings.http_timeout:g} s MPS call "
                f"(MPS_TIMEOUT_SECONDS) and the {MAX_MARGIN_SECONDS:g} s logging margin: use at least {needed:g}"
            )
        ]
    return []


def _dead_letter_problems(inputs: dict[str, Any]) -> tuple[list[str], list[str]]:
    dead_letter = inputs.get("deadLetter")
    if dead_letter is None:
        return [], [
            (
                "inputs.deadLetter is not set: an event that still fails after SCF's retries is dropped. "
                "Create a queue and set it (docs/deploying.md, setup step 3)"
            )
        ]
    if not isinstance(dead_letter, dict):
        return [f"inputs.deadLetter must be a mapping with type and name, got {dead_letter!r}"], []
    errors = []
    if str(dead_letter.get("type", "")).lower() not in DEAD_LETTER_TYPES:
        errors.append(f"inputs.deadLetter.type must be queue or topic, got {dead_letter.get('type')!r}")
    name = dead_letter.get("name")
    if not isinstance(name, str) or not name or name == UNSET_EMBEDDED:
        errors.append(f"inputs.deadLetter.name must name the queue or topic, got {name!r}")
    elif not CMQ_NAME.fullmatch(name):
        errors.append(
            f"inputs.deadLetter.name {name!r}: CMQ queue and topic names are 1-64 letters, digits or -, starting with a letter"
        )
    return errors, []


def _environment_problems(variables: dict[Any, Any]) -> list[str]:
    problems = []
    for name, value in variables.items():
        if not ENV_NAME.fullmatch(str(name)) or str(name).startswith(RESERVED_ENV_PREFIXES):
            problems.append(
                f"environment variable {name!r}: SCF needs 2-64 letters, digits or _, starting with a letter, and not SCF_/QCLOUD_/TENCENTCLOUD_"
            )
        if not isinstance(value, str):
            problems.append(f"environment variable {name}: quote the value so it stays a string, got {value!r}")
    total = sum(len(str(k)) + len(str(v)) for k, v in variables.items())
    if total > ENV_TOTAL_LIMIT:
        problems.append(f"environment variables total {total} bytes; SCF allows {ENV_TOTAL_LIMIT}")
    return problems


def _trigger(inputs: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    """The COS trigger's shape problems, and its parameters when its filter can be checked further."""
    events = inputs.get("events") or []
    cos = [e["cos"] for e in events if isinstance(e, dict) and isinstance(e.get("cos"), dict)]
    if len(cos) != 1 or len(events) != 1:
        return ["inputs.events must hold exactly one cos trigger"], None
    params = cos[0].get("parameters")
    if not isinstance(params, dict):
        return ["the cos trigger needs parameters"], None
    problems = [f"cos trigger: unknown parameter {k!r}" for k in sorted(set(params) - COS_TRIGGER_PARAMETERS)]
    domain = COS_DOMAIN.fullmatch(str(params.get("bucket", "")))
    if not domain:
        problems.append(
            f"cos trigger bucket must be the XML-API domain <name>-<appid>.cos.<region>.myqcloud.com, got {params.get('bucket')!r}"
        )
    elif domain.group("region") != inputs.get("region"):
        problems.append(
            f"cos trigger bucket is in {domain.group('region')} but the function in {inputs.get('region')}: COS triggers are same-region"
        )
    if params.get("events") != "cos:ObjectCreated:*":
        problems.append(f"cos trigger events must be 'cos:ObjectCreated:*', got {params.get('events')!r}")
    if params.get("enable") is not True:
        problems.append(
            "cos trigger enable must be true (the component's default is false: the trigger would never fire)"
        )
    flt = params.get("filter")
    if not isinstance(flt, dict) or not all(isinstance(flt.get(k), str) for k in ("prefix", "suffix")):
        return [*problems, "cos trigger filter needs prefix and suffix strings"], None
    return problems, params


def _trigger_prefix_problems(settings: Settings, params: dict[str, Any]) -> list[str]:
    prefix = params["filter"]["prefix"]
    problems = []
    if (settings.trigger_prefix or "") != prefix.lstrip("/"):
        problems.append(
            f"environment TRIGGER_PREFIX={settings.trigger_prefix!r} must equal the trigger's filter prefix {prefix!r}"
        )
    # The suffix is ignored on purpose: how MPS renders {format} (.jpg or .jpeg) is undocumented.
    if retriggers(settings, prefix):
        problems.append(
            f"outputs under /{guard_prefix(settings)} match the trigger's prefix {prefix!r}: every output would "
            "invoke the function again (it skips them, but each costs an invocation). Use a prefix that excludes the output directory"
        )
    return problems
