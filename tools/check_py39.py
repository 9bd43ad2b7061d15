"""Static proof that code runs on SCF's Python 3.9 (this machine has only 3.11).

No single tool catches everything: ruff flags syntax and un-futured PEP 604 annotations,
mypy (python_version 3.9) flags runtime `int | str` and 3.10+ stdlib use, vermin flags
newer stdlib modules and APIs. tests/deploy/test_py39_check.py proves each kind is caught.

Usage: python tools/check_py39.py [PATH ...]   (default: handler)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(paths: list[str]) -> int:
    paths = paths or ["handler"]
    checks = [
        [
            "ruff",
            "check",
            "--no-cache",
            "--target-version",
            "py39",
            "--select",
            "FA,UP,E9,F",
            "--output-format",
            "concise",
            *paths,
        ],
        ["mypy", "--python-version", "3.9", "--no-incremental", "--ignore-missing-imports", *paths],
        ["vermin", "--target=3.9-", "--violations", "--no-tips", "--eval-annotations", "-q", *paths],
    ]
    failed = 0
    for cmd in checks:
        # vermin has no `python -m` entry point: use the scripts installed beside this interpreter.
        result = subprocess.run(
            [str(Path(sys.executable).parent / cmd[0]), *cmd[1:]], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            failed += 1
            print(f"{cmd[0]}: not Python 3.9 compatible:\n{result.stdout}{result.stderr}", file=sys.stderr)
    if not failed:
        print(f"Python 3.9 compatible: {' '.join(paths)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
