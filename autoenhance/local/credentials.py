"""The keys the CLI signs its own MPS and COS calls with, and the `--live` check.

Read only through `handler.credentials.read_credentials`, as the function reads them (trimmed,
so a key pasted with a line ending still works). Without `--live` the embedded fake has put its
own keys in the environment (see `fake_cloud`); with `--live` they are the operator's.
"""

from __future__ import annotations

import os

from handler.credentials import SECRET_ID, SECRET_KEY, Credentials, read_credentials


class MissingCredentialsError(RuntimeError):
    """No usable keys in the environment (a usage error: exit code 2)."""


def environment_credentials() -> Credentials:
    """The keys in the environment now: the operator's, or the embedded fake's while it runs."""
    credentials = read_credentials(os.environ)
    if credentials is None:
        raise MissingCredentialsError(f"{SECRET_ID}/{SECRET_KEY} are not set")
    return credentials


def require_live_credentials() -> Credentials:
    """The operator's keys for `--live`; refuses, naming what is missing, before anything is sent."""
    credentials = read_credentials(os.environ)
    if credentials is None:
        # Only to name the missing variables in the message: the keys themselves come from read_credentials.
        missing = [name for name in (SECRET_ID, SECRET_KEY) if not os.environ.get(name, "").strip()]
        raise MissingCredentialsError(
            f"--live needs credentials in the environment: {' and '.join(missing)} not set "
            "(the names SCF uses; add TENCENTCLOUD_SESSIONTOKEN for temporary keys)"
        )
    return credentials
