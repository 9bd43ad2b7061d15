"""The dependency audit fails on a known vulnerability and never reports an unaudited pin as clean."""

from __future__ import annotations

import sys

from repo import ROOT

sys.path.insert(0, str(ROOT / "tools"))

from audit_deps import decide


def test_a_reported_vulnerability_fails_the_check():
    report = {
        "dependencies": [
            {"name": "urllib3", "version": "2.6.3", "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["2.6.4"]}]}
        ]
    }
    code, lines = decide(report, strict=False)
    assert code == 1
    assert "VULNERABLE urllib3 2.6.3: GHSA-xxxx (fixed in 2.6.4)" in lines


def test_unaudited_pins_are_reported_and_fail_only_when_strict():
    report = {
        "dependencies": [
            {"name": "requests", "skip_reason": "Dependency not found on PyPI"},
            {"name": "idna", "version": "3.20", "vulns": []},
        ]
    }
    code, lines = decide(report, strict=False)
    assert code == 0
    assert "NOT AUDITED requests: Dependency not found on PyPI" in lines
    assert lines[-1] == "1 pin(s) audited, 0 vulnerability(ies), 1 pin(s) not audited"
    assert decide(report, strict=True)[0] == 1


def test_a_clean_report_passes():
    code, lines = decide({"dependencies": [{"name": "idna", "version": "3.20", "vulns": []}]}, strict=True)
    assert code == 0 and lines == ["1 pin(s) audited, 0 vulnerability(ies), 0 pin(s) not audited"]
