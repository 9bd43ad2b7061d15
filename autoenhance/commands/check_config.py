"""`autoenhance check-config`: load the configuration as the function will and show its effect.

The configuration is serverless.yml's environment (with the shell's values on top, see
`common.deployment`). Prints where each value came from, the effective task, output location and
filters, and warns where outputs would re-trigger the function. A configuration the function
would refuse exits 2 with its message.
"""

from __future__ import annotations

import argparse
import json

from handler.outputs import guard_prefix, retrigger_warning

from .common import EXIT_OK, deployment, settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-config",
        help="load and validate the configuration the function will use",
        description="Load the function's configuration from serverless.yml's environment (resolving ${env:...} "
        "from the shell and .env; a variable set in the shell overrides serverless.yml's) exactly as the "
        "function does, say where each value came from, print the effective task, output location and "
        "filters, and warn about loops.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handler.credentials import SECRET_KEY, SESSION_TOKEN
    from handler.log import Redactor

    s = settings()  # a refused configuration exits 2 here, with its (redacted) problems
    env = deployment()
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
    warnings = list(s.warnings)
    retrigger = retrigger_warning(s)
    if retrigger:
        warnings.append(retrigger)
    for w in warnings:
        print(f"warning: {w}")
    print("configuration OK (autoenhance check-deploy checks serverless.yml itself)")
    return EXIT_OK
