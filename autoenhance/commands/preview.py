"""`autoenhance preview`: local images through the configured rules and task, before and after on one page.

Each image is planned as the function plans its upload (the same rule choice and ProcessImage
request) and run on the local MPS, which does the ImageTask with Pillow; the engine and the page
are autoenhance/preview/ (imported only here, and only when the command runs: it needs Pillow).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .common import EXIT_FAILED, EXIT_OK, UsageError, deployment, meta_headers

if TYPE_CHECKING:
    from handler.config import Settings

    from ..preview import Shot, Upload

DEMO_BUCKET = "photos-1250000000"  # when serverless.yml names no trigger bucket (check-config --explain's too)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "preview",
        help="see what the configured task makes of local images (before/after page)",
        description="Run local images through the configured rules and task on the local MPS (Pillow) and "
        "write each output plus one HTML page: before and after, sizes, formats, the rule, the exact "
        "ProcessImage request and which steps were approximated. Prints the page's path.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="a local image file")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY",
        help="the object key to upload an IMAGE as (repeatable: one per IMAGE, in order; a KEY ending in / "
        "is a folder for every IMAGE); default: the image's name under TRIGGER_PREFIX",
    )
    p.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="K=V",
        help="an x-cos-meta-K header on every upload (repeatable), e.g. --meta purpose=print",
    )
    p.add_argument("--rules", metavar="FILE", help="use this rules file instead of the configured RULES_FILE")
    p.add_argument("--task", metavar="FILE", help="use this ImageTask file instead of the configured task")
    p.add_argument("--out", metavar="DIR", help="where to write (default: preview/ in the state directory)")
    p.add_argument("--open", action="store_true", help="open the page in the web browser")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sources = [Path(image) for image in args.images]
    for source in sources:
        if not source.is_file():
            raise UsageError(f"{source}: no such file")
    config, configuration, bucket = _configuration(args.rules, args.task)
    uploads = _uploads(sources, args.key, meta_headers(args.meta), config.trigger_prefix or "")
    out_dir = Path(args.out) if args.out else _default_out()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: not a directory")

    from ..local.scf import DEFAULT_REGION
    from ..preview import preview, write_preview

    shots = preview(uploads, config, bucket, os.environ.get("TENCENTCLOUD_REGION") or DEFAULT_REGION)
    try:
        page = write_preview(shots, out_dir, configuration)
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot write ({exc.strerror or exc})") from None
    for shot in shots:
        print(_describe(shot))
    print(f"preview: {page}")
    if args.open:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
    return EXIT_FAILED if any(shot.outcome == "failed" for shot in shots) else EXIT_OK


def _configuration(rules: str | None, task: str | None) -> tuple[Settings, list[str], str]:
    """The function's configuration as every command loads it, with --rules/--task in place of the
    configured ones; the lines the page shows about it; the bucket uploads go to."""
    from handler.config import load_settings

    from ..deploy_config import TASK_SOURCES

    env = deployment()
    variables = dict(env.variables)
    lines = [f"configuration: {env.root / 'serverless.yml'}"]
    if rules:
        variables["RULES_FILE"] = str(_existing("--rules", rules))
        lines.append(f"rules: {variables['RULES_FILE']} (--rules)")
    elif variables.get("RULES_FILE"):
        lines.append(f"rules: {variables['RULES_FILE']} (RULES_FILE)")
    if task:
        for name in TASK_SOURCES:  # one task source at a time, as the function requires
            variables.pop(name, None)
        variables["MPS_IMAGE_TASK_FILE"] = str(_existing("--task", task))
        lines.append(f"task when no rule matches: {variables['MPS_IMAGE_TASK_FILE']} (--task)")
    config = load_settings(variables, base_dir=str(env.root), watched_bucket=env.watched_bucket)
    return config, lines, env.watched_bucket or DEMO_BUCKET


def _existing(option: str, name: str) -> Path:
    path = Path(name).resolve()
    if not path.is_file():
        raise UsageError(f"{option} {name}: no such file")
    return path


def _uploads(sources: list[Path], keys: list[str], metadata: dict[str, str], prefix: str) -> list[Upload]:
    from ..preview import Upload

    if len(keys) == 1 and keys[0].endswith("/"):
        keys = keys * len(sources)
    if keys and len(keys) != len(sources):
        raise UsageError(
            f"{len(keys)} --key for {len(sources)} IMAGE(s): give one per IMAGE, or one folder ending in /"
        )
    uploads = []
    for i, source in enumerate(sources):
        key = keys[i] if keys else prefix
        key = (key + source.name if key.endswith("/") or not key else key).lstrip("/")
        uploads.append(Upload(source, key, metadata))
    return uploads


def _default_out() -> Path:
    from ..local.fake_cloud import state_dir

    return state_dir() / "preview"


def _describe(shot: Shot) -> str:
    rule = f"rule {shot.rule}" if shot.rule else "no rule"
    head = f"{shot.upload.source} as {shot.bucket}/{shot.upload.key}: {rule}, {shot.outcome}"
    if shot.outcome != "success":
        return f"{head}: {shot.reason}"
    before = shot.before.describe() if shot.before else "?"
    after = shot.after.describe() if shot.after else "?"
    lines = [head, f"  {before} -> {after}", f"  output {shot.output}"]
    lines += [f"  {step.treatment}: {step.name}: {step.detail}" for step in shot.steps if step.treatment != "emulated"]
    return "\n".join(lines)
