"""The handler's shipped schema is the installed SDK's ImageTaskInput model, nothing else."""

from __future__ import annotations

import subprocess
import sys

from repo import ROOT

from handler.image_task import schema


def test_shipped_schema_matches_the_installed_sdk():
    result = subprocess.run(
        [sys.executable, "tools/gen_mps_schema.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_schema_has_the_documented_image_fields():
    types = schema()["types"]
    assert types["ImageEncodeConfig"] == {"Format": "str", "Quality": "int"}
    assert types["SuperResolutionConfig"] == {"Switch": "str", "Type": "str", "Size": "int"}
    assert types[schema()["root"]]["EnhanceConfig"] == "ImageEnhanceConfig"


def test_handler_import_does_not_load_the_mps_models_or_cos_sdk():
    code = (
        "import sys, handler.index, handler.mps_client;"
        "bad = [m for m in sys.modules if m.startswith(('tencentcloud.mps', 'qcloud_cos'))];"
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
