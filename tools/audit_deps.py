"""Known vulnerabilities in the deployed function's pinned closure (handler/requirements.txt).

Runs pip-audit against PyPI's advisory data and decides:
- any reported vulnerability fails the check, listing package, version, id and fixed versions;
- a pin pip-audit could not look up is reported as NOT AUDITED, loudly. It fails the check only
  with --strict: some package mirrors (this project's CI among them) serve no per-version JSON,
  so there every pin is unauditable and --strict would fail every run while proving nothing.

Usage: python tools/audit_deps.py [--strict]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "handler" / "requirements.txt"


def decide(report: dict[str, Any], strict: bool) -> tuple[int, list[str]]:
    """pip-audit's JSON report -> (exit code, lines to print)."""
    lines, vulnerable, unaudited = [], 0, 0
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            vulnerable += 1
            fixed = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            lines.append(f"VULNERABLE {dep['name']} {dep.get('version', '?')}: {vuln.get('id')} (fixed in {fixed})")
        if "skip_reason" in dep:
            unaudited += 1
            lines.append(f"NOT AUDITED {dep['name']}: {dep['skip_reason']}")
    audited = len(report.get("dependencies", [])) - unaudited
    lines.append(f"{audited} pin(s) audited, {vulnerable} vulnerability(ies), {unaudited} pin(s) not audited")
    return (1 if vulnerable or (strict and unaudited) else 0), lines


def main(argv: list[str]) -> int:
    cmd = [
        sys.executable,
        "-m",
        "pip_audit",
        "--vulnerability-service",
        "pypi",
        "--progress-spinner",
        "off",
        "--no-deps",
        "--disable-pip",
        "-r",
        str(REQUIREMENTS),
        "--format",
        "json",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(f"pip-audit did not run:\n{result.stderr}", file=sys.stderr)
        return 1
    code, lines = decide(report, strict="--strict" in argv)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
