"""The keys every MPS call is signed with, read from the environment (no SDK import here).

SCF injects the execution role's temporary keys as TENCENTCLOUD_SECRETID,
TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN (no underscore inside the names) and
rotates them while a container lives, so they are read per invocation and re-read when MPS
says the token expired (each call then retries once if the keys differ from the ones it was
signed with: handler/submit.py). The CLI reads an operator's keys the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

SECRET_ID = "TENCENTCLOUD_SECRETID"
SECRET_KEY = "TENCENTCLOUD_SECRETKEY"
SESSION_TOKEN = "TENCENTCLOUD_SESSIONTOKEN"


class Credentials(NamedTuple):
    secret_id: str
    secret_key: str
    token: str | None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values no log line may show (the id is an identifier, not a secret)."""
        return (self.secret_key, self.token or "")


def read_credentials(env: Mapping[str, str]) -> Credentials | None:
    """The keys in `env`, or None when the id or the key is missing."""
    secret_id, secret_key = env.get(SECRET_ID, "").strip(), env.get(SECRET_KEY, "").strip()
    if not secret_id or not secret_key:
        return None
    # Trimmed alike: a stray line ending (a token pasted from a CRLF file) would make an invalid header.
    token = env.get(SESSION_TOKEN, "").strip()
    return Credentials(secret_id, secret_key, token or None)


class CredentialProvider:
    """Reads the keys from one environment mapping; `refresh` re-reads them after a token expiry."""

    def __init__(self, env: Mapping[str, str]):
        self._env = env
        self.current = read_credentials(env)

    def refresh(self) -> bool:
        """Re-read the environment; True when it holds different keys than the previous read.

        Only the first of several callers learns of one rotation here: whether a refused call is
        worth a retry is decided against the keys it was signed with, not by this answer.
        """
        fresh = read_credentials(self._env)
        if fresh is None or fresh == self.current:
            return False
        self.current = fresh
        return True


NO_CREDENTIALS_MESSAGE = (
    f"{SECRET_ID}/{SECRET_KEY} are not set: bind an execution role to the "
    "function (role: in serverless.yml) so SCF injects temporary credentials"
)
