"""The embedded fake cloud: the fake MPS and fake COS, started in-process on loopback ports.

Without `--live`, commands run against these instead of Tencent Cloud: no credentials or
network needed. The fakes accept only the fake keys of `fakes/identities.py`, which
`embedded_mps` puts in the environment where the function reads its execution role's keys.

The fake MPS keeps its tasks and SessionIds in a small state file between runs, so
`autoenhance replay` followed by `autoenhance status TASK_ID` works, and replaying the same
event twice shows MPS's SessionId de-duplication, as it would in the cloud.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .demo_bucket import seed_demo_bucket
from .scf import patched_environ


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
    tasks = [
        {
            "task_id": t.task_id,
            "session_id": t.session_id,
            "params": t.params,
            "created_at": t.created_at,
            "secret_id": t.secret_id,
            "region": t.region,
        }
        for t in backend.tasks
    ]
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


@contextlib.contextmanager
def embedded_mps(fresh: bool = False, rate_limit: float | None = 20) -> Iterator[Any]:
    """Start the fake MPS on a free loopback port and point the function's environment at it."""
    from fakes.harness import start_mps
    from fakes.identities import MPS_ROLE

    # A random seed: TaskIds must not repeat across runs that share the state file.
    mps = start_mps(MPS_ROLE, rate_limit_per_second=rate_limit, seed=int.from_bytes(os.urandom(8), "big"))
    path = state_file()
    if not fresh:
        load_state(mps.backend, path)
    with mps, patched_environ({"MPS_ENDPOINT": mps.url, **MPS_ROLE.environ()}):
        try:
            yield mps.server
        finally:
            save_state(mps.backend, path)


@contextlib.contextmanager
def embedded_cos(bucket: str, region: str, prefix: str, demo_objects: int) -> Iterator[Any]:
    """A fake COS on a free loopback port holding `bucket`, seeded with demo objects.

    It accepts `fakes.identities.COS_ROLE`'s keys.
    """
    from fakes.harness import start_cos
    from fakes.identities import COS_ROLE

    cos = start_cos(COS_ROLE, bucket=bucket, region=region)
    seed_demo_bucket(cos.backend, bucket, prefix, demo_objects)
    with cos:
        yield cos.server
