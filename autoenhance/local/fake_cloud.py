"""The embedded fake cloud: the fake MPS and fake COS, started in-process on loopback ports.

Without `--live`, commands run against these instead of Tencent Cloud: no credentials or
network needed. The fakes accept only the fake keys of `fakes/identities.py`, which
`embedded_mps` puts in the environment where the function reads its execution role's keys.

The fake MPS keeps its tasks and SessionIds in a small state file between runs, so
`autoenhance replay` followed by `autoenhance status TASK_ID` works, and replaying the same
event twice shows MPS's SessionId de-duplication, as it would in the cloud.

The fake MPS is wired to a fake COS, as MPS reads and writes the user's bucket (in process; it
is served on a port only for backfill, whose demo bucket it is): `replay` puts into it what each
event's records say the bucket held (`mirror_event`), so a task whose input is gone fails as it
would in the cloud. That COS lives only as long as the command; what each task will do is saved
with it in the state file, so a later `report` or `status` shows it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bucket_files import save_outputs, seed_from_files, stored_body
from .demo_bucket import seed_demo_bucket
from .scf import event_region, patched_environ

if TYPE_CHECKING:
    from fakes.cos import CosBackend
    from fakes.mps import MpsBackend
    from handler.config import Settings


def state_dir() -> Path:
    """Where the embedded fakes keep what outlives a run: $AUTOENHANCE_STATE_DIR, else the user cache."""
    root = os.environ.get("AUTOENHANCE_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "autoenhance"
    )
    return Path(root)


def state_file() -> Path:
    """Where the fake MPS's tasks live between runs."""
    return state_dir() / "fake-mps-state.json"


def save_state(backend: Any, path: Path) -> None:
    tasks = backend.saved_tasks()  # each with the outcome it will report (MpsBackend.saved_tasks)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tasks": tasks}, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a state file


def load_state(backend: Any, path: Path) -> None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no state yet, or unreadable: start empty
    backend.restore_tasks(saved.get("tasks", []))


@dataclass
class EmbeddedMps:
    """A running embedded fake MPS: its `url`, its `backend`, and the fake COS backend it is wired to."""

    url: str
    backend: MpsBackend
    cos: CosBackend


@contextlib.contextmanager
def embedded_mps(
    fresh: bool = False, rate_limit: float | None = 20, cos: CosBackend | None = None, settled: bool = False
) -> Iterator[EmbeddedMps]:
    """Start the fake MPS on a free loopback port and point the function's environment at it.

    It is wired to `cos` (a fake COS backend; default: a new, empty one). `settled`: the fake's
    clock runs a task's whole duration (waiting + processing) ahead of real time, so every task
    already created reads FINISH with its own outcome and FinishTime.
    """
    from fakes.cos import CosBackend
    from fakes.harness import start_mps
    from fakes.identities import MPS_ROLE
    from fakes.mps.backend import PROCESSING_SECONDS, WAITING_SECONDS

    wired = cos if cos is not None else CosBackend()
    extra: dict[str, Any] = {}
    if settled:
        # report asks after the fact: without this a report run straight after replay would show
        # the newest tasks pending (they take 3 s) and the demo's failure not at all.
        ahead = WAITING_SECONDS + PROCESSING_SECONDS
        extra["clock"] = lambda: time.time() + ahead
    # A random seed: TaskIds must not repeat across runs that share the state file.
    seed = int.from_bytes(os.urandom(8), "big")
    mps = start_mps(MPS_ROLE, cos=wired, rate_limit_per_second=rate_limit, seed=seed, **extra)
    path = state_file()
    if not fresh:
        load_state(mps.backend, path)
    with mps, patched_environ({"MPS_ENDPOINT": mps.url, **MPS_ROLE.environ()}):
        try:
            yield EmbeddedMps(mps.url, mps.backend, wired)
        finally:
            # This COS ends with the command: the tasks run now, each output with bytes is kept
            # as a file for `status`, and each task still reports its own FinishTime.
            mps.backend.run_pending_tasks()
            save_outputs(wired, mps.backend.output_objects())
            save_state(mps.backend, path)


@contextlib.contextmanager
def embedded_cos(bucket: str, region: str, prefix: str, demo_objects: int) -> Iterator[Any]:
    """A fake COS on a free loopback port holding `bucket`, seeded with demo objects: the running
    FakeCos (`url`, `backend`, to wire the embedded MPS to).

    It accepts `fakes.identities.COS_ROLE`'s keys.
    """
    from fakes.harness import start_cos
    from fakes.identities import COS_ROLE

    cos = start_cos(COS_ROLE, bucket=bucket, region=region)
    seed_demo_bucket(cos.backend, bucket, prefix, demo_objects)
    seed_from_files(cos.backend, bucket, prefix)  # the photos generate-event --file put there
    with cos:
        yield cos


# An event without a size says nothing of the object's size; the function submitted it, so the
# mirror holds a non-empty object (an empty one would fail as "not an image").
UNKNOWN_SIZE = 1


def mirror_event(cos: CosBackend, event: Any, config: Settings) -> None:
    """Make the fake COS hold what `event`'s records say the bucket held when COS delivered it.

    In record order: `cos:ObjectCreated:*` puts the object (key, size, ETag, Content-Type,
    x-cos-meta-* and storage class from cosObject.meta), `cos:ObjectRemove:*` deletes it.
    Buckets are created as records name them, in the record's region, and so are the
    configured output buckets (OUTPUT_BUCKET, a rule's), which a deployment has. A record the
    function cannot parse, or that COS could not hold, is left to the function to report.
    """
    from fakes.cos import CosError
    from fakes.cos.store import STORAGE_CLASSES
    from handler.cos_event import CosUploadRecord, parse_records
    from handler.errors import MalformedEventError

    try:
        records = parse_records(event, event_region(event), config.region_codes)
    except MalformedEventError:
        return
    raw = event["Records"]
    for record in records:
        if not isinstance(record, CosUploadRecord):
            continue
        if record.event_name.startswith("cos:ObjectRemove:"):
            with contextlib.suppress(CosError):  # no such bucket: nothing to remove
                cos.delete_object(record.bucket, record.key)
            continue
        if not record.is_object_created:
            continue
        for bucket, region in [(record.bucket, record.region)] + [
            (s.output_bucket, s.output_region or record.region) for s in config.every_output() if s.output_bucket
        ]:
            _ensure_bucket(cos, bucket, region)
        meta = raw[record.position]["cos"]["cosObject"].get("meta") or {}
        storage_class = str(meta.get("x-cos-storage-class") or "STANDARD").upper()
        body = stored_body(record.bucket, record.key, record.etag)  # a photo generate-event --file kept
        with contextlib.suppress(KeyError, ValueError):  # a bucket COS would not create, a key it refuses
            cos.put_object(
                record.bucket,
                record.key,
                body or b"",
                size=len(body) if body else UNKNOWN_SIZE if record.size is None else record.size,
                content_type=record.content_type or "application/octet-stream",
                etag=record.etag.strip('"') or None,
                metadata=dict(record.metadata),
                storage_class=storage_class if storage_class in STORAGE_CLASSES else "STANDARD",
            )


def _ensure_bucket(cos: CosBackend, bucket: str, region: str) -> None:
    from fakes.cos import CosError

    try:
        cos.head_bucket(bucket)
    except CosError:
        with contextlib.suppress(ValueError):  # not a name or region COS takes: the task fails as in COS
            cos.create_bucket(bucket, region)
