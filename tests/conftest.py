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

FAKE_SECRET_ID = "FAKEIDtestFakeMps00000000000000000000"
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

    def function_env(self, region: str = "ap-guangzhou", **extra: str) -> dict[str, str]:
        """What SCF would inject into the function, pointed at this fake: the endpoint and the
        execution role's temporary keys (plus any configuration in `extra`)."""
        c = self.credential
        return {
            "MPS_ENDPOINT": self.url,
            "TENCENTCLOUD_SECRETID": c.secret_id,
            "TENCENTCLOUD_SECRETKEY": c.secret_key,
            "TENCENTCLOUD_SESSIONTOKEN": c.token,
            "TENCENTCLOUD_REGION": region,
            **extra,
        }

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


# ---- fake COS (fakes/cos): a real HTTP server the official COS SDK talks to --------------------
# Imported here rather than at the top so this section stays self-contained.

from qcloud_cos import CosConfig, CosS3Client

from fakes.cos import CosBackend, FakeCosServer

# Distinct from the MPS fake's, so a test can never pass by mixing up the two services' keys.
FAKE_COS_SECRET_ID = "FAKEIDtestFakeCos00000000000000000000"
FAKE_COS_SECRET_KEY = "testFakeCosSecretKey000000000000"
FAKE_COS_TOKEN = "test-fake-cos-session-token"  # temporary credentials, like an SCF execution role's
FAKE_COS_REGION = "ap-guangzhou"
FAKE_COS_BUCKET = "photos-1250000000"


@dataclass(frozen=True)
class CosCredential:
    secret_id: str
    secret_key: str
    token: str | None = None


@dataclass
class FakeCos:
    """A running fake COS: `backend` for state and faults, `server` for the wire; `bucket` exists
    in `region` and `credential` (with a token) is registered."""

    backend: CosBackend
    server: FakeCosServer
    credential: CosCredential
    region: str = FAKE_COS_REGION
    bucket: str = FAKE_COS_BUCKET

    def config(
        self, credential: CosCredential | None = None, region: str | None = None, timeout: float = 10
    ) -> CosConfig:
        """A CosConfig that reaches this fake (IP/Port; the bucket travels in the Host header)."""
        cred = credential or self.credential
        return CosConfig(
            Region=region or self.region,
            IP=self.server.ip,
            Port=self.server.port,
            Scheme="http",
            SecretId=cred.secret_id,
            SecretKey=cred.secret_key,
            Token=cred.token,
            Timeout=timeout,
        )

    def client(
        self,
        retry: int = 1,
        credential: CosCredential | None = None,
        region: str | None = None,
        timeout: float = 10,
    ) -> CosS3Client:
        """An official-SDK client. Pass retry=0 where a retry would hide a fault (the SDK
        retries 5xx and network errors, sleeping 1 s first)."""
        return CosS3Client(self.config(credential, region, timeout), retry=retry)


@pytest.fixture
def make_fake_cos() -> Iterator[Callable[..., FakeCos]]:
    """Factory: make_fake_cos(**CosBackend kwargs) -> FakeCos; stopped at teardown."""
    started: list[FakeCos] = []

    def make(**backend_kwargs: Any) -> FakeCos:
        backend = CosBackend(**backend_kwargs)
        backend.create_bucket(FAKE_COS_BUCKET, FAKE_COS_REGION)
        backend.add_credential(FAKE_COS_SECRET_ID, FAKE_COS_SECRET_KEY, FAKE_COS_TOKEN)
        fake = FakeCos(
            backend,
            FakeCosServer(backend).start(),
            CosCredential(FAKE_COS_SECRET_ID, FAKE_COS_SECRET_KEY, FAKE_COS_TOKEN),
        )
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.server.stop()


@pytest.fixture
def fake_cos(make_fake_cos: Callable[..., FakeCos]) -> FakeCos:
    """A running fake COS with no added latency."""
    return make_fake_cos()
