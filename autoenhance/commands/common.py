"""What more than one command needs: exit codes, the usage error, the configuration, bucket checks.

Kept out of `cli.py` so that the command modules can import it without importing the parser
that imports them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from handler.config import Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class UsageError(Exception):
    """Arguments that cannot work: printed as `autoenhance COMMAND: message`, exit code 2."""


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


def function_environment() -> dict[str, str]:
    """The environment variables the deployed function will see (its configuration among them).

    Every local command reads the function's configuration through this, never os.environ directly.
    """
    return dict(os.environ)


def settings() -> Settings:
    """The configuration, loaded exactly as the function loads it.

    A bad one raises `ConfigurationError` (exit code 2): call this before sending anything.
    """
    return load_settings(function_environment())


def full_region_of_bucket(bucket: str, region: str) -> str:
    """Check `bucket` is NAME-APPID and `region` a COS region (full or short code); the full region."""
    from handler.regions import RegionError, full_region_for

    from ..cos_events import split_bucket

    try:
        split_bucket(bucket)
        return full_region_for(region)
    except (ValueError, RegionError) as exc:
        raise UsageError(str(exc)) from None
