"""`autoenhance check-config`: load the configuration as the function will and show its effect.

The configuration is serverless.yml's environment (with the shell's values on top, see
`common.deployment`). Prints where each value came from, the effective task, output location and
filters, and warns where outputs would re-trigger the function. A configuration the function
would refuse exits 2 with its message.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from handler.config import load_settings
from handler.outputs import guard_prefix, retrigger_warning

from .common import EXIT_FAILED, EXIT_OK, UsageError, deployment, meta_headers

if TYPE_CHECKING:
    from ..deploy_config import FunctionEnvironment


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-config",
        help="load and validate the configuration the function will use",
        description="Load the function's configuration from serverless.yml's environment (resolving ${env:...} "
        "from the shell and .env; a variable set in the shell overrides serverless.yml's) exactly as the "
        "function does, say where each value came from, print the effective task, output location and "
        "filters, and warn about loops.",
    )
    p.add_argument("--explain", metavar="KEY", help="say which rule an upload of KEY hits and show the exact request")
    p.add_argument(
        "--meta", action="append", default=[], metavar="K=V", help="with --explain: an x-cos-meta-K header (repeatable)"
    )
    p.add_argument("--size", type=int, default=245_760, help="with --explain: the object's size in bytes")
    p.add_argument("--content-type", help="with --explain: the object's Content-Type (default: from its extension)")
    p.add_argument(
        "--region",
        help="with --explain: the bucket's region (default: the trigger's, from serverless.yml, else inputs.region)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.credentials import SECRET_KEY, SESSION_TOKEN
    from handler.log import Redactor

    env = deployment()
    # common.settings(), with each refused variable naming where it came from (shell, .env, serverless.yml).
    s = load_settings(env.variables, base_dir=str(env.root), watched_bucket=env.watched_bucket, origins=env.sources)
    # A bad --region is refused before anything is printed.
    explained_region = _bucket_region(args.region, s, env) if args.explain is not None else None
    # A secret pasted into the wrong variable is not shown back (as load_settings' messages do not).
    redact = Redactor([env.variables.get(SECRET_KEY), env.variables.get(SESSION_TOKEN)])
    print(f"Configuration from {env.root / 'serverless.yml'} (the shell overrides it for local runs):")
    for name in sorted(env.sources):
        from_yml = env.sources[name].startswith("serverless.yml")
        value = env.deployed.get(name) if from_yml else env.variables.get(name)
        print(redact(f"  {name}={'(unset)' if value is None else value}  <- {env.sources[name]}"))
    for note in env.notes:
        print(f"note: {note}")
    task = {"Definition": s.definition} if s.definition is not None else {"ImageTask": s.image_task}
    print("Task:            " + json.dumps(task, ensure_ascii=False))
    same_bucket = "(the uploaded object's own bucket)"
    print(f"Output bucket:   {s.output_bucket or same_bucket}")
    print(f"Output region:   {s.output_region or '(the input region)'}")
    print(f"Output dir:      {s.output_dir}<input directory>/" + (f"  path: {s.output_path}" if s.output_path else ""))
    print(f"Skipped as own output: keys under /{guard_prefix(s)} in the output bucket")
    print(
        f"Trigger prefix:  {s.trigger_prefix or '(the whole bucket)'}"
        + (f" in {env.watched_bucket}" if env.watched_bucket else "")
    )
    print(f"Image extensions: {', '.join(sorted(s.extensions))}")
    print(
        f"MPS endpoint:    {s.endpoint.url}  region: {s.mps_region or '(function region)'}  timeout: {s.http_timeout:g} s"
    )
    print(f"Task fingerprint (part of every SessionId): {s.fingerprint}")
    if s.rules:
        print(
            f"Rules ({env.variables.get('RULES_FILE')}), first match wins; x-cos-meta-autoenhance: skip or a rule's name overrides:"
        )
        for n, rule in enumerate(s.rules, 1):
            print(f"  {n}. {rule.name}: {rule.match.describe()} -> {_action(rule)}")
        print("  no match -> the task above")
    retrigger = retrigger_warning(s)
    if retrigger:
        print(f"warning: {retrigger}")
    print("configuration OK (autoenhance check-deploy checks serverless.yml itself)")
    if args.explain is not None:
        return _explain(args, s, env, explained_region)
    return EXIT_OK


def _action(rule: Any) -> str:
    if rule.settings is None:
        return f"skip ({rule.skip})"
    r = rule.settings
    task = f"template {r.definition}" if r.definition is not None else json.dumps(r.image_task, ensure_ascii=False)
    where = f"{r.output_bucket or '(own bucket)'}:{r.output_dir}" + (f" path {r.output_path}" if r.output_path else "")
    return f"{task} to {where}  fingerprint {r.fingerprint}"


def _explain(
    args: argparse.Namespace, s: Any, env: FunctionEnvironment, bucket_region: tuple[str | None, str] | None
) -> int:
    """One upload of KEY through the function's own decision: its rule, and the request or the reason.

    The record is the one the trigger would deliver: the watched bucket, in its region (--region,
    else the trigger's, else the function's); the MPS call's region is chosen by the function's own rule.
    """
    from handler.cos_event import CosUploadRecord, parse_records
    from handler.plan import Submit, plan_record

    from ..local.scf import DEFAULT_REGION
    from ..sample_events import cos_event, cos_record
    from .handler_results import describe_plan

    bucket = env.watched_bucket or "photos-1250000000"
    region, region_source = bucket_region or (None, "")
    if region is None:
        region, region_source = DEFAULT_REGION, "no --region, trigger or inputs.region names one: the CLI's default"
    record = cos_record(
        bucket, region, args.explain.lstrip("/"), size=args.size, content_type=args.content_type,
        metadata=meta_headers(args.meta),
    )  # fmt: skip
    [item] = parse_records(cos_event([record]), env.function_region, s.region_codes)
    if not isinstance(item, CosUploadRecord):
        raise UsageError(f"--explain {args.explain!r}: {item.message}")
    text, failed = describe_plan(item, s)
    print(
        f"\nAn upload of {bucket}/{item.key} in {item.region} ({region_source}; {args.size} bytes, "
        f"{item.content_type or 'no content type'}"
        + (", " + ", ".join(f"{k}: {v}" for k, v in item.metadata) if item.metadata else "")
        + "):"
    )
    print(text)
    if isinstance(plan_record(item, s), Submit):
        call_region = s.mps_region_for(env.function_region, item.region)
        why = (
            "MPS_REGION" if s.mps_region else "the function's region" if env.function_region else "the bucket's region"
        )
        print(f"  sent to MPS in {call_region} ({why})")
    return EXIT_FAILED if failed else EXIT_OK


def _bucket_region(given: str | None, s: Any, env: FunctionEnvironment) -> tuple[str | None, str]:
    """The uploaded bucket's full region and where it came from: --region, the trigger, inputs.region."""
    if given is None:
        if env.watched_region:
            return env.watched_region, "the trigger's bucket region"
        return env.function_region, "the function's region, inputs.region"
    from handler.errors import RegionError
    from handler.regions import DOCUMENTED_REGIONS, full_region_for, region_slip

    try:
        region = full_region_for(given, s.region_codes)
    except RegionError as exc:
        raise UsageError(f"--region: {exc}") from None
    slip = region_slip(region)
    if slip:
        raise UsageError(f"--region {given!r}: not a region COS documents; did you mean {slip!r}?")
    if region not in DOCUMENTED_REGIONS:
        print(
            f"warning: --region {region}: not a region COS documents (docs/tencent-cloud.md#regions)", file=sys.stderr
        )
    return region, "--region"
