"""Single-statement reads (`Database.statement_rows`, on asyncpg's pool: its private detail)
wait for a connection as long as session work does, then 503; a connection the server dropped
costs one 503 and is replaced, not handed out again."""

import time
import uuid

import httpx

from app.core.security import Role, mint_token
from app.main import create_app
from tests.core.test_errors import assert_problem


async def test_an_exhausted_pool_answers_503_after_the_pool_timeout(settings, api):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    tight = settings.model_copy(update={"db_direct_pool_size": 1, "db_pool_timeout_seconds": 0.3})
    app = create_app(tight)
    token = mint_token(tight, sub="s", role=Role.SENCO, school_id=uuid.UUID(school["id"]))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            assert (await http.get(f"/v1/pupils/{pupil['id']}", headers=headers)).status_code == 200
            pool = await app.state.database._statement_pool()
            held = await pool.acquire()
            try:
                for url in (f"/v1/pupils/{pupil['id']}", f"/v1/schools/{school['id']}/pupils"):
                    started = time.perf_counter()
                    refused = await http.get(url, headers=headers)
                    waited = time.perf_counter() - started
                    assert_problem(refused, 503, "database_unavailable")
                    assert refused.headers["retry-after"]
                    assert 0.25 <= waited < 2.0
            finally:
                await pool.release(held)
            listed = await http.get(f"/v1/schools/{school['id']}/pupils", headers=headers)
            assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    finally:
        await app.state.database.dispose()


async def test_a_dropped_connection_is_a_503_once_and_then_replaced(settings, api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    single = settings.model_copy(update={"db_direct_pool_size": 1})
    app = create_app(single)
    token = mint_token(single, sub="s", role=Role.SENCO, school_id=uuid.UUID(school["id"]))
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/v1/pupils/{pupil['id']}"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            assert (await http.get(url, headers=headers)).status_code == 200
            # The server ends the pooled connection's backend (a restart, a failover); this
            # app's pool holds one connection, the other apps' are left alone.
            pool = await app.state.database._statement_pool()
            async with pool.acquire() as connection:
                pid = connection.get_server_pid()
            assert await db.fetchval("select pg_terminate_backend($1)", pid)
            assert_problem(await http.get(url, headers=headers), 503, "database_unavailable")
            again = await http.get(url, headers=headers)
            assert again.status_code == 200 and again.json()["id"] == pupil["id"]
    finally:
        await app.state.database.dispose()
