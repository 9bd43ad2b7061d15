"""`autoenhance replay` handed the wrong file or a hostile one: a clear message, exit 2, no traceback."""

from __future__ import annotations

import json

from repo import autoenhance as run


def test_a_photo_is_named_as_a_photo(env, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02" + bytes(range(128, 256)) * 4)
    r = run(env, "replay", str(photo))
    assert r.returncode == 2, r.stderr
    assert f"{photo}: a JPEG image, not an event file: replay takes COS trigger events as JSON" in r.stderr
    assert "codec" not in r.stderr and "Traceback" not in r.stderr


def test_binary_data_that_is_no_known_format_is_called_binary(env, tmp_path):
    blob = tmp_path / "event.json"
    blob.write_bytes(b"\x00\x01\xfe\xff" * 64)
    r = run(env, "replay", str(blob))
    assert r.returncode == 2 and "binary data, not an event file" in r.stderr


def test_a_dead_letter_message_nesting_its_event_too_deep_is_refused_cleanly(env, tmp_path):
    context = "[" * 100_000 + "]" * 100_000
    envelope = {"RequestId": "r-1", "ErrorMessage": "boom", "Body": {"ClientContext": context, "RetryNum": 2}}
    dlq = tmp_path / "dlq.jsonl"
    dlq.write_text(json.dumps(envelope) + "\n" + json.dumps(envelope) + "\n", encoding="utf-8")
    r = run(env, "replay", str(dlq))
    assert r.returncode == 2, r.stderr
    assert "Body.ClientContext is not valid JSON (nested too deeply to be an event)" in r.stderr
    assert "RecursionError" not in r.stderr and "Traceback" not in r.stderr


def test_a_deeply_nested_event_file_is_refused_cleanly(env, tmp_path):
    nested = tmp_path / "nested.json"
    nested.write_text('{"Records": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    r = run(env, "replay", str(nested))
    assert r.returncode == 2 and f"{nested}: not valid JSON (nested too deeply to be an event)" in r.stderr
