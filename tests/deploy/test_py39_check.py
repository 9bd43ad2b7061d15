"""The Python 3.9 check must catch what would break on SCF's runtime, and pass on handler/."""

from __future__ import annotations

import subprocess
import sys

import pytest
from repo import ROOT

SNIPPETS = {
    "pep604_annotation_without_future": "def f(x: int | None) -> None:\n    pass\n",
    "pep604_at_runtime": "from __future__ import annotations\nOK = isinstance(1, int | str)\n",
    "match_statement": "def f(x: int) -> int:\n    match x:\n        case 1:\n            return 1\n    return 0\n",
    "stdlib_310_api": "import itertools\nPAIRS = list(itertools.pairwise([1, 2, 3]))\n",
}


def check(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/check_py39.py", *paths], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_check_rejects_python_310_only_code(tmp_path, name):
    (tmp_path / f"{name}.py").write_text(SNIPPETS[name])
    result = check(str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr


def test_handler_is_python_39_compatible():
    result = check("handler")
    assert result.returncode == 0, result.stderr
