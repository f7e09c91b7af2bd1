"""Audit hashed locks for known vulnerabilities: pip-audit first, PyPI's project record second.

pip-audit asks PyPI's per-release JSON (or OSV) about every pin. Where it cannot (on machines
that reach the package index but not those services it answers "not found" for every package
and still prints "No known vulnerabilities found"), a pin that is its project's newest release
is checked against the vulnerabilities PyPI lists in the project's own record, which describe
exactly that release. Any other pin is reported as not audited, never as clean.

Exit status: 1 when a vulnerability is found; 1 when a pin could not be audited and
SEN_AUDIT_STRICT=1; 0 otherwise. Run with the interpreter of .venv-tools (scripts/audit).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Finding:
    name: str
    version: str
    vulns: list[str] = field(default_factory=list)
    audited_by: str = ""
    not_audited: str = ""


def pins(lock: Path) -> dict[str, str]:
    """Every `name==version` of a lock, markers ignored: other platforms' pins are audited too."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[f"{canonical(match[1])}=={match[2]}"] = match[2]
    return found


def run_pip_audit(lock: Path) -> dict[str, Finding]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            str(Path(sys.executable).with_name("pip-audit")),
            *("--require-hashes", "--disable-pip", "--progress-spinner", "off"),
            *("--format", "json", "--output", str(report), "-r", str(lock)),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if not report.exists():
            # A service error (no network, OSV down) leaves no report: every pin falls through.
            print(f"pip-audit could not run on {lock}: {done.stderr.strip().splitlines()[-1:]}")
            return {}
        dependencies = json.loads(report.read_text())["dependencies"]
    findings: dict[str, Finding] = {}
    for dep in dependencies:
        if "skip_reason" in dep:
            continue
        finding = Finding(canonical(dep["name"]), dep["version"], audited_by="pip-audit")
        finding.vulns = [describe(v["id"], v["aliases"], v["fix_versions"]) for v in dep["vulns"]]
        findings[f"{finding.name}=={finding.version}"] = finding
    return findings


def describe(vuln_id: str, aliases: list[str], fixed_in: list[str]) -> str:
    also = f" ({', '.join(aliases)})" if aliases else ""
    fix = f"fixed in {', '.join(fixed_in)}" if fixed_in else "no fixed release"
    return f"{vuln_id}{also}: {fix}"


def check_newest_release(name: str, version: str) -> Finding:
    finding = Finding(name, version)
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as answer:
            record: dict[str, Any] = json.load(answer)
    except OSError as error:
        finding.not_audited = f"PyPI's record unreachable ({error})"
        return finding
    newest = record["info"]["version"]
    if newest != version:
        finding.not_audited = f"not the newest release ({newest}); only the newest can be read here"
        return finding
    finding.audited_by = "PyPI record of the newest release"
    finding.vulns = [
        describe(v["id"], v.get("aliases") or [], v.get("fixed_in") or [])
        for v in record.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]
    return finding


def main(locks: list[str]) -> int:
    findings: dict[str, Finding] = {}
    wanted: dict[str, str] = {}
    for lock in map(Path, locks):
        wanted.update(pins(lock))
        findings.update(run_pip_audit(lock))
    rest = [key for key in wanted if key not in findings]
    with ThreadPoolExecutor(max_workers=8) as pool:
        fallback = pool.map(lambda key: check_newest_release(key.split("==")[0], wanted[key]), rest)
        findings.update(zip(rest, fallback, strict=True))

    vulnerable = [f for f in findings.values() if f.vulns]
    unaudited = [f for f in findings.values() if f.not_audited]
    for f in vulnerable:
        print(f"VULNERABLE {f.name}=={f.version} ({f.audited_by}): " + "; ".join(f.vulns))
    for f in unaudited:
        print(f"not audited {f.name}=={f.version}: {f.not_audited}")
    by_tool = sum(f.audited_by == "pip-audit" for f in findings.values())
    by_record = len(findings) - by_tool - len(unaudited)
    print(
        f"audit of {', '.join(locks)}: {len(findings)} pins, {by_tool} audited by pip-audit, "
        f"{by_record} by PyPI's newest-release record, {len(unaudited)} not audited, "
        f"{len(vulnerable)} vulnerable"
    )
    if vulnerable:
        return 1
    if unaudited and os.environ.get("SEN_AUDIT_STRICT") == "1":
        print("SEN_AUDIT_STRICT=1: an incomplete audit fails")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
