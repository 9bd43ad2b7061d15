"""What more than one command needs: exit codes, the usage error, the configuration, bucket and
output-file checks, --meta headers, and the choice between the embedded fake MPS and the real
one (--live).

Kept out of `cli.py` so that the command modules can import it without importing the parser
that imports them, and so that no command imports another.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from handler.config import Settings, load_settings

if TYPE_CHECKING:
    from fakes.cos import CosBackend

    from ..deploy_config import FunctionEnvironment
    from ..local.fake_cloud import EmbeddedMps

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class UsageError(Exception):
    """Arguments that cannot work: printed as `autoenhance COMMAND: message`, exit code 2."""


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def deployment() -> FunctionEnvironment:
    """serverless.yml's environment for the function, with the shell's values on top, and where each came from.

    Read afresh each time: the embedded fakes put their endpoint and keys in os.environ while they run.
    """
    from ..deploy_config import function_environment as resolve_environment
    from ..deploy_config import load_project

    return resolve_environment(load_project(os.environ), os.environ)


def function_variables() -> dict[str, str]:
    """The environment variables the deployed function will see (its configuration among them).

    Every local command reads the function's configuration through this, never os.environ directly.
    """
    return deployment().variables


def settings() -> Settings:
    """The configuration, loaded exactly as the function loads it (from serverless.yml, see `deployment`).

    A bad one raises `ConfigurationError` (exit code 2): call this before sending anything.
    """
    env = deployment()
    # origins: a refused variable names where it came from (the shell, .env or serverless.yml).
    return load_settings(env.variables, base_dir=str(env.root), watched_bucket=env.watched_bucket, origins=env.sources)


def mps_region(config: Settings) -> str:
    """The region of the CLI's own MPS calls that concern no one bucket (a task's detail, usage).

    MPS_REGION when the configuration sets it, else the function's region as the shell names it
    (TENCENTCLOUD_REGION), else the region `replay` gives the function when nothing names one.
    """
    from ..local.scf import DEFAULT_REGION

    return config.mps_region_for(os.environ.get("TENCENTCLOUD_REGION"), DEFAULT_REGION)


def full_region_of_bucket(bucket: str, region: str) -> str:
    """Check `bucket` is NAME-APPID and `region` a COS region (full or short code); the full region."""
    from handler.errors import RegionError
    from handler.regions import full_region_for, region_slip

    from ..sample_events import split_bucket

    try:
        split_bucket(bucket)
        full = full_region_for(region)
    except (ValueError, RegionError) as exc:
        raise UsageError(str(exc)) from None
    slip = region_slip(full)
    if slip:  # a well-formed region that is not listed is accepted: it may be newer than the list
        raise UsageError(f"--region {region!r}: not a region COS documents; did you mean {slip!r}?")
    return full


def require_writable(option: str, path: str) -> None:
    """Refuse, before anything is listed or sent, an output file that cannot be created."""
    from pathlib import Path

    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {path}: cannot write: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: cannot write: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot write: permission denied")


def meta_headers(pairs: list[str]) -> dict[str, str]:
    """--meta K=V options as x-cos-meta-* headers (K may be given with or without the prefix)."""
    from handler.rules import META_PREFIX

    headers = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--meta {pair!r}: must be NAME=VALUE, e.g. --meta autoenhance=skip")
        name = name.strip().lower()
        headers[name if name.startswith(META_PREFIX) else META_PREFIX + name] = value
    return headers


class MpsTarget(NamedTuple):
    """The MPS a command talks to: the real one (--live) or the embedded fake."""

    name: str  # as summaries end: "live MPS", "embedded fake MPS at http://127.0.0.1:PORT"
    url: str  # its endpoint
    embedded: EmbeddedMps | None  # the running fake (its backend, the fake COS it is wired to); None with --live


@contextlib.contextmanager
def mps_target(
    live: bool, *, fresh: bool = False, settled: bool = False, cos: CosBackend | None = None
) -> Iterator[MpsTarget]:
    """The real MPS with `live`, else the embedded fake MPS for as long as the block runs.

    Either way the configuration is loaded first, so a bad one is refused before anything starts;
    with `live` the operator's keys are required and the endpoint must answer a TCP connection, so a
    missing key or an unreachable endpoint fails in seconds, not after a minute of retries.
    `fresh`, `settled` and `cos` are `embedded_mps`'s, unused with `live`. Read the configuration
    again inside the block: the fake's endpoint and keys are in the environment only there.
    """
    if live:
        from ..local.credentials import require_live_credentials
        from ..local.preflight import require_reachable

        require_live_credentials()
        url = settings().endpoint.url
        require_reachable(url)
        yield MpsTarget("live MPS", url, None)
        return
    from ..local.fake_cloud import embedded_mps

    settings()
    with embedded_mps(fresh=fresh, settled=settled, cos=cos) as mps:
        yield MpsTarget(f"embedded fake MPS at {mps.url}", mps.url, mps)
