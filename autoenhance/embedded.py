"""Run the function the way SCF would, against the embedded fake MPS or the real endpoint.

The embedded fake keeps its tasks and SessionIds in a small state file between runs, so
`autoenhance replay` followed by `autoenhance status TASK_ID` works, and replaying the same
event twice shows MPS's SessionId de-duplication, as it would in the cloud.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# Test credentials for the embedded fake: they sign requests for real, but only the fake
# (which is told them) accepts them.
FAKE_SECRET_ID = "FAKEIDautoenhanceLocalFake0000000000"
FAKE_SECRET_KEY = "autoenhanceLocalFakeSecretKey000"
FAKE_TOKEN = "autoenhance-local-fake-session-token"

DEFAULT_REGION = "ap-guangzhou"
FUNCTION_NAME = "mps-autoenhance"
TIME_LIMIT_MS = 60_000  # serverless.yml's timeout
MEMORY_MB = 128


class MissingCredentialsError(RuntimeError):
    pass


def state_file() -> Path:
    root = os.environ.get("AUTOENHANCE_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "autoenhance"
    )
    return Path(root) / "fake-mps-state.json"


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
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def embedded_mps(fresh: bool = False, rate_limit: float | None = 20) -> Iterator[Any]:
    """Start the fake MPS on a free loopback port and point the function's environment at it."""
    from fakes.mps import FakeMpsServer, MpsBackend

    # A random seed: TaskIds must not repeat across runs that share the state file.
    backend = MpsBackend(rate_limit_per_second=rate_limit, seed=int.from_bytes(os.urandom(8), "big"))
    backend.add_credential(FAKE_SECRET_ID, FAKE_SECRET_KEY, FAKE_TOKEN)
    path = state_file()
    if not fresh:
        load_state(backend, path)
    with FakeMpsServer(backend) as server:
        env = {
            "MPS_ENDPOINT": server.url,
            "TENCENTCLOUD_SECRETID": FAKE_SECRET_ID,
            "TENCENTCLOUD_SECRETKEY": FAKE_SECRET_KEY,
            "TENCENTCLOUD_SESSIONTOKEN": FAKE_TOKEN,
        }
        with patched_environ(env):
            try:
                yield server
            finally:
                save_state(backend, path)


def require_live_credentials() -> None:
    missing = [n for n in ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY") if not os.environ.get(n, "").strip()]
    if missing:
        raise MissingCredentialsError(
            f"--live needs credentials in the environment: {' and '.join(missing)} not set "
            "(the names SCF uses; add TENCENTCLOUD_SESSIONTOKEN for temporary keys)"
        )


def event_region(event: Any) -> str:
    """The first record's full region, so the context looks like the function's own region."""
    try:
        bucket = event["Records"][0]["cos"]["cosBucket"]
        region = bucket.get("cosRegion") or ""
        if region:
            return str(region)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return os.environ.get("TENCENTCLOUD_REGION") or DEFAULT_REGION


def scf_context(event: Any) -> dict[str, Any]:
    """A context dict shaped like the one SCF passes to Python functions (tencent-spec.md §6.2)."""
    appid = "1250000000"
    with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
        appid = str(event["Records"][0]["cos"]["cosBucket"]["appid"])
    return {
        "memory_limit_in_mb": MEMORY_MB,
        "time_limit_in_ms": TIME_LIMIT_MS,
        "request_id": str(uuid.uuid4()),
        "environment": json.dumps({"SCF_NAMESPACE": "default"}),
        "environ": "SCF_NAMESPACE=default;SCF_NAMESPACE=default",
        "function_version": "$LATEST",
        "function_name": FUNCTION_NAME,
        "namespace": "default",
        "tencentcloud_region": event_region(event),
        "tencentcloud_appid": appid,
        "tencentcloud_uin": "100000000001",
    }


FAKE_COS_SECRET_ID = "FAKEIDautoenhanceLocalFakeCos000000"
FAKE_COS_SECRET_KEY = "autoenhanceLocalFakeCosSecretKey0"


def seed_demo_bucket(backend: Any, bucket: str, prefix: str, count: int) -> None:
    """A bucket that looks lived-in: images, a few non-images, and some already enhanced."""
    for i in range(count):
        kind = i % 10
        if kind == 7:
            key = f"{prefix}docs/report-{i:04d}.pdf"
        elif kind == 8:
            key = f"{prefix}albums/{i // 10:03d}/"
        else:
            key = f"{prefix}albums/{i // 10:03d}/photo {i:04d}.{'png' if kind == 3 else 'jpg'}"
        backend.put_object(bucket, key, size=0 if key.endswith("/") else 200_000 + i)
        if kind == 5:  # this one was enhanced already: its output exists
            backend.put_object(bucket, f"enhanced/{key.rsplit('/', 1)[0]}/photo {i:04d}.jpeg", size=150_000)


@contextlib.contextmanager
def embedded_cos(bucket: str, region: str, prefix: str, demo_objects: int) -> Iterator[Any]:
    """A fake COS on a free loopback port holding `bucket`, seeded with demo objects."""
    from fakes.cos import CosBackend, FakeCosServer

    backend = CosBackend()
    backend.create_bucket(bucket, region)
    backend.add_credential(FAKE_COS_SECRET_ID, FAKE_COS_SECRET_KEY)
    seed_demo_bucket(backend, bucket, prefix, demo_objects)
    with FakeCosServer(backend) as server:
        yield server
