"""Single-statement reads share the one pool: when it is exhausted they wait the pool timeout,
then answer 503, as session work does."""

import time
import uuid

import httpx

from app.core.security import Role, mint_token
from app.main import create_app
from tests.core.test_errors import assert_problem


async def test_an_exhausted_pool_answers_a_single_statement_read_503_after_the_timeout(
    settings, api
):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    tight = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.3}
    )
    app = create_app(tight)
    token = mint_token(tight, sub="s", role=Role.SENCO, school_id=uuid.UUID(school["id"]))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            assert (await http.get(f"/v1/pupils/{pupil['id']}", headers=headers)).status_code == 200
            held = await app.state.database.engine.connect()
            try:
                started = time.perf_counter()
                refused = await http.get(f"/v1/pupils/{pupil['id']}", headers=headers)
                waited = time.perf_counter() - started
            finally:
                await held.close()
            assert_problem(refused, 503, "database_unavailable")
            assert refused.headers["retry-after"]
            assert 0.25 <= waited < 2.0
            listed = await http.get(f"/v1/schools/{school['id']}/pupils", headers=headers)
            assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    finally:
        await app.state.database.dispose()
