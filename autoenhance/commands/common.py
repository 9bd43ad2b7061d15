"""What more than one command needs: exit codes, the usage error, the configuration, bucket checks.

Kept out of `cli.py` so that the command modules can import it without importing the parser
that imports them.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from handler.config import Settings, load_settings

if TYPE_CHECKING:
    from ..deploy_config import FunctionEnvironment

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


def function_environment() -> dict[str, str]:
    """The environment variables the deployed function will see (its configuration among them).

    Every local command reads the function's configuration through this, never os.environ directly.
    """
    return deployment().variables


def settings() -> Settings:
    """The configuration, loaded exactly as the function loads it (from serverless.yml, see `deployment`).

    A bad one raises `ConfigurationError` (exit code 2): call this before sending anything.
    """
    env = deployment()
    return load_settings(env.variables, base_dir=str(env.root), watched_bucket=env.watched_bucket)


def full_region_of_bucket(bucket: str, region: str) -> str:
    """Check `bucket` is NAME-APPID and `region` a COS region (full or short code); the full region."""
    from handler.regions import RegionError, full_region_for

    from ..cos_events import split_bucket

    try:
        split_bucket(bucket)
        return full_region_for(region)
    except (ValueError, RegionError) as exc:
        raise UsageError(str(exc)) from None
