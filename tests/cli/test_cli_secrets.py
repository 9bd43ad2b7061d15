"""Canary secrets through the command line: the role's secret key and session token, and the
uploader's Authorization header, never appear in the CLI's stdout or stderr.

`autoenhance` runs as a user types it, against a fake MPS that accepts the canary credentials
and answers with errors that echo them (the function's own paths: tests/function/test_secrets.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from canaries import CANARY_ROLE, ECHO, assert_no_secret, canary_event
from repo import autoenhance, user_env

from fakes.mps import Fault


@pytest.fixture
def canary_mps(make_fake_mps):
    """A fake MPS whose execution role is the canary (so calls really get through)."""
    return make_fake_mps(identity=CANARY_ROLE, rate_limit_per_second=None)


@pytest.fixture
def cli_env(canary_mps, tmp_path) -> dict[str, str]:
    """The CLI's environment: no inherited credentials or configuration, the canary role keys."""
    return {**user_env(tmp_path), **canary_mps.function_env()}


@pytest.fixture
def event_file(tmp_path) -> Path:
    path = tmp_path / "canary.json"
    path.write_text(json.dumps(canary_event("uploads/a.jpg", "uploads/b.jpg", "uploads/c.jpg")), encoding="utf-8")
    return path


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
def test_cli_live_replay_leaks_nothing(canary_mps, cli_env, event_file, mode):
    """`autoenhance replay --live` against the fake: MPS echoes the secrets in a retried and a fatal error."""
    canary_mps.backend.inject(Fault.error("InternalError", ECHO), times=1)
    canary_mps.backend.inject(Fault.error("InvalidParameter", ECHO), times=1)
    r = autoenhance(cli_env, "replay", str(event_file), "--live", *mode)
    assert r.returncode == 1, r.stderr  # one record failed permanently
    assert len(canary_mps.backend.tasks) == 2
    assert "echo key=***" in r.stdout + r.stderr  # the echo reached the output, redacted
    assert_no_secret(r.stdout, "the CLI's stdout")
    assert_no_secret(r.stderr, "the CLI's stderr")


def test_cli_dry_run_leaks_nothing(cli_env, event_file):
    """`autoenhance replay --dry-run` prints whole requests: never the credentials or the header."""
    r = autoenhance(cli_env, "replay", str(event_file), "--dry-run")
    assert r.returncode == 0 and "ProcessImage" in r.stdout, r.stderr
    assert_no_secret(r.stdout, "the CLI's stdout")
    assert_no_secret(r.stderr, "the CLI's stderr")


def test_cli_configuration_error_leaks_nothing(cli_env, event_file):
    """A secret pasted into OUTPUT_BUCKET: `check-config` and `replay --live` refuse it without showing it."""
    env = {**cli_env, "OUTPUT_BUCKET": CANARY_ROLE.secret_key}
    for args in (["check-config"], ["replay", str(event_file), "--live"]):
        r = autoenhance(env, *args)
        assert r.returncode == 2 and "OUTPUT_BUCKET" in r.stderr, r.stderr
        assert_no_secret(r.stdout, f"`autoenhance {args[0]}` stdout")
        assert_no_secret(r.stderr, f"`autoenhance {args[0]}` stderr")
