"""Logs are JSON lines with a request id, one access line per request, and nothing personal."""

import io
import json
import logging
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import Session, UnitOfWorkRoute
from app.core.logging import JsonFormatter
from app.core.security import Role
from app.main import create_app
from tests.factories import Api, make_upn, pupil_body, school_body

# The test's own HTTP client logs its requests (query strings included); the service does not
# use these loggers on the request path.
CLIENT_LOGGERS = ("httpx", "httpcore")


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, through the service's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(lambda record: not record.name.startswith(CLIENT_LOGGERS))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def app_with_failures(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app plus two routes that fail with personal data in the exception's text."""
    app = create_app(settings)
    router = APIRouter(prefix="/test", route_class=UnitOfWorkRoute)

    @router.get("/cast")
    async def cast_to_integer(session: Session, value: str) -> dict[str, str]:
        # The driver's error quotes the value it could not convert.
        await session.execute(text("select cast(:value as integer)"), {"value": value})
        return {}

    @router.get("/raise")
    async def raise_with_text(value: str) -> dict[str, str]:
        raise RuntimeError(f"could not handle {value}")

    app.include_router(router)
    yield app
    await app.state.database.dispose()


async def test_logs_are_json_lines_with_request_ids_and_no_personal_data(
    app_with_failures: FastAPI, settings: Settings, clean_tables: None, json_logs: io.StringIO
) -> None:
    transport = httpx.ASGITransport(app=app_with_failures)  # unexpected errors must not escape
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http, settings)
        admin = api.admin()
        upn, first_name, last_name = make_upn(), "Philippa", f"Quillfeather{uuid.uuid4().hex[:6]}"
        school = (await http.post("/v1/schools", json=school_body(), headers=admin)).json()
        senco_token = api.token(Role.SENCO, school_id=uuid.UUID(school["id"]))
        senco = {"Authorization": f"Bearer {senco_token}"}
        body = pupil_body(upn=upn, first_name=first_name, last_name=last_name)
        answers = [
            await http.post(
                f"/v1/schools/{school['id']}/pupils",
                json=body,
                headers={**senco, "Idempotency-Key": f"key-{last_name}"},
            )
        ]
        pupil = answers[0].json()
        forged = senco_token[:-4] + "AAAA"
        answers += [
            await http.get(f"/v1/pupils/{pupil['id']}", headers=senco),
            await http.get(f"/v1/schools/{school['id']}/pupils?q={last_name}", headers=senco),
            await http.get(f"/v1/schools/{school['id']}/pupils?q={upn}", headers=senco),
            # Refused: the UPN is taken; a field that is not valid; a forged token.
            await http.post(f"/v1/schools/{school['id']}/pupils", json=body, headers=senco),
            await http.post(
                f"/v1/schools/{school['id']}/pupils",
                json={**body, "upn": make_upn(), "year_group": last_name},
                headers=senco,
            ),
            await http.get(
                f"/v1/pupils/{pupil['id']}", headers={"Authorization": f"Bearer {forged}"}
            ),
            # Unexpected failures whose exception text holds the UPN and the name.
            await http.get("/test/cast", params={"value": f"{upn} {last_name}"}, headers=senco),
            await http.get("/test/raise", params={"value": f"{upn} {first_name}"}),
        ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 409, 422, 401, 500, 500]

    logged = json_logs.getvalue()
    records = [json.loads(line) for line in logged.splitlines()]
    assert records, "nothing was logged"
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record), record
        assert re.fullmatch(r"[0-9a-f]{32}", record["request_id"]), record

    # One access line per request (the school's creation included), by route template.
    access = [r for r in records if r["logger"] == "app.access"]
    assert len(access) == len(answers) + 1
    assert [r["request_id"] for r in access[1:]] == [a.headers["x-request-id"] for a in answers]
    assert [r["status"] for r in access[1:]] == [a.status_code for a in answers]
    assert access[2]["route"] == "/v1/pupils/{pupil_id}"
    assert access[3]["route"] == "/v1/schools/{school_id}/pupils"
    assert all(isinstance(r["duration_ms"], float) and r["method"] for r in access)

    # The 500s: logged by type and place under their request's id, and answered with the same
    # headers as any other answer.
    failures = [r for r in records if r["logger"] == "app.errors"]
    assert [r["request_id"] for r in failures] == [a.headers["x-request-id"] for a in answers[-2:]]
    assert "RuntimeError" in failures[-1]["message"]
    for answer in answers[-2:]:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"

    secrets = [senco_token, forged, admin["Authorization"].split()[1], senco_token.split(".")[2]]
    personal = [upn, upn.lower(), first_name, last_name, pupil["id"], school["id"]]
    for value in secrets + personal:
        assert value not in logged, f"{value!r} is in the logs"
    assert "Traceback" not in logged


def test_an_exception_is_logged_by_type_and_place_never_by_its_text() -> None:
    upn = make_upn()
    try:
        raise ValueError(f"Key (upn)=({upn}) already exists") from KeyError(upn)
    except ValueError:
        record = logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Exception in ASGI application",
            None,
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "Exception in ASGI application"
    assert entry["exc_type"] == "ValueError" and entry["exc_cause"] == "KeyError"
    assert "test_logs.py:" in entry["exc_where"]
    assert entry["request_id"] is None  # logged outside any request
    assert upn not in line
