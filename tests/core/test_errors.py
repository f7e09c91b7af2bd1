"""Every error is problem+json with a code; nothing internal ever reaches the client."""

import uuid

import httpx
from fastapi import APIRouter
from sqlalchemy import text

from app.core.db import Session, UnitOfWorkRoute
from app.main import create_app
from tests.factories import school_body

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"] and body["type"]
    return body


async def test_unknown_route_is_a_problem_404(client):
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_a_problem_405(client):
    body = assert_problem(await client.delete("/healthz"), 405, "method_not_allowed")
    assert "405" not in body["detail"]


async def test_malformed_json_is_a_validation_problem(api):
    response = await api.http.post(
        "/v1/schools",
        content=b'{"urn": "123456", "name": ',
        headers={**api.admin(), "content-type": "application/json"},
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == [{"field": "body", "message": "The body is not valid JSON"}]


async def test_invalid_utf8_is_a_validation_problem(api):
    response = await api.http.post(
        "/v1/schools",
        content=b'{"name": "\xff\xfe"}',
        headers={**api.admin(), "content-type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


async def test_validation_lists_every_invalid_field(api):
    response = await api.http.post(
        "/v1/schools",
        json={"urn": "12", "la_code": "ABC", "establishment_type": "castle", "extra": 1},
        headers=api.admin(),
    )
    body = assert_problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"urn", "name", "la_code", "establishment_type", "extra"}


async def test_body_over_one_mebibyte_is_refused_by_its_declared_length(api):
    response = await api.http.post(
        "/v1/schools",
        content=b"x" * (1024 * 1024 + 1),
        headers={**api.admin(), "content-type": "application/json"},
    )
    assert_problem(response, 413, "payload_too_large")


async def test_streamed_body_over_the_limit_is_refused_while_reading(api):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    response = await api.http.post(
        "/v1/schools", content=chunks(), headers={**api.admin(), "content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")
    assert sent < 64 * 64 * 1024, "the whole body was read before refusing it"


async def test_unexpected_errors_answer_500_without_internals(settings):
    app = create_app(settings)
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.get("/boom")
    async def boom(session: Session) -> dict[str, str]:
        await session.execute(text("select * from no_such_table_for_sure"))
        return {}

    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/boom")
    await app.state.database.dispose()
    body = assert_problem(response, 500, "internal_error")
    assert "no_such_table" not in response.text
    assert "select" not in response.text.lower()
    assert "Traceback" not in response.text
    assert set(body) == {"type", "title", "status", "detail", "code"}


async def test_bad_path_id_is_a_validation_problem(api):
    response = await api.http.get("/v1/pupils/not-a-uuid", headers=api.admin())
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "pupil_id"


async def test_limit_out_of_range_is_refused(api):
    school = await api.create_school()
    for limit in (0, -1, 201):
        response = await api.http.get(
            f"/v1/schools/{school['id']}/pupils", params={"limit": limit}, headers=api.admin()
        )
        assert_problem(response, 422, "validation_error")


async def test_foreign_cursor_is_refused(api):
    school = await api.create_school()
    for cursor in ("!!!", "bm90IGpzb24", uuid.uuid4().hex):
        response = await api.http.get(
            f"/v1/schools/{school['id']}/pupils", params={"cursor": cursor}, headers=api.admin()
        )
        assert_problem(response, 422, "validation_error")


async def test_text_postgresql_cannot_store_is_a_validation_problem_not_a_500(api, db):
    response = await api.http.post(
        "/v1/schools", json={**school_body(), "name": "Nul\u0000School"}, headers=api.admin()
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "name"
    assert await db.fetchval("select count(*) from schools") == 0
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    concern = await api.http.post(
        f"/v1/pupils/{pupil['id']}/concerns",
        json={"raised_by": "teacher", "description": "bad \u0000 byte"},
        headers={**api.senco(school), "Idempotency-Key": "nul-1"},
    )
    assert_problem(concern, 422, "validation_error")
    assert await db.fetchval("select count(*) from concerns") == 0


async def test_a_value_the_database_refuses_is_a_422_even_past_validation(settings):
    app = create_app(settings)
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.get("/too-big")
    async def too_big(session: Session) -> dict[str, str]:
        await session.execute(text("select cast('99999999999999' as numeric(12, 2))"))
        return {}

    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/too-big")
    await app.state.database.dispose()
    assert_problem(response, 422, "validation_error")
    assert "numeric" not in response.text
