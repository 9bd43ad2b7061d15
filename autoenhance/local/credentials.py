"""The keys the CLI signs its own MPS and COS calls with, and the `--live` check.

Read only through `handler.credentials.read_credentials`, as the function reads them (trimmed,
so a key pasted with a line ending still works). Without `--live` the embedded fake has put its
own keys in the environment (see `fake_cloud`); with `--live` they are the operator's.
"""

from __future__ import annotations

import os

from handler.credentials import SECRET_ID, SECRET_KEY, Credentials, read_credentials

# The names .env (and the Serverless Framework) give the deploy keys.
DEPLOY_SECRET_ID, DEPLOY_SECRET_KEY = "TENCENT_SECRET_ID", "TENCENT_SECRET_KEY"


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
            "(the names SCF uses; add TENCENTCLOUD_SESSIONTOKEN for temporary keys)" + _deploy_keys_hint()
        )
    return credentials


def _deploy_keys_hint() -> str:
    # .env names the Serverless Framework's deploy keys TENCENT_SECRET_ID/TENCENT_SECRET_KEY; a user
    # who sourced it has keys, just under the other names. Only whether they are set is read here.
    if not os.environ.get(DEPLOY_SECRET_ID, "").strip():
        return ""
    return (
        f". {DEPLOY_SECRET_ID}/{DEPLOY_SECRET_KEY} are set: those are the Serverless Framework's deploy keys "
        f"(.env), which the CLI does not read; to use the same keys, export {SECRET_ID}=${DEPLOY_SECRET_ID} "
        f"{SECRET_KEY}=${DEPLOY_SECRET_KEY} (they need mps:ProcessImage)"
    )
