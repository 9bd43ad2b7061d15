"""`autoenhance preview`: local images through the configured rules and task, checked with Pillow.

The project is the test's own copy of the fixture project (tests never read the top-level
configuration files or samples/), with the fixture's rules (the shipped example's) switched on. The command runs in-process through its own
`add_parser`/`run`, as autoenhance/cli.py dispatches it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image
from repo import SAMPLES, make_project, with_rules

from autoenhance.commands import preview
from autoenhance.commands.common import UsageError
from handler.plan import SESSION_ID_PREFIX

AVATAR, PRODUCT = SAMPLES / "avatar.jpg", SAMPLES / "product.jpg"
_NOT_INHERITED = ("TENCENTCLOUD_", "TENCENT_", "MPS_", "OUTPUT_", "IMAGE_", "COS_", "TRIGGER_", "RULES_")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh clone's project with the example rules as its RULES_FILE, and private state."""
    root = with_rules(make_project(tmp_path / "project"))
    for name in list(os.environ):
        if name.startswith(_NOT_INHERITED):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTOENHANCE_PROJECT_DIR", str(root))
    monkeypatch.setenv("AUTOENHANCE_STATE_DIR", str(tmp_path / "state"))
    return root


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="autoenhance")
    preview.add_parser(parser.add_subparsers())
    args = parser.parse_args(["preview", *argv])
    return int(args.run(args))


def opened(path: Path) -> Image.Image:
    return Image.open(io.BytesIO(path.read_bytes()))


def test_the_samples_with_the_example_rules_give_a_256_webp_avatar_and_a_2x_jpeg_product_shot(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = run(
        str(AVATAR), str(PRODUCT),
        "--key", "uploads/avatars/avatar.jpg", "--key", "uploads/products/product.jpg", "--out", str(out),
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"preview: {out / 'index.html'}" in printed
    avatar = opened(out / "01-after-avatar.jpg.webp")
    assert (avatar.format, avatar.size) == ("WEBP", (256, 256))
    product_in, product = opened(PRODUCT), opened(out / "02-after-product.jpg.jpeg")
    assert (product.format, product.mode) == ("JPEG", "RGB")
    assert product.size == (2 * product_in.width, 2 * product_in.height)
    page = (out / "index.html").read_text(encoding="utf-8")
    for text in (
        'src="01-before-avatar.jpg"', 'src="01-after-avatar.jpg.webp"', 'src="02-after-product.jpg.jpeg"',
        "rule <b>avatars</b>", "rule <b>products</b>", "256x256 WEBP", "640x480 JPEG",
        "/enhanced/avatars/uploads/avatars/avatar.jpg.webp", "&quot;Mode&quot;: &quot;lfit&quot;",
        "EnhanceConfig.SuperResolution", "approximated", f"&quot;SessionId&quot;: &quot;{SESSION_ID_PREFIX}",
    ):  # fmt: skip
        assert text in page, text


def test_the_default_key_is_the_name_under_the_trigger_prefix_and_meta_picks_a_rule(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIGGER_PREFIX", "uploads/")
    assert run(str(PRODUCT), "--meta", "purpose=print", "--out", str(tmp_path / "out")) == 0
    printed = capsys.readouterr().out
    assert "as photos-1250000000/uploads/product.jpg: rule print-quality, success" in printed
    assert opened(tmp_path / "out" / "01-after-product.jpg.png").size == (640, 480)


def test_a_folder_key_and_a_skip_rule(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(str(AVATAR), "--key", "uploads/avatars/", "--meta", "autoenhance=skip", "--out", str(out)) == 0
    assert "as photos-1250000000/uploads/avatars/avatar.jpg: no rule, skipped: the uploader opted out" in (
        capsys.readouterr().out
    )
    assert sorted(p.name for p in out.iterdir()) == ["01-before-avatar.jpg", "index.html"]  # nothing was made
    assert "skipped</span>: the uploader opted out" in (out / "index.html").read_text(encoding="utf-8")


def test_rules_and_task_files_try_a_change_before_editing_the_configuration(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "try-rules.json"
    rules.write_text(
        json.dumps({
            "rules": [{
                "name": "thumbs", "match": {"prefix": "uploads/avatars/"},
                "image_task": {
                    "EncodeConfig": {"Format": "PNG"},
                    "TransformConfig": {"ImageResize": {"Mode": "fill", "Width": 100, "Height": 50}},
                },
            }]
        })
    )  # fmt: skip
    task = tmp_path / "try-task.json"
    task.write_text(json.dumps({"EncodeConfig": {"Format": "BMP"}}))
    out = tmp_path / "out"
    args = ["--rules", str(rules), "--task", str(task), "--out", str(out)]
    assert run(str(AVATAR), str(PRODUCT), "--key", "uploads/avatars/a.jpg", "--key", "x/p.jpg", *args) == 0
    thumb, other = opened(out / "01-after-a.jpg.png"), opened(out / "02-after-p.jpg.bmp")
    assert (thumb.format, thumb.size) == ("PNG", (100, 50))
    assert (other.format, other.size) == ("BMP", (320, 240))  # no rule matched: --task's task
    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"rules: {rules} (--rules)" in page and f"{task} (--task)" in page


def test_a_corrupt_image_fails_with_source_file_error(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(AVATAR.read_bytes()[:600])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    assert run(str(broken), str(text), "--key", "uploads/avatars/", "--out", str(tmp_path / "out")) == 1
    printed = capsys.readouterr().out
    assert "broken.jpg: rule avatars, failed: SourceFileError" in printed and "decode" in printed
    assert "notes.jpg: rule avatars, failed: SourceFileError" in printed and "not in an image format" in printed


def test_usage_errors(project: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        run(str(tmp_path / "missing.jpg"))
    with pytest.raises(UsageError, match="2 --key for 1 IMAGE"):
        run(str(AVATAR), "--key", "a.jpg", "--key", "b.jpg")
    with pytest.raises(UsageError, match="--rules .*: no such file"):
        run(str(AVATAR), "--rules", str(tmp_path / "nope.json"))


def test_the_default_output_is_under_the_state_directory(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(str(AVATAR)) == 0
    assert f"preview: {tmp_path / 'state' / 'preview' / 'index.html'}" in capsys.readouterr().out
