"""Check serverless.yml against the `scf` component's documented inputs, before a deploy finds out.

The rules come from serverless-components/tencent-scf docs/configure.md and the SCF API limits
(docs/tencent-cloud.md#serverless-component, #limits): input names and types, memory classes, the COS trigger's shape (the
bucket as its XML-API domain, one event type, `enable: true`), environment-variable limits, and
this function's own configuration loaded exactly as the function will load it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from handler.config import ConfigurationError, load_settings
from handler.outputs import guard_prefix, retriggers
from handler.regions import is_full_region

TOP_LEVEL = {"org", "app", "stage", "component", "name", "inputs"}
INPUTS = {
    "src", "type", "name", "namespace", "handler", "entryFile", "role", "enableRoleAuth", "runtime", "region",
    "description", "memorySize", "timeout", "initTimeout", "eip", "publicAccess", "environment", "vpcConfig",
    "layers", "deadLetter", "cls", "asyncRunEnable", "traceEnable", "msgTTL", "retryNum", "installDependency",
    "tags", "cfs", "ignoreTriggers", "events", "image", "provisionedNum", "qualifier",
}  # fmt: skip
COS_TRIGGER_PARAMETERS = {"qualifier", "bucket", "filter", "events", "enable"}
RUNTIMES = ("Python3.9", "Python3.10")
MEMORY_CLASSES = (64, *range(128, 3072 + 1, 128))
MIN_TIMEOUT = 30  # seconds: room for backoff retries inside one invocation
ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,63}")
RESERVED_ENV_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
ENV_TOTAL_LIMIT = 4096
COS_DOMAIN = re.compile(r"(?P<bucket>[a-z0-9][a-z0-9-]*-[0-9]+)\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com")
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; comments on their own lines (what .env.example promises)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def resolve(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    """Substitute ${env:NAME} the way the Framework does, noting names it could not resolve."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in env:
                missing.add(m.group(1))
            return env.get(m.group(1), "")

        return ENV_REFERENCE.sub(sub, value)
    if isinstance(value, list):
        return [resolve(v, env, missing) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, env, missing) for k, v in value.items()}
    return value


def serverless_problems(doc: Any, env: Mapping[str, str], code_root: Path) -> list[str]:
    """Everything wrong with a parsed serverless.yml, resolved against `env` (empty list: fine)."""
    missing: set[str] = set()
    doc = resolve(doc, env, missing)
    problems = [f"${{env:{name}}} is not set (add it to .env)" for name in sorted(missing)]
    if not isinstance(doc, dict):
        return [*problems, "serverless.yml must be a mapping"]
    problems += [f"unknown top-level key {k!r}" for k in sorted(set(doc) - TOP_LEVEL)]
    if doc.get("component") != "scf":
        problems.append(f"component must be 'scf', got {doc.get('component')!r}")
    inputs = doc.get("inputs")
    if not isinstance(inputs, dict):
        return [*problems, "inputs must be a mapping"]
    problems += [f"inputs.{k}: not an input of the scf component" for k in sorted(set(inputs) - INPUTS)]
    problems += _function_problems(inputs)
    variables = ((inputs.get("environment") or {}).get("variables")) or {}
    problems += _environment_problems(variables)
    problems += _trigger_problems(inputs, variables, code_root)
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
    if not is_full_region(str(inputs.get("region", ""))):
        problems.append(f"inputs.region must be a full region name, got {inputs.get('region')!r}")
    memory = inputs.get("memorySize")
    if memory not in MEMORY_CLASSES or isinstance(memory, bool):
        problems.append(f"inputs.memorySize must be 64 or 128-3072 in steps of 128 (MB), got {memory!r}")
    timeout = inputs.get("timeout")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not MIN_TIMEOUT <= timeout <= 900:
        problems.append(
            f"inputs.timeout must be {MIN_TIMEOUT}-900 seconds (retries need time; SCF's default is 3), got {timeout!r}"
        )
    if not isinstance(inputs.get("role"), str) or not inputs["role"]:
        problems.append("inputs.role must name the execution role (its temporary keys are the function's credentials)")
    return problems


def _environment_problems(variables: Any) -> list[str]:
    if not isinstance(variables, dict):
        return ["inputs.environment.variables must be a mapping"]
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


def _trigger_problems(inputs: dict[str, Any], variables: Mapping[str, Any], code_root: Path) -> list[str]:
    events = inputs.get("events") or []
    cos = [e["cos"] for e in events if isinstance(e, dict) and isinstance(e.get("cos"), dict)]
    if len(cos) != 1 or len(events) != 1:
        return ["inputs.events must hold exactly one cos trigger"]
    params = cos[0].get("parameters")
    if not isinstance(params, dict):
        return ["the cos trigger needs parameters"]
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
        return [*problems, "cos trigger filter needs prefix and suffix strings"]
    try:
        settings = load_settings({k: str(v) for k, v in variables.items()}, base_dir=str(code_root))
    except ConfigurationError as exc:
        return [*problems, f"the function would refuse this configuration: {exc}"]
    if settings.trigger_prefix != flt["prefix"]:
        problems.append(
            f"environment TRIGGER_PREFIX={settings.trigger_prefix!r} must equal the trigger's filter prefix {flt['prefix']!r}"
        )
    # The suffix is ignored on purpose: how MPS renders {format} (.jpg or .jpeg) is undocumented.
    if retriggers(settings, flt["prefix"]):
        problems.append(
            f"outputs under /{guard_prefix(settings)} match the trigger's prefix {flt['prefix']!r}: every output would "
            "invoke the function again (it skips them, but each costs an invocation). Use a prefix that excludes the output directory"
        )
    return problems
