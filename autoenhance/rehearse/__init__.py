"""`autoenhance rehearse`'s engine: run Tencent's own deploy code against a fake cloud, then use what it made.

1. serverless.yml's inputs, resolved as check-deploy resolves them, `src` zipped as the CLI zips
   it (inputs.py);
2. the pinned toolkit (toolkit.py) deploys them through an HTTPS proxy into the fake SCF and COS
   (cloud.py), which record every call and check every signature;
3. the function and trigger it created are shown and checked against what the project means
   (checks.py), and, when the fake cloud already held them, what the redeploy changed;
4. the function then runs as SCF would run it: a sample upload under the trigger's prefix, one
   outside it, and the task's own output; only the first should invoke it and become an MPS task.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from handler.results import Outcome

from ..deploy_config import Project, function_environment, load_project
from ..package import BuildMarker
from . import checks
from .cloud import DEPLOYER, FakeCloud
from .inputs import InputError, deploy_inputs
from .toolkit import ToolkitError, install, npm_env

COUNTED_WORDS = (Outcome.SUBMITTED.value, Outcome.SKIPPED.value, Outcome.FAILED.value)  # the summary shown

EXIT_OK, EXIT_FAILED, EXIT_NO_NODE = 0, 1, 2
# The smallest JPEG-shaped bytes: the fake MPS reads the input's size and type, not its pixels.
SAMPLE_IMAGE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64) + b"\xff\xd9"
STAGE, APP = "dev", "mps-autoenhance"  # the Framework's defaults when serverless.yml names neither


def state_dir(shell: Mapping[str, str]) -> Path:
    """$AUTOENHANCE_STATE_DIR, else the user cache: where the toolkit and the fake cloud's state live."""
    root = shell.get("AUTOENHANCE_STATE_DIR") or os.path.join(
        shell.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "autoenhance"
    )
    return Path(root)


def rehearse(shell: Mapping[str, str], *, fresh: bool = False, out: Callable[[str], None] = print) -> int:
    project = load_project(shell)
    state = state_dir(shell)
    with tempfile.TemporaryDirectory(prefix="autoenhance-rehearsal-") as tmp:
        workdir = Path(tmp)
        try:
            prepared = deploy_inputs(project, shell, workdir / "code.zip")
        except InputError as exc:
            out(f"error: {exc}")
            return EXIT_FAILED
        try:
            toolkit = install(state, npm_env())
        except ToolkitError as exc:
            out(f"autoenhance rehearse: {exc}")
            return EXIT_NO_NODE
        environment = function_environment(project, shell)
        region = str(prepared.inputs.get("region") or "ap-guangzhou")
        if not environment.watched_bucket:
            out("error: inputs.events: no COS trigger bucket to deploy a trigger for")
            return EXIT_FAILED
        cloud = FakeCloud.start(
            workdir, state / "rehearsal" / "fake-cloud.json", region, [environment.watched_bucket], fresh
        )
        try:
            return _rehearse(project, prepared, environment, cloud, toolkit, workdir, out)
        finally:
            cloud.stop()


