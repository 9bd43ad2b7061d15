"""The function's configuration: read once per container from environment variables.

`load_settings(env)` is pure (a mapping in, a frozen `Settings` out) so the CLI's
check-config, the tests and the function all load it the same way. Every problem is
collected and reported together in one `ConfigurationError`, each line naming the variable,
the value and what is allowed.

Each variable's parser is in `handler/variables.py`; the names, and the check for misspelt ones, in
`handler/variable_names.py`.
RULES_FILE's rules are parsed and matched in `handler/rules.py`; here each task rule becomes its
own `Settings`, built with the same parsers, so a rule's problems read exactly like a variable's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import ConfigurationError
from .log import Redactor
from .outputs import loop_problems
from .rules import RawRule, Rule, parse_rules
from .variable_names import KNOWN_VARIABLES, unknown_variables, with_origin
from .variables import (
    DEFAULT_OUTPUT_DIR,
    INVALID,
    Endpoint,
    parse_concurrency,
    parse_endpoint,
    parse_extensions,
    parse_http_timeout,
    parse_image_task,
    parse_image_task_json,
    parse_json,
    parse_output_bucket,
    parse_output_dir,
    parse_output_path,
    parse_output_region,
    parse_region,
    parse_region_codes,
    parse_requests_per_second,
    parse_task,
    parse_trigger_prefix,
    read_file,
)

# The configuration's interface: the CLI and the tests name the variables and the endpoint through this module.
__all__ = ["KNOWN_VARIABLES", "Endpoint", "Settings", "load_settings"]


class Settings(NamedTuple):
    """What the function does with an upload: the environment's, or a task rule's (see `Rule`)."""

    image_task: dict[str, Any] | None  # exactly one of image_task / definition is set
    definition: int | None
    resource_id: str | None
    output_bucket: str | None  # None: the uploaded object's own bucket
    output_region: str | None  # None: the output bucket is in the input's region
    output_dir: str  # root under which outputs mirror the input's directory, '/x/' form
    output_path: str | None
    mps_region: str | None
    endpoint: Endpoint
    http_timeout: float
    concurrency: int  # ProcessImage calls in flight at once for a merged event
    requests_per_second: float  # the pace of this container's ProcessImage calls
    extensions: frozenset[str]
    trigger_prefix: str | None
    region_codes: Mapping[str, str]
    fingerprint: str = ""  # digest of everything that shapes the task; part of each SessionId
    # Why uploads from OUTPUT_BUCKET itself cannot be served (its same-bucket loop problems), or ''.
    # Start-up cannot tell whether the trigger watches OUTPUT_BUCKET; a record from it proves it does.
    output_bucket_loop: str = ""
    rules: tuple[Rule, ...] = ()  # RULES_FILE's, in order; a record matching none gets these settings

    def rule_named(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def every_output(self) -> tuple[Settings, ...]:
        """These settings and every rule's: each one's output directory holds the function's outputs."""
        return (self, *(r.settings for r in self.rules if r.settings is not None))

    def mps_region_for(self, function_region: str | None, record_region: str) -> str:
        """The region of a record's ProcessImage call: MPS_REGION, else the function's own (SCF's
        TENCENTCLOUD_REGION), else the record's bucket's (a COS trigger is same-region)."""
        return self.mps_region or function_region or record_region

    def task_fingerprint(self) -> str:
        effective = {
            "ImageTask": self.image_task,
            "Definition": self.definition,
            "ResourceId": self.resource_id,
            "OutputBucket": self.output_bucket,
            "OutputRegion": self.output_region,
            "OutputDir": self.output_dir,
            "OutputPath": self.output_path,
        }
        canonical = json.dumps(effective, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # surrogatepass: os.environ carries undecodable bytes as lone surrogates (surrogateescape).
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def load_settings(
    env: Mapping[str, str],
    base_dir: str | None = None,
    watched_bucket: str | None = None,
    origins: Mapping[str, str] | None = None,
) -> Settings:
    """Parse and validate; `base_dir` anchors a relative MPS_IMAGE_TASK_FILE (default: code root).

    `watched_bucket`, when known (the deploy check knows the trigger's), is the bucket the trigger
    watches: an OUTPUT_BUCKET naming it gets the same loop checks as no OUTPUT_BUCKET at all.
    `origins` (the CLI's: variable -> where its value came from, e.g. "shell") is named in the
    problem of each variable it lists, so a refused value says which file or shell to fix.
    """
    problems: list[str] = []
    base_dir = base_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    unknown_variables(env, problems)
    image_task, definition = parse_task(env, base_dir, problems)
    settings = Settings(
        image_task=image_task,
        definition=definition,
        resource_id=env.get("MPS_RESOURCE_ID") or None,
        output_bucket=parse_output_bucket(env, problems),
        output_region=parse_output_region(env, problems),
        output_dir=parse_output_dir(env.get("OUTPUT_DIR", DEFAULT_OUTPUT_DIR), "OUTPUT_DIR", problems),
        output_path=parse_output_path(env, problems),
        mps_region=parse_region(env, "MPS_REGION", problems),
        endpoint=parse_endpoint(env.get("MPS_ENDPOINT"), problems),
        http_timeout=parse_http_timeout(env, problems),
        concurrency=parse_concurrency(env, problems),
        requests_per_second=parse_requests_per_second(env, problems),
        extensions=parse_extensions(env, problems),
        trigger_prefix=parse_trigger_prefix(env, problems),
        region_codes=parse_region_codes(env, problems),
    )
    problems.extend(loop_problems(settings, watched_bucket))
    if env.get("RULES_FILE"):
        rules = _load_rules(env["RULES_FILE"], base_dir, settings, watched_bucket, problems)
        settings = settings._replace(rules=rules)
    if problems:
        # Problems quote values; a secret pasted into the wrong variable must not be echoed back.
        secrets = [env.get(n) or "" for n in ("TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")]
        redact = Redactor([*secrets, *(s.strip() for s in secrets)])
        raise ConfigurationError([redact(with_origin(p, origins or {})) for p in problems])
    return _with_derived(settings)


def _with_derived(settings: Settings) -> Settings:
    """`settings` with what follows from the rest: the fingerprint, and why uploads from OUTPUT_BUCKET are refused."""
    bucket = settings.output_bucket
    own_bucket_loop = "; ".join(loop_problems(settings, bucket)) if bucket else ""
    return settings._replace(fingerprint=settings.task_fingerprint(), output_bucket_loop=own_bucket_loop)


def _load_rules(
    relative: str, base_dir: str, base: Settings, watched_bucket: str | None, problems: list[str]
) -> tuple[Rule, ...]:
    raw = read_file(f"RULES_FILE={relative!r}", relative, base_dir, problems)
    doc = INVALID if raw is None else parse_json(raw, "RULES_FILE", problems, relative)
    if doc is INVALID:
        return ()
    parsed, rule_problems = parse_rules(doc, "RULES_FILE")
    problems.extend(rule_problems)
    return tuple(_rule(r, base_dir, base, watched_bucket, problems) for r in parsed)


def _rule(raw: RawRule, base_dir: str, base: Settings, watched_bucket: str | None, problems: list[str]) -> Rule:
    """One rule's settings: the environment's, with the rule's task and outputs, checked as the environment's are."""
    where = f"RULES_FILE: rule {raw.name}"
    if raw.action == "skip":
        return Rule(raw.name, raw.match, str(raw.value).strip())
    image_task: dict[str, Any] | None = None
    definition: int | None = None
    if raw.action == "image_task":
        image_task = parse_image_task(raw.value, f"{where}: image_task", problems)
    elif raw.action == "image_task_file":
        if not isinstance(raw.value, str) or not raw.value:
            problems.append(f"{where}: image_task_file: {raw.value!r}: must be a file name relative to the code root")
        else:
            text = read_file(f"{where}: image_task_file={raw.value!r}", raw.value, base_dir, problems)
            image_task = (
                None if text is None else parse_image_task_json(text, f"{where}: image_task_file", problems, raw.value)
            )
    elif isinstance(raw.value, int) and not isinstance(raw.value, bool) and 0 < raw.value < 10**18:
        definition = raw.value
    else:
        problems.append(f"{where}: definition: {raw.value!r}: must be a positive integer template id")
    out, variable_of = raw.output, {"bucket": "OUTPUT_BUCKET", "region": "OUTPUT_REGION", "path": "OUTPUT_PATH"}
    # The environment's parsers, so a rule's value is held to exactly the variable's rules and words.
    env = {variable_of[k]: v for k, v in out.items() if k in variable_of}
    if "region" in out and "bucket" not in out and base.output_bucket:
        env["OUTPUT_BUCKET"] = base.output_bucket
    found: list[str] = []
    bucket = parse_output_bucket(env, found) if "bucket" in out else base.output_bucket
    region = (
        parse_output_region(env, found) if "region" in out else (base.output_region if "bucket" not in out else None)
    )
    path = parse_output_path(env, found) if "path" in out else base.output_path
    directory = parse_output_dir(out["dir"], "output.dir", found) if "dir" in out else base.output_dir
    for name, variable in variable_of.items():
        found = [p.replace(f"{variable}=", f"output.{name}=") for p in found]
    settings = base._replace(
        image_task=image_task, definition=definition, output_bucket=bucket, output_region=region,
        output_dir=directory, output_path=path,
    )  # fmt: skip
    found += loop_problems(settings, watched_bucket)
    problems.extend(f"{where}: {p}" for p in found)
    return Rule(raw.name, raw.match, None, _with_derived(settings))
