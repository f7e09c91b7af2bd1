"""The document's own lint (SPEC.md §5, the last bullet), without Node: what Spectral's
`spectral:oas` ruleset asks for that a generated client lives on. Every operation has a tag
defined at the top level, a summary and a description; the document has `servers` and
`info.contact`. CI also runs Spectral itself (scripts/lint-openapi); this test holds the rule
where Node cannot run. It reads the committed openapi/openapi.yaml, the file Spectral lints
(tests/test_openapi.py keeps that file equal to what the app serves)."""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.contract.document import HTTP_METHODS

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def lint(document: dict[str, Any]) -> list[str]:
    """Every breach of the rules, one line each; an empty list is a clean document."""
    problems: list[str] = []
    info = document.get("info", {})
    if _blank(info.get("description")):
        problems.append("info has no description")
    contact = info.get("contact")
    if not isinstance(contact, dict) or not any(
        not _blank(contact.get(key)) for key in ("name", "url", "email")
    ):
        problems.append("info has no contact (a name, url or email)")

    servers = document.get("servers")
    if not isinstance(servers, list) or not servers:
        problems.append("the document declares no servers")
    else:
        for server in servers:
            url = server.get("url") if isinstance(server, dict) else None
            if not isinstance(url, str) or not url.strip():
                problems.append(f"a server has no url: {server!r}")
            elif re.search(r"./$", url):  # Spectral's oas3-server-trailing-slash
                problems.append(f"server url {url} ends with a slash")
            elif re.search(r"^([a-z]+://)?([^/]*\.)?example\.com", url):
                problems.append(f"server url {url} is example.com")  # oas3-server-not-example.com

    tags = document.get("tags")
    defined: dict[str, Any] = {}
    if not isinstance(tags, list) or not tags:
        problems.append("the document declares no top-level tags")
    else:
        for tag in tags:
            name = tag.get("name")
            if name in defined:
                problems.append(f"tag {name!r} is declared twice")
            defined[name] = tag
            if _blank(tag.get("description")):
                problems.append(f"tag {name!r} has no description")

    used: set[str] = set()
    for label, operation in _operations(document):
        operation_tags = operation.get("tags")
        if not operation_tags:
            problems.append(f"{label} has no tag")
        for tag in operation_tags or ():
            used.add(tag)
            if tag not in defined:
                problems.append(f"{label}: tag {tag!r} is not declared at the top level")
        if _blank(operation.get("summary")):
            problems.append(f"{label} has no summary")
        if _blank(operation.get("description")):
            problems.append(f"{label} has no description")
        if _blank(operation.get("operationId")):
            problems.append(f"{label} has no operationId")
    for name in sorted(set(defined) - used, key=str):
        problems.append(f"tag {name!r} is declared but no operation uses it")
    return problems


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMMITTED.read_text())
    return document


def test_the_committed_document_breaks_none_of_the_rules(committed: dict[str, Any]) -> None:
    problems = lint(committed)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("breach", "expected"),
    [
        (lambda d: d["info"].pop("contact"), "info has no contact"),
        (lambda d: d.pop("servers"), "the document declares no servers"),
        (lambda d: d["servers"].append({"url": "https://api.example.com/"}), "ends with a slash"),
        (lambda d: d.pop("tags"), "the document declares no top-level tags"),
        (lambda d: d["tags"][0].pop("description"), "has no description"),
        (lambda d: d["paths"]["/v1/schools"]["get"].pop("description"), "GET /v1/schools has no"),
        (lambda d: d["paths"]["/v1/schools"]["get"].pop("summary"), "GET /v1/schools has no"),
        (lambda d: d["paths"]["/v1/schools"]["get"].pop("tags"), "GET /v1/schools has no tag"),
        (
            lambda d: d["paths"]["/v1/schools"]["get"].update(tags=["nowhere"]),
            "tag 'nowhere' is not declared",
        ),
    ],
    ids=[
        "no-contact",
        "no-servers",
        "server-trailing-slash",
        "no-tags",
        "tag-without-description",
        "operation-without-description",
        "operation-without-summary",
        "operation-without-tag",
        "undeclared-tag",
    ],
)
def test_the_lint_catches_each_breach(
    committed: dict[str, Any], breach: Any, expected: str
) -> None:
    document = copy.deepcopy(committed)
    breach(document)
    assert any(expected in problem for problem in lint(document)), lint(document)
