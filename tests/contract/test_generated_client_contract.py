"""The contract is one a generated client can live on (SPEC.md §5, the last bullet): typed batch
items, declared request and response headers, one type for the feed's cursor, every closed
set of values an enum, and one media type per answer (the CSV and the PDF are operations of their
own). Read from the document the app serves."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import SecretStr

from app.core import errors
from app.core.config import Settings
from app.core.db import UnitOfWorkRoute
from app.core.errors import ProblemCode
from app.main import api_routes, create_app
from app.models.enums import (
    BatchItemStatus,
    ClaimStatus,
    ClaimTransitionTarget,
    EventType,
    Severity,
    YearGroup,
)
from app.rules import CATALOGUE, CLAIM_STATUSES, CLAIM_TRANSITIONS, EHC_TRANSITIONS
from tests.core.test_errors import assert_problem

APP_DIR = Path(__file__).resolve().parents[2] / "app"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# The two POSTs whose answers carry a secret run outside the unit of work (app/clients/router.py)
# and take no Idempotency-Key.
NO_IDEMPOTENCY = {"POST /v1/api-clients", "POST /v1/oauth/token"}


def _served_app() -> Any:
    settings = Settings(
        database_url="postgresql+asyncpg://unused/unused", jwt_secret=SecretStr("x")
    )
    return create_app(settings)


APP = _served_app()


@pytest.fixture(scope="module")
async def document() -> dict[str, Any]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def header_parameter(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == name:
            return dict(parameter)
    return None


def response_headers(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {name: resolve(document, header) for name, header in response.get("headers", {}).items()}


def enum_of(document: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """The values of an enum property, through a $ref and a nullable anyOf."""
    node = resolve(document, node)
    if "anyOf" in node:
        (node,) = [resolve(document, v) for v in node["anyOf"] if v.get("type") != "null"]
    values: list[str] = node["enum"]
    return values


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


# 1. The batch item


async def test_a_batch_item_is_a_pupil_batch_item_whose_fields_have_no_defaults(document):
    operation = document["paths"]["/v1/schools/{school_id}/pupils/batch"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PupilBatch"}
    items = schema(document, "PupilBatch")["properties"]["items"]
    assert items["items"] == {"$ref": "#/components/schemas/PupilBatchItem"}

    item = schema(document, "PupilBatchItem")
    assert item["required"] == ["upn"]
    assert item["additionalProperties"] is False
    assert set(item["properties"]) == set(schema(document, "PupilUpdate")["properties"])
    for name, field in item["properties"].items():
        assert "default" not in field, f"{name} has a default: a left-out field is unchanged"
        assert field, f"{name} is untyped"
    # Fields that may be left out but not cleared are not nullable.
    assert item["properties"]["first_name"]["type"] == "string"
    assert item["properties"]["year_group"] == {"$ref": "#/components/schemas/YearGroup"}
    assert {"type": "null"} in item["properties"]["left_on"]["anyOf"]


# 2. Request headers


def _routes() -> Iterator[tuple[str, APIRoute]]:
    for route in api_routes():
        if route.include_in_schema:
            for method in route.methods or ():
                yield f"{method} {route.path_format}", route


async def test_idempotency_key_is_declared_on_every_post_that_honours_it(document):
    honouring = {
        key
        for key, route in _routes()
        if key.startswith("POST ") and isinstance(route, UnitOfWorkRoute)
    }
    assert len(honouring) > 10 and not honouring & NO_IDEMPOTENCY
    for key, operation in operations(document):
        parameter = header_parameter(operation, "Idempotency-Key")
        if key not in honouring:
            assert parameter is None, f"{key} does not honour Idempotency-Key"
            continue
        assert parameter is not None, f"{key} does not declare Idempotency-Key"
        assert parameter["required"] is False
        declared = parameter["schema"]
        assert declared["type"] == "string"
        assert (declared["minLength"], declared["maxLength"]) == (1, 255)
        pattern = re.compile(declared["pattern"])
        assert pattern.search("retry-2026-01-31T09:00:00Z order=7")
        assert not pattern.search("café") and not pattern.search("tab\there")


async def test_if_match_is_declared_on_every_change_and_transition(document):
    changes = [
        (key, operation)
        for key, operation in operations(document)
        if key.startswith(("PATCH ", "PUT "))
        or (key.startswith("POST ") and key.endswith(("/transitions", "/close")))
    ]
    assert len(changes) > 10
    for key, operation in changes:
        parameter = header_parameter(operation, "If-Match")
        assert parameter is not None, f"{key} does not declare If-Match"
        assert "412" in operation["responses"], key


# 3. Response headers


async def test_retry_after_is_declared_on_every_429_and_503(document):
    for key, operation in operations(document):
        for status in ("429", "503"):
            if status in operation["responses"]:
                headers = response_headers(document, operation["responses"][status])
                assert headers.get("Retry-After", {}).get("schema", {}).get("type") == "integer", (
                    f"{key} {status}"
                )


async def test_idempotent_replayed_is_declared_on_the_answers_a_retry_replays(document):
    for key, operation in operations(document):
        if not key.startswith("POST ") or key in NO_IDEMPOTENCY:
            continue
        for status, response in operation["responses"].items():
            declared = "Idempotent-Replayed" in response_headers(document, response)
            # Stored: 2xx and 4xx, but for refusals before the key is read (the token, the
            # edge's 408, 413 and 431).
            replayable = status[0] in "24" and status not in {"401", "408", "413", "431"}
            assert declared == replayable, f"{key} {status}"


async def test_etag_and_location_are_declared_on_the_answers_that_send_them(document):
    for key, operation in operations(document):
        success = [s for s in operation["responses"] if s.startswith("2") and s != "204"]
        sent = {
            name
            for status in success
            for name in response_headers(document, operation["responses"][status])
        }
        if header_parameter(operation, "If-Match") is not None and success:
            assert "ETag" in sent, f"{key}: an If-Match change answers the new ETag"
        if key.startswith("POST ") and "201" in operation["responses"]:
            headers = response_headers(document, operation["responses"]["201"])
            if "Location" in headers:
                assert "ETag" in headers, key
    for path in ("/v1/schools", "/v1/schools/{school_id}/pupils"):
        headers = response_headers(document, document["paths"][path]["post"]["responses"]["201"])
        assert {"ETag", "Location"} <= set(headers), path
        assert headers["ETag"]["schema"] == {"type": "string"}


async def test_headers_sent_on_a_replay_are_the_declared_ones(api, document):
    senco = api.admin()
    body = {"urn": "123456", "name": "Replay School", "la_code": "801"}
    body["establishment_type"] = "maintained"
    headers = {**senco, "Idempotency-Key": "school-replay-1"}
    first = await api.http.post("/v1/schools", json=body, headers=headers)
    again = await api.http.post("/v1/schools", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    declared = response_headers(
        document, document["paths"]["/v1/schools"]["post"]["responses"]["201"]
    )
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(declared)


# 4. year_group


async def test_year_group_carries_its_member_names(document):
    year_group = schema(document, "YearGroup")
    assert year_group["enum"] == [member.value for member in YearGroup]
    assert year_group["x-enum-varnames"] == [
        "N1",
        "N2",
        "RECEPTION",
        *(f"Y{n}" for n in range(1, 15)),
    ]


# 5. The feed's cursor


async def test_the_feeds_after_seq_and_next_cursor_are_one_type(document):
    (after,) = [
        p for p in document["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "after"
    ]
    assert after["schema"]["type"] == "string"
    assert after["schema"]["default"] == "0"
    assert re.fullmatch(after["schema"]["pattern"].strip("^$"), "1234")
    assert schema(document, "EventOut")["properties"]["seq"]["type"] == "string"
    next_cursor = schema(document, "EventPage")["properties"]["next_cursor"]
    assert {"type": "string"} in next_cursor["anyOf"]


async def test_after_takes_the_next_cursor_and_refuses_what_is_not_one(api):
    school = await api.create_school()
    await api.create_pupil(school)
    await api.create_pupil(school)
    senco = api.senco(school)
    first = await api.http.get("/v1/events", params={"limit": 1}, headers=senco)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor.isdigit()
    following = await api.http.get(
        "/v1/events", params={"after": cursor, "limit": 1}, headers=senco
    )
    assert following.status_code == 200, following.text
    (item,) = following.json()["items"]
    assert isinstance(item["seq"], str) and int(item["seq"]) > int(cursor)
    start = await api.http.get("/v1/events", params={"after": "0"}, headers=senco)
    assert len(start.json()["items"]) == 2
    for refused in ("abc", "-1", "1.5", " 1", str(2**62 + 1), "9" * 20):
        response = await api.http.get("/v1/events", params={"after": refused}, headers=senco)
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["field"] == "after", refused


# 6. Closed sets


async def test_claim_statuses_and_targets_are_enums(document):
    assert schema(document, "ClaimStatus")["enum"] == list(CLAIM_STATUSES)
    assert [s.value for s in ClaimStatus] == list(CLAIM_STATUSES)
    targets = sorted({t for moves in CLAIM_TRANSITIONS.values() for t in moves})
    assert sorted(schema(document, "ClaimTransitionTarget")["enum"]) == targets
    assert sorted(t.value for t in ClaimTransitionTarget) == targets
    claim = schema(document, "ClaimOut")["properties"]["status"]
    assert enum_of(document, claim) == list(CLAIM_STATUSES)
    to = schema(document, "ClaimTransitionIn")["properties"]["to"]
    assert sorted(enum_of(document, to)) == targets
    (status,) = [
        p
        for p in document["paths"]["/v1/funding-claims"]["get"]["parameters"]
        if p["name"] == "status"
    ]
    assert enum_of(document, status["schema"]) == list(CLAIM_STATUSES)
    assert "pattern" not in status["schema"]


async def test_a_claim_status_outside_the_set_is_still_a_validation_problem(api):
    response = await api.http.get(
        "/v1/funding-claims", params={"status": "paid"}, headers=api.admin()
    )
    assert_problem(response, 422, "validation_error")


async def test_ehc_transition_targets_are_an_enum(document):
    to = schema(document, "EhcTransitionIn")["properties"]["to"]
    targets = {t for moves in EHC_TRANSITIONS.values() for t in moves}
    assert targets <= set(enum_of(document, to))


async def test_batch_item_status_severity_event_type_and_problem_code_are_enums(document):
    result = schema(document, "BatchItemResult")["properties"]["status"]
    assert enum_of(document, result) == [s.value for s in BatchItemStatus]
    assert enum_of(document, result) == ["created", "updated", "unchanged", "error"]
    for owner in ("RuleOut", "RuleViolationItem"):
        severity = schema(document, owner)["properties"]["severity"]
        assert enum_of(document, severity) == ["must", "should"]
    assert {rule.severity for rule in CATALOGUE} <= {s.value for s in Severity}
    event_type = schema(document, "EventOut")["properties"]["type"]
    assert enum_of(document, event_type) == [t.value for t in EventType]
    code = schema(document, "Problem")["properties"]["code"]
    assert enum_of(document, code) == [c.value for c in ProblemCode]


def _api_errors(kind: type[errors.ApiError]) -> Iterator[type[errors.ApiError]]:
    for sub in kind.__subclasses__():
        yield sub
        yield from _api_errors(sub)


def test_every_problem_code_the_app_can_answer_is_in_the_enum():
    codes = {error.code for error in _api_errors(errors.ApiError)} | {errors.ApiError.code}
    missing = codes - {c.value for c in ProblemCode}
    assert not missing, f"problem codes missing from ProblemCode: {missing}"
    # Codes written as text rather than through an ApiError.
    source = (APP_DIR / "core" / "errors.py").read_text()
    assert '"http_error"' not in source.split("class ProblemCode", 1)[0]
    assert {"http_error", "internal_error", "uri_too_long"} <= {c.value for c in ProblemCode}


def _emitted_event_types() -> tuple[set[str], set[str]]:
    """The event types the code emits: literal ones, and the prefixes of those built from a
    status (`f"ehc_request.{request.status}"`)."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for path in APP_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if not re.search(r"_event(_of)?$|^_event$", name):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literal.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                head = first.values[0]
                assert isinstance(head, ast.Constant), ast.unparse(first)
                prefixes.add(str(head.value))
    return literal, prefixes


