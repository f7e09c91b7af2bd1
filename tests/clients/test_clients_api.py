"""Registering, listing and revoking API clients (platform_admin only)."""

import asyncio
import uuid

import pytest

from app.cli import main as cli_main
from tests.clients.helpers import access_token, bearer, register, seconds_until
from tests.core.test_errors import assert_problem


async def test_admin_registers_a_client_and_sees_its_secret_only_once(api, db):
    school = await api.create_school()
    created = await register(api, "mis_integration", school_id=school["id"])
    assert set(created) == {
        "client_id",
        "client_secret",
        "name",
        "role",
        "school_id",
        "la_code",
        "active",
        "created_at",
        "revoked_at",
    }
    assert created["role"] == "mis_integration"
    assert created["school_id"] == school["id"]
    assert created["la_code"] is None
    assert created["active"] is True
    assert len(created["client_secret"]) >= 40

    stored = await db.fetchrow(
        "select * from api_clients where id = $1", uuid.UUID(created["client_id"])
    )
    assert stored["secret_hash"].startswith("$argon2id$")
    assert created["client_secret"] not in stored["secret_hash"]

    listed = await api.http.get("/v1/api-clients", headers=api.admin())
    assert listed.status_code == 200
    assert created["client_secret"] not in listed.text
    assert "argon2" not in listed.text
    (item,) = listed.json()["items"]
    assert "client_secret" not in item and "secret_hash" not in item
    assert item == {k: v for k, v in created.items() if k != "client_secret"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({"role": "senco"}, ["school_id"], id="senco-without-school"),
        pytest.param(
            {"role": "teacher", "school_id": "SCHOOL", "la_code": "801"},
            ["la_code"],
            id="teacher-with-la-code",
        ),
        pytest.param({"role": "la_officer"}, ["la_code"], id="la-officer-without-la-code"),
        pytest.param(
            {"role": "la_officer", "la_code": "801", "school_id": "SCHOOL"},
            ["school_id"],
            id="la-officer-with-school",
        ),
        pytest.param(
            {"role": "platform_admin", "school_id": "SCHOOL"},
            ["school_id"],
            id="admin-with-school",
        ),
        pytest.param(
            {"role": "mis_integration", "school_id": str(uuid.UUID(int=7))},
            ["school_id"],
            id="unknown-school",
        ),
        pytest.param({"role": "la_officer", "la_code": "80"}, ["la_code"], id="bad-la-code"),
        pytest.param({"role": "parent"}, ["role"], id="parent-is-not-a-client-role"),
        pytest.param({"role": "platform_admin", "secret": "x"}, ["secret"], id="unknown-field"),
    ],
)
async def test_a_scope_that_does_not_match_the_role_is_422(api, db, body, fields):
    school = await api.create_school()
    body = {k: school["id"] if v == "SCHOOL" else v for k, v in body.items()}
    response = await api.http.post(
        "/v1/api-clients", json={"name": "Arbor sync", **body}, headers=api.admin()
    )
    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == fields
    assert await db.fetchval("select count(*) from api_clients") == 0


@pytest.mark.parametrize("role", ["senco", "teacher", "mis_integration"])
async def test_other_roles_may_not_manage_clients(api, role):
    school = await api.create_school()
    victim = await register(api, "platform_admin")
    headers = api.staff(role, school)
    post = await api.http.post(
        "/v1/api-clients", json={"name": "x", "role": "platform_admin"}, headers=headers
    )
    assert_problem(post, 403, "forbidden")
    assert_problem(await api.http.get("/v1/api-clients", headers=headers), 403, "forbidden")
    delete = await api.http.delete(f"/v1/api-clients/{victim['client_id']}", headers=headers)
    assert_problem(delete, 403, "forbidden")
    officer = api.headers("la_officer", la_code="801")
    assert_problem(await api.http.get("/v1/api-clients", headers=officer), 403, "forbidden")
    listed = (await api.http.get("/v1/api-clients", headers=api.admin())).json()["items"]
    assert [(c["client_id"], c["active"]) for c in listed] == [(victim["client_id"], True)]


async def test_revoking_sets_inactive_once_and_unknown_is_404(api):
    client = await register(api, "la_officer", la_code="330")
    url = f"/v1/api-clients/{client['client_id']}"
    revoked = await api.http.delete(url, headers=api.admin())
    assert revoked.status_code == 204, revoked.text
    assert revoked.content == b""
    (item,) = (await api.http.get("/v1/api-clients", headers=api.admin())).json()["items"]
    assert item["active"] is False
    assert item["revoked_at"] is not None

    again = await api.http.delete(url, headers=api.admin())
    assert again.status_code == 204
    (same,) = (await api.http.get("/v1/api-clients", headers=api.admin())).json()["items"]
    assert same["revoked_at"] == item["revoked_at"]

    missing = await api.http.delete(f"/v1/api-clients/{uuid.uuid4()}", headers=api.admin())
    assert_problem(missing, 404, "not_found")


async def test_client_list_pages_oldest_first_and_filters_by_active(api):
    ids = [(await register(api, "platform_admin"))["client_id"] for _ in range(5)]
    await api.http.delete(f"/v1/api-clients/{ids[1]}", headers=api.admin())
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get("/v1/api-clients", params=params, headers=api.admin())).json()
        assert len(page["items"]) <= 2
        seen += [c["client_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    active = await api.http.get("/v1/api-clients?active=true", headers=api.admin())
    assert [c["client_id"] for c in active.json()["items"]] == ids[:1] + ids[2:]
    revoked = await api.http.get("/v1/api-clients?active=false", headers=api.admin())
    assert [c["client_id"] for c in revoked.json()["items"]] == [ids[1]]
    bad = await api.http.get("/v1/api-clients?cursor=bm90LWEtY3Vyc29y", headers=api.admin())
    assert_problem(bad, 422, "validation_error")


async def test_cli_creates_and_revokes_a_client(api, settings, monkeypatch, capsys):
    from app.core.config import get_settings

    school = await api.create_school()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        code = await asyncio.to_thread(
            cli_main,
            ["clients", "create", "--name", "SIMS", "--role", "senco", "--school-id", school["id"]],
        )
        assert code == 0
        printed = dict(
            line.split(":", 1) for line in capsys.readouterr().out.splitlines() if ":" in line
        )
        client = {k: v.strip() for k, v in printed.items()}
        token = await access_token(api, client)
        url = f"/v1/schools/{school['id']}"
        assert (await api.http.get(url, headers=bearer(token))).status_code == 200

        refused = await asyncio.to_thread(
            cli_main, ["clients", "create", "--name", "x", "--role", "senco"]
        )
        assert refused == 2
        assert "school_id" in capsys.readouterr().err

        revoke = ["clients", "revoke", client["client_id"]]
        assert await asyncio.to_thread(cli_main, revoke) == 0
        assert await asyncio.to_thread(cli_main, ["clients", "revoke", str(uuid.uuid4())]) == 1
    finally:
        get_settings.cache_clear()

    async def refused_now() -> bool:
        return (await api.http.get(url, headers=bearer(token))).status_code == 401

    assert await seconds_until(refused_now, limit=5) is not None
