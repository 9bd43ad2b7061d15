"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from fakes.mps import FakeClock, FakeMpsServer, MpsBackend

# ---- fake MPS (fakes/mps): a real HTTP server the official SDK talks to ------------------------

FAKE_SECRET_ID = "AKIDtestFakeMps00000000000000000000"
FAKE_SECRET_KEY = "testFakeMpsSecretKey000000000000"
FAKE_TOKEN = "test-fake-mps-session-token"  # temporary credentials, like an SCF execution role's


@dataclass
class FakeMps:
    """A running fake MPS: `backend` for state and faults, `server` for the wire, `clock` for time."""

    backend: MpsBackend
    server: FakeMpsServer
    clock: FakeClock
    credential: Credential

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host(self) -> str:
        return self.server.host

    def client(
        self,
        credential: Credential | None = None,
        region: str = "ap-guangzhou",
        timeout: float = 10,
        version: str = "2019-06-12",
    ) -> CommonClient:
        """A fresh official-SDK client (its own keep-alive connection) pointed at this fake."""
        http = HttpProfile(protocol="http", endpoint=self.host, reqTimeout=timeout)
        return CommonClient("mps", version, credential or self.credential, region, ClientProfile(httpProfile=http))


@pytest.fixture
def make_fake_mps() -> Iterator[Callable[..., FakeMps]]:
    """Factory: make_fake_mps(**MpsBackend kwargs) -> FakeMps; stopped at teardown.

    The fake's clock is a FakeClock unless `clock=` is given; the fixture credential (with a
    token) is registered.
    """
    started: list[FakeMps] = []

    def make(**backend_kwargs: Any) -> FakeMps:
        clock = backend_kwargs.setdefault("clock", FakeClock())
        backend = MpsBackend(**backend_kwargs)
        backend.add_credential(FAKE_SECRET_ID, FAKE_SECRET_KEY, FAKE_TOKEN)
        fake = FakeMps(
            backend, FakeMpsServer(backend).start(), clock, Credential(FAKE_SECRET_ID, FAKE_SECRET_KEY, FAKE_TOKEN)
        )
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.server.stop()


@pytest.fixture
def fake_mps(make_fake_mps: Callable[..., FakeMps]) -> FakeMps:
    """A running fake MPS with no rate limit (tests of the limit use make_fake_mps)."""
    return make_fake_mps(rate_limit_per_second=None)


# ---- (other fixtures below) --------------------------------------------------------------------
