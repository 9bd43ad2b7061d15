"""fakes/harness.py itself: the one wiring of the function to the fakes that tests and benchmarks share."""

from __future__ import annotations

import pytest
import requests
from clocks import VirtualClock
from repo import load_event

from fakes.cos import CosBackend
from fakes.harness import CONTEXT, WarmContainer, function_env, start_cos, start_mps
from fakes.identities import COS_ROLE, MPS_ROLE, OPERATOR
from fakes.mps import FakeClock, Fault
from handler.errors import ConfigurationError


def test_function_env_is_what_scf_injects_plus_configuration():
    env = function_env("http://127.0.0.1:1", OUTPUT_DIR="/out/")
    assert env == {
        "MPS_ENDPOINT": "http://127.0.0.1:1",
        "TENCENTCLOUD_SECRETID": MPS_ROLE.secret_id,
        "TENCENTCLOUD_SECRETKEY": MPS_ROLE.secret_key,
        "TENCENTCLOUD_SESSIONTOKEN": MPS_ROLE.token,
        "TENCENTCLOUD_REGION": "ap-guangzhou",
        "OUTPUT_DIR": "/out/",
    }
    # Long-lived keys carry no token; None removes a variable.
    assert "TENCENTCLOUD_SESSIONTOKEN" not in function_env("http://127.0.0.1:1", OPERATOR)
    assert "TENCENTCLOUD_SECRETID" not in function_env("http://127.0.0.1:1", TENCENTCLOUD_SECRETID=None)


def test_a_running_fake_accepts_its_identity_and_stops_at_the_end_of_its_block():
    with start_mps(OPERATOR, rate_limit_per_second=None) as mps:
        container = WarmContainer(mps)  # a FakeMps: its identity's keys
        assert container.environ["TENCENTCLOUD_SECRETID"] == OPERATOR.secret_id
        assert container.invoke(load_event("put.json"))["submitted"] == 1
        assert [t.secret_id for t in mps.backend.tasks] == [OPERATOR.secret_id]
    with pytest.raises(requests.ConnectionError):
        requests.get(mps.url, timeout=2)
    with start_cos() as cos:
        assert cos.identity == COS_ROLE
        cos.client().head_bucket(Bucket=cos.bucket)  # the bucket exists, the keys are accepted


def test_a_container_on_a_url_uses_the_execution_role(fake_mps):
    container = WarmContainer(fake_mps.url)
    assert container.invoke(load_event("put.json"))["submitted"] == 1
    assert [t.secret_id for t in fake_mps.backend.tasks] == [MPS_ROLE.secret_id]
    assert [line["outcome"] for line in container.records_logged()] == ["submitted"]
    assert container.lines()[-1]["scf_request_id"] == CONTEXT["request_id"]


def test_outcome_returns_the_documented_errors_and_invoke_raises_them(make_container):
    refused = make_container(env={"OUTPUT_DIR": "/"})
    summary, error = refused.outcome(load_event("put.json"))
    assert summary == {} and isinstance(error, ConfigurationError)
    with pytest.raises(ConfigurationError):
        refused.invoke(load_event("put.json"))


def test_sleeps_are_recorded_and_go_to_the_injected_clock(fake_mps):
    clock = VirtualClock()
    container = WarmContainer(fake_mps, clock=clock)
    fake_mps.backend.inject(Fault.error("InternalError"), times=1)
    started = clock.now
    assert container.invoke(load_event("put.json"))["results"][0]["attempts"] == 2
    assert container.sleeps and clock.now - started == pytest.approx(sum(container.sleeps))  # no real time


def test_the_container_fixture_runs_against_the_fake_mps_fixture(container, fake_mps):
    assert container.invoke(load_event("put.json"), limit_ms=10_000)["submitted"] == 1
    assert len(fake_mps.backend.tasks) == 1


def test_start_mps_wires_a_running_fake_cos_or_a_bare_backend(fake_cos):
    with start_mps(cos=fake_cos, clock=FakeClock()) as mps:
        assert mps.backend.cos is fake_cos.backend
    bare = CosBackend()
    with start_mps(cos=bare, clock=FakeClock()) as mps:
        assert mps.backend.cos is bare
    with start_mps(clock=FakeClock()) as mps:
        assert mps.backend.cos is None