def _rehearse(project: Project, prepared, environment, cloud: FakeCloud, toolkit, workdir: Path, out) -> int:
    name, namespace = str(prepared.inputs.get("name")), str(prepared.inputs.get("namespace") or "default")
    before = copy.deepcopy(cloud.scf.functions.get((namespace, name)))
    old_triggers = [t for t in copy.deepcopy(cloud.scf.triggers) if t.function == name]
    request = {
        "inputs": prepared.inputs, "credentials": {"SecretId": DEPLOYER.secret_id, "SecretKey": DEPLOYER.secret_key},
        "appId": cloud.appid, "zip": str(workdir / "code.zip"), "stage": STAGE, "app": APP, "instance": prepared.instance,
    }  # fmt: skip
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    result, _printed = toolkit.deploy(request, workdir, cloud.toolkit_env(base))
    out(("Redeploy" if before else "First deploy") + f" of {project.serverless_yml}, rehearsed against a fake cloud:")
    out("  calls: " + ", ".join(_call_names(cloud)))
    if "error" in result:
        out(f"error: the deploy failed: {result['error'].get('message')}")
        cloud.save()
        return EXIT_FAILED
    function = cloud.scf.functions[(namespace, name)]
    triggers = [t for t in cloud.scf.triggers if t.function == name]
    code_files = cloud.scf.code_files(namespace, name)
    out("")
    for line in checks.show_function(function, cloud.region, len(code_files)):
        out(line)
    for trigger in triggers:
        for line in checks.show_trigger(trigger):
            out(line)
    changed = checks.changes(before, function, old_triggers, triggers)
    if changed:
        out("What this redeploy changed:")
        for line in changed:
            out(f"  {line}")
    marker = BuildMarker.read(prepared.src_dir)
    errors = checks.problems(
        function, triggers, inputs=prepared.inputs, deployed_env=environment.deployed,
        built_runtime=marker.runtime if marker else None, code_files=code_files,
        watched_bucket=environment.watched_bucket,
    )  # fmt: skip
    out("")
    errors += _trip(cloud, environment, triggers, out)
    cloud.save()
    out("")
    for error in errors:
        out(f"error: {error}")
    if errors:
        out(
            f"rehearsal FAILED: {len(errors)} error(s); the deploy would create a function that does not work as configured"
        )
        return EXIT_FAILED
    out("rehearsal OK: the deploy creates the function and trigger as configured, and an upload becomes an MPS task")
    return EXIT_OK


def _trip(cloud: FakeCloud, environment, triggers, out) -> list[str]:
    """Upload under the prefix, outside it, and let MPS write its output: what each invoked."""
    bucket = environment.watched_bucket
    prefix = environment.deployed.get("TRIGGER_PREFIX", "")
    inside, outside = f"{prefix}rehearsal/sample.jpg", "rehearsal-outside-the-prefix/sample.jpg"
    errors: list[str] = []
    seen = 0

    def report(what: str) -> list[tuple[str | None, dict]]:
        nonlocal seen
        runs = cloud.scf.invocations[seen:]
        seen = len(cloud.scf.invocations)
        if not runs:
            out(f"{what}: invoked nothing")
        found = []
        for run in runs:
            summary = run.value if isinstance(run.value, dict) else {}
            tasks = [r.get("task_id") for r in summary.get("results", []) if r.get("task_id")]
            outcome = run.error or ", ".join(f"{k} {summary.get(k)}" for k in COUNTED_WORDS)
            out(f"{what}: invoked {run.function}: {outcome}" + (f"; MPS task {', '.join(tasks)}" if tasks else ""))
            found.append((run.error, summary))
        return found

    cloud.upload(bucket, inside, SAMPLE_IMAGE)
    runs = report(f"Upload cos://{bucket}/{inside}")
    if any(t.enable for t in triggers):
        if not runs:
            errors.append("events[0].cos.parameters: an upload under the prefix did not invoke the function")
        for error, summary in runs:
            if error:
                errors.append(f"inputs.handler / inputs.runtime: the function failed in its container: {error}")
            elif not summary.get(Outcome.SUBMITTED.value):
                errors.append("inputs.environment.variables: the upload did not become an MPS task")
    if prefix and not outside.startswith(prefix):
        cloud.upload(bucket, outside, SAMPLE_IMAGE)
        if report(f"Upload cos://{bucket}/{outside}"):
            errors.append("events[0].cos.parameters.filter.prefix: an upload outside the prefix invoked the function")
    cloud.mps.backend.finish_due_tasks()
    for written in cloud.mps.backend.output_objects():
        for _error, summary in report(f"MPS output cos://{written.bucket}/{written.key}"):
            if summary.get(Outcome.SUBMITTED.value):
                errors.append(
                    "inputs.environment.variables.OUTPUT_DIR: the function's own output became a new task (a loop)"
                )
    return errors


def _call_names(cloud: FakeCloud) -> list[str]:
    names = []
    for request in cloud.proxy.responses.requests:
        if request.action:
            names.append(request.action)
        elif request.target.startswith("/?lifecycle"):
            names.append("PutBucketLifecycle")
        else:
            names.append(
                ("PutBucket" if request.target == "/" else "PutObject") if request.method == "PUT" else request.method
            )
    return names
