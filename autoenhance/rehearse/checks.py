"""What the deploy would create, shown as the SCF console shows it, and checked against what the project means.

Pure: the fake SCF's records and the project's own view (check-config's environment, the build
marker, serverless.yml's inputs) in; lines and errors out. Each error names the serverless.yml
input to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.scf import Function, Trigger

TRIGGER_INPUT = "events[0].cos.parameters"
_SHOWN = (
    ("runtime", "Runtime"), ("handler", "Handler"), ("memory_size", "MemorySize"), ("timeout", "Timeout"),
    ("role", "Role"), ("description", "Description"), ("environment", "Environment"), ("dead_letter", "DeadLetterConfig"),
)  # fmt: skip


def show_function(function: Function, region: str, code_files: int) -> list[str]:
    lines = [
        f"Function {function.name} (namespace {function.namespace}, {region}): {function.status}",
        f"  Runtime        {function.runtime}",
        f"  Handler        {function.handler}",
        f"  Memory         {function.memory_size} MB",
        f"  Timeout        {function.timeout} s",
        f"  Execution role {function.role or '(none)'}",
        f"  Description    {function.description}",
    ]
    variables = [f"{k}={v}" for k, v in function.environment.items()] or ["(none)"]
    lines.append(f"  Environment    {variables[0]}")
    lines += [f"                 {v}" for v in variables[1:]]
    dead = function.dead_letter or {}
    lines.append(
        f"  Dead letter    {dead.get('Type', '')} {dead.get('Name', '')}".rstrip()
        if dead
        else "  Dead letter    (none)"
    )
    lines.append(f"  Code           {function.code_object.lstrip('/')} in {function.code_bucket} ({code_files} files)")
    return lines


def show_trigger(trigger: Trigger) -> list[str]:
    desc = trigger.description()
    filters = desc.get("filter") or {}
    return [
        f"Trigger {trigger.type} {trigger.name} (qualifier {trigger.qualifier})",
        f"  Status         {'enabled (OPEN)' if trigger.enable else 'disabled (CLOSE)'}",
        f"  Event          {desc.get('event')}",
        f"  Prefix         {filters.get('Prefix') or '(none)'}",
        f"  Suffix         {filters.get('Suffix') or '(none)'}",
    ]


def changes(before: Function | None, after: Function, old: list[Trigger], new: list[Trigger]) -> list[str]:
    """What this deploy changed in an existing function (empty for a first deploy)."""
    if before is None:
        return []
    found = [
        f"{label}: {getattr(before, attribute)!r} -> {getattr(after, attribute)!r}"
        for attribute, label in _SHOWN
        if getattr(before, attribute) != getattr(after, attribute)
    ]
    found.append("code: " + ("the same zip" if before.code_sha256 == after.code_sha256 else "replaced by the new zip"))
    keys = {(t.name, t.desc, t.enable) for t in new}
    found += [
        f"trigger removed: {t.name} {t.desc} enable={t.enable}" for t in old if (t.name, t.desc, t.enable) not in keys
    ]
    kept = {(t.name, t.desc, t.enable) for t in old}
    found += [
        f"trigger created: {t.name} {t.desc} enable={t.enable}" for t in new if (t.name, t.desc, t.enable) not in kept
    ]
    return found


def problems(
    function: Function,
    triggers: list[Trigger],
    *,
    inputs: Mapping[str, Any],
    deployed_env: Mapping[str, str],
    built_runtime: str | None,
    code_files: list[str],
    watched_bucket: str | None,
) -> list[str]:
    """Every way the function as created differs from what the project means."""
    errors = []
    if dict(function.environment) != dict(deployed_env):
        extra = sorted(set(function.environment) - set(deployed_env))
        lost = sorted(set(deployed_env) - set(function.environment))
        differ = sorted(
            k for k in set(deployed_env) & set(function.environment) if deployed_env[k] != function.environment[k]
        )
        errors.append(
            "inputs.environment.variables: the function would get other variables than check-config shows"
            + (f"; not in check-config: {', '.join(extra)}" if extra else "")
            + (f"; missing: {', '.join(lost)}" if lost else "")
            + (f"; different values: {', '.join(differ)}" if differ else "")
        )
    if built_runtime is None:
        errors.append("inputs.src: build/scf has no .autoenhance-package.json: run autoenhance package")
    elif function.runtime != built_runtime:
        errors.append(
            f"inputs.runtime: the function would run {function.runtime}, but build/scf was built for {built_runtime} "
            f"(its bytecode and wheels): run autoenhance package again, or set runtime: {built_runtime}"
        )
    module = function.handler.rpartition(".")[0].replace(".", "/")
    if f"{module}.py" not in code_files and f"{module}/__init__.py" not in code_files:
        errors.append(f"inputs.handler: {function.handler}, but the uploaded zip has no {module}.py at its root")
    for attribute, name, default in (("timeout", "timeout", 3), ("memory_size", "memorySize", 128)):
        wanted = _int(inputs.get(name), default)
        if getattr(function, attribute) != wanted:
            errors.append(f"inputs.{name}: configured {wanted}, the function would get {getattr(function, attribute)}")
    dead: dict[str, Any] = inputs["deadLetter"] if isinstance(inputs.get("deadLetter"), dict) else {}
    if not function.dead_letter or not function.dead_letter.get("Name"):
        errors.append("inputs.deadLetter: the function would have no dead-letter queue: failed events would be dropped")
    elif (function.dead_letter.get("Type"), function.dead_letter.get("Name")) != (dead.get("type"), dead.get("name")):
        errors.append(f"inputs.deadLetter: configured {dead}, the function would get {function.dead_letter}")
    errors += _trigger_problems(triggers, inputs, deployed_env, watched_bucket)
    return errors


def _trigger_problems(
    triggers: list[Trigger], inputs: Mapping[str, Any], deployed_env: Mapping[str, str], watched_bucket: str | None
) -> list[str]:
    cos = [t for t in triggers if t.type == "cos"]
    if len(cos) != 1:
        return [f"inputs.events: the function would have {len(cos)} COS triggers, not 1: no upload would run it"]
    trigger, errors = cos[0], []
    desc, region = trigger.description(), inputs.get("region")
    prefix = (desc.get("filter") or {}).get("Prefix", "")
    if not trigger.enable:
        errors.append(
            f"{TRIGGER_INPUT}.enable: the trigger would be created disabled (CLOSE): no upload would run the function; "
            "set enable: true (the toolkit's default is false)"
        )
    if watched_bucket and trigger.cos_bucket != watched_bucket:
        errors.append(
            f"{TRIGGER_INPUT}.bucket: the trigger watches {trigger.cos_bucket}, check-config shows {watched_bucket}"
        )
    if region and trigger.cos_region != region:
        errors.append(
            f"{TRIGGER_INPUT}.bucket: the trigger's bucket is in {trigger.cos_region}, the function in {region}"
        )
    if prefix != deployed_env.get("TRIGGER_PREFIX", ""):
        errors.append(
            f"{TRIGGER_INPUT}.filter.prefix: the trigger watches {prefix!r}, the function's TRIGGER_PREFIX is "
            f"{deployed_env.get('TRIGGER_PREFIX', '')!r}"
        )
    if desc.get("event") != "cos:ObjectCreated:*":
        errors.append(
            f"{TRIGGER_INPUT}.events: {desc.get('event')!r}, not 'cos:ObjectCreated:*': some uploads would not run it"
        )
    return errors


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