def test_every_event_type_the_code_emits_is_in_the_enum():
    literal, prefixes = _emitted_event_types()
    assert len(literal) >= 8
    built = set()
    for prefix in prefixes:
        transitions = {"ehc_request.": EHC_TRANSITIONS, "funding_claim.": CLAIM_TRANSITIONS}
        assert prefix in transitions, f"an event type built from {prefix!r}: list its values"
        built |= {prefix + t for moves in transitions[prefix].values() for t in moves}
    emitted = literal | built
    assert emitted == {t.value for t in EventType}, emitted ^ {t.value for t in EventType}


# 7. One media type per answer: a generated client decodes an answer by its operation alone


# Each representation of the evidence bundle and the SEN register: operationId and media type.
REPRESENTATIONS = {
    "GET /v1/ehc-requests/{request_id}/evidence": ("get_ehc_evidence", "application/json"),
    "GET /v1/ehc-requests/{request_id}/evidence.pdf": ("get_ehc_evidence_pdf", "application/pdf"),
    "GET /v1/schools/{school_id}/sen-register": ("get_sen_register", "application/json"),
    "GET /v1/schools/{school_id}/sen-register.csv": ("get_sen_register_csv", "text/csv"),
}


async def test_the_csv_and_the_pdf_are_operations_of_their_own(document):
    found = dict(operations(document))
    for key, (operation_id, media_type) in REPRESENTATIONS.items():
        operation = found[key]
        assert operation["operationId"] == operation_id
        content = operation["responses"]["200"]["content"]
        assert list(content) == [media_type], key
        if media_type != "application/json":
            assert content[media_type]["schema"] == {"type": "string", "format": "binary"}
        # Errors are problem+json, as on every operation; the same ones as the JSON path.
        for status in ("401", "403", "404", "422", "503"):
            assert list(operation["responses"][status]["content"]) == ["application/problem+json"]
        # No Accept parameter to choose by: each operation has one answer.
        assert header_parameter(operation, "Accept") is None
    for json_key, other_key in (
        (
            "GET /v1/ehc-requests/{request_id}/evidence",
            "GET /v1/ehc-requests/{request_id}/evidence.pdf",
        ),
        (
            "GET /v1/schools/{school_id}/sen-register",
            "GET /v1/schools/{school_id}/sen-register.csv",
        ),
    ):
        assert set(found[other_key]["responses"]) == set(found[json_key]["responses"])
        assert found[other_key]["security"] == found[json_key]["security"]
        assert found[other_key]["tags"] == found[json_key]["tags"]


async def test_no_answer_declares_more_than_one_media_type(document):
    several = [
        (key, status, sorted(response["content"]))
        for key, operation in operations(document)
        for status, response in operation["responses"].items()
        if len(response.get("content", {})) > 1
    ]
    assert not several, f"answers a generated client cannot decode by operation: {several}"
