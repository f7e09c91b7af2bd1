"""scripts/audit_locks.py: a vulnerable pin fails, an unreadable one is never reported clean."""

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_locks.py"
spec = importlib.util.spec_from_file_location("audit_locks", SCRIPT)
assert spec and spec.loader
audit_locks = importlib.util.module_from_spec(spec)
sys.modules["audit_locks"] = audit_locks
spec.loader.exec_module(audit_locks)

LOCK = """\
# generated
fastapi==0.165.0 \\
    --hash=sha256:00
typing-extensions==4.16.0 ; python_full_version < '3.13' \\
    --hash=sha256:11
"""
ADVISORY = {"id": "PYSEC-0000-1", "aliases": ["CVE-0000-1"], "fixed_in": ["0.166.0"]}


def fake_pip_audit(monkeypatch, dependencies):
    """pip-audit's JSON report; None: it could not reach its service and wrote none."""

    def run(command, **kwargs):
        if dependencies is not None:
            output = Path(command[command.index("--output") + 1])
            output.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
        return subprocess.CompletedProcess(command, 1, "", "ConnectionError: no route")

    monkeypatch.setattr(audit_locks.subprocess, "run", run)


def fake_pypi(monkeypatch, records):
    """PyPI's project record by name; a missing name is a network failure."""

    def urlopen(url, timeout):
        name = url.split("/")[-2]
        if name not in records:
            raise OSError("unreachable")
        return io.BytesIO(json.dumps(records[name]).encode())

    monkeypatch.setattr(audit_locks.urllib.request, "urlopen", urlopen)


def record(version, vulnerabilities=()):
    return {"info": {"version": version}, "vulnerabilities": list(vulnerabilities)}


@pytest.fixture
def lock(tmp_path):
    path = tmp_path / "dev.txt"
    path.write_text(LOCK)
    return str(path)


def skipped(name, version):
    reason = f"Dependency not found on PyPI and could not be audited: {name} ({version})"
    return {"name": name, "skip_reason": reason}


def test_a_vulnerability_found_by_pip_audit_fails(monkeypatch, lock, capsys):
    vuln = {"id": "GHSA-x", "aliases": ["CVE-1"], "fix_versions": ["0.166.0"], "description": ""}
    fake_pip_audit(
        monkeypatch,
        [
            {"name": "fastapi", "version": "0.165.0", "vulns": [vuln]},
            {"name": "typing_extensions", "version": "4.16.0", "vulns": []},
        ],
    )
    fake_pypi(monkeypatch, {})
    assert audit_locks.main([lock]) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE fastapi==0.165.0 (pip-audit): GHSA-x (CVE-1): fixed in 0.166.0" in out
    assert "2 audited by pip-audit, 0 by PyPI's newest-release record, 0 not audited" in out


def test_when_pip_audit_skips_a_newest_release_is_read_from_the_project_record(
    monkeypatch, lock, capsys
):
    fake_pip_audit(
        monkeypatch, [skipped("fastapi", "0.165.0"), skipped("typing-extensions", "4.16.0")]
    )
    fake_pypi(
        monkeypatch,
        {
            "fastapi": record("0.165.0", [ADVISORY]),
            "typing-extensions": record("4.16.0", [{**ADVISORY, "withdrawn": "2026-01-01"}]),
        },
    )
    assert audit_locks.main([lock]) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE fastapi==0.165.0 (PyPI record of the newest release): PYSEC-0000-1" in out
    assert "typing-extensions" not in out.split("audit of")[0]  # its advisory was withdrawn


def test_a_pin_that_cannot_be_read_is_reported_not_audited_and_fails_only_when_strict(
    monkeypatch, lock, capsys
):
    fake_pip_audit(monkeypatch, None)
    fake_pypi(monkeypatch, {"fastapi": record("0.170.0", [ADVISORY])})
    assert audit_locks.main([lock]) == 0
    out = capsys.readouterr().out
    assert "not audited fastapi==0.165.0: not the newest release (0.170.0)" in out
    assert "not audited typing-extensions==4.16.0: PyPI's record unreachable" in out
    assert "2 pins, 0 audited by pip-audit, 0 by PyPI's newest-release record, 2 not" in out

    monkeypatch.setenv("SEN_AUDIT_STRICT", "1")
    assert audit_locks.main([lock]) == 1
