"""The keys a fake accepts, so each service's signature check asks one registry the same question.

Each service keeps its own signature algorithm (fakes/tc3.py, fakes/cos/signature.py) and its
own error codes; what is common is the lookup and the rule for session tokens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Credential:
    secret_key: str
    token: str | None  # set for temporary keys (an SCF execution role's)

    def accepts_token(self, sent: str) -> bool:
        """A temporary SecretId is valid only with its own token; a permanent one takes none."""
        return (self.token or "") == sent


class Credentials:
    """SecretId -> Credential."""

    def __init__(self) -> None:
        self._by_id: dict[str, Credential] = {}
        self._lock = threading.Lock()

    def add(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        with self._lock:
            self._by_id[secret_id] = Credential(secret_key, token)

    def get(self, secret_id: str) -> Credential | None:
        with self._lock:
            return self._by_id.get(secret_id)

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()
