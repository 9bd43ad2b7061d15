"""The tools explain the rules: check-config's rule table and --explain, generate-event --meta, replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo import EVENTS, with_rules
from repo import autoenhance as run


@pytest.fixture
def rules_env(env):
    """The user's project with the fixture rules (the shipped example's) switched on in serverless.yml."""
    with_rules(Path(env["AUTOENHANCE_PROJECT_DIR"]))
    return env


def test_check_config_prints_the_rule_table(rules_env):
    r = run(rules_env, "check-config")
    assert r.returncode == 0, r.stderr
    assert "1. avatars: prefix uploads/avatars/ -> " in r.stdout
    assert "2. large-product-shots: prefix uploads/products/, size >= 4000000 -> skip (already large" in r.stdout
    assert "4. print-quality: x-cos-meta-purpose=print -> " in r.stdout
    assert "no match -> the task above" in r.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["uploads/avatars/me.jpg"],
            ["rule: avatars", '"Format": "WebP"', '"OutputDir": "/enhanced/avatars/uploads/avatars/"'],
        ),
        (
            ["uploads/products/big.jpg", "--size", "5000000"],
            ["rule: large-product-shots", "skipped: rule large-product-shots: already large"],
        ),
        (["uploads/x.jpg", "--meta", "purpose=print"], ["rule: print-quality", '"Format": "PNG"']),
        (["uploads/x.jpg"], ["rule: None", '"Quality": 75']),
        (["uploads/avatars/me.jpg", "--meta", "autoenhance=skip"], ["skipped: the uploader opted out"]),
        (["uploads/avatars/me.jpg", "--meta", "autoenhance=products"], ["rule: products", '"Quality": 90']),
    ],
)
def test_explain_says_which_rule_a_key_hits_and_shows_the_request(rules_env, args, expected):
    r = run(rules_env, "check-config", "--explain", *args)
    assert r.returncode == 0, r.stderr
    for text in expected:
        assert text in r.stdout


def test_explain_with_an_unknown_rule_name_fails(rules_env):
    r = run(rules_env, "check-config", "--explain", "uploads/a.jpg", "--meta", "autoenhance=nope")
    assert r.returncode == 1 and "failed: UnknownRule" in r.stdout and "avatars, large-product-shots" in r.stdout


def test_a_bad_meta_option_is_a_usage_error(env):
    r = run(
        env,
        "generate-event",
        "--bucket",
        "photos-1250000000",
        "--region",
        "ap-guangzhou",
        "--key",
        "a.jpg",
        "--meta",
        "novalue",
    )
    assert r.returncode == 2 and "--meta 'novalue': must be NAME=VALUE" in r.stderr


def test_generate_event_meta_then_replay_opts_the_upload_out(env, tmp_path):
    out = tmp_path / "e.json"
    gen = ("generate-event", "--bucket", "photos-1250000000", "--region", "ap-guangzhou", "--key", "uploads/a.jpg")
    assert run(env, *gen, "--meta", "autoenhance=skip", "--out", str(out)).returncode == 0
    assert json.loads(out.read_text())["Records"][0]["cos"]["cosObject"]["meta"]["x-cos-meta-autoenhance"] == "skip"
    r = run(env, "replay", str(out), "--json")
    [result] = json.loads(r.stdout)["results"]
    assert result["outcome"] == "skipped" and "opted out" in result["reason"]


def test_the_sample_rule_events_replay_through_the_rules(rules_env):
    r = run(rules_env, "replay", str(EVENTS / "avatar-upload.json"), str(EVENTS / "product-shot.json"), "--json")
    assert r.returncode == 0, r.stderr
    rules = [json.loads(line)["results"][0]["rule"] for line in r.stdout.splitlines()]
    assert rules == ["avatars", "products"]  # the folder rule comes before the metadata rule
