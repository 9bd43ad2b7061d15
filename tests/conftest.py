"""Shared pytest fixtures: the fakes running on loopback ports, and the function in a warm container.

The wiring itself is fakes/harness.py (the benchmarks use it too); these only start and stop it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, TypeVar

import pytest

from fakes.harness import FakeCos, FakeMps, WarmContainer, start_cos, start_mps
from fakes.identities import MPS_ROLE, FakeIdentity
from fakes.mps import FakeClock

F = TypeVar("F", FakeMps, FakeCos)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shipped_example: checks the shipped top-level example (serverless.yml, .env.example, rules.example.json, "
        "events/), not the code; a user's own configuration replaces it (tests/test_user_copy.py leaves these out)",
    )
    config.addinivalue_line(
        "markers",
        "needs_node: runs the pinned deploy toolkit with Node.js and npm (dev.py test says when they are missing)",
    )


def _stopped_at_teardown(start: Callable[..., F]) -> Iterator[Callable[..., F]]:
    """A fixture's factory: each fake `start` returns is stopped when the test ends."""
    started: list[F] = []

    def make(*args: Any, **kwargs: Any) -> F:
        started.append(start(*args, **kwargs))
        return started[-1]

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def make_fake_mps() -> Iterator[Callable[..., FakeMps]]:
    """Factory: make_fake_mps(identity=MPS_ROLE, **MpsBackend kwargs) -> FakeMps; stopped at teardown.

    The fake's clock is a FakeClock unless `clock=` is given; `identity` (with a token, as an
    execution role's keys) is registered.
    """

    def start(identity: FakeIdentity = MPS_ROLE, **backend_kwargs: Any) -> FakeMps:
        return start_mps(identity, **{"clock": FakeClock(), **backend_kwargs})

    yield from _stopped_at_teardown(start)


@pytest.fixture
def fake_mps(make_fake_mps: Callable[..., FakeMps]) -> FakeMps:
    """A running fake MPS with no rate limit (tests of the limit use make_fake_mps)."""
    return make_fake_mps(rate_limit_per_second=None)


@pytest.fixture
def make_fake_cos() -> Iterator[Callable[..., FakeCos]]:
    """Factory: make_fake_cos(identity=COS_ROLE, **CosBackend kwargs) -> FakeCos; stopped at teardown.

    Its bucket (fakes.harness.BUCKET, in ap-guangzhou) exists and `identity` is registered.
    """
    yield from _stopped_at_teardown(start_cos)


@pytest.fixture
def fake_cos(make_fake_cos: Callable[..., FakeCos]) -> FakeCos:
    """A running fake COS with no added latency."""
    return make_fake_cos()


@pytest.fixture
def make_container(request: pytest.FixtureRequest) -> Callable[..., WarmContainer]:
    """Factory: make_container(mps=fake_mps, env=None, **WarmContainer keywords) -> a warm container.

    Without `mps`, it runs against the `fake_mps` fixture (started only when asked for).
    """

    def make(
        mps: FakeMps | str | None = None, env: dict[str, str | None] | None = None, **kwargs: Any
    ) -> WarmContainer:
        return WarmContainer(mps if mps is not None else request.getfixturevalue("fake_mps"), env, **kwargs)

    return make


@pytest.fixture
def container(make_container: Callable[..., WarmContainer]) -> WarmContainer:
    """One warm container wired to `fake_mps`, its log captured."""
    return make_container()
