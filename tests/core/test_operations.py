"""Health, readiness, metrics, headers, and the database being away."""

import httpx
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem


def unreachable_settings() -> Settings:
    # Port 9 (discard) on loopback: nothing listens, so connections are refused at once.
    return Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none",
        jwt_secret=SecretStr(JWT_SECRET),
    )


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_without_the_database_readyz_fails_healthz_stays_up_and_v1_answers_503(api):
    app = create_app(unreachable_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        pupils = await http.get("/v1/schools", headers=api.admin())
    await app.state.database.dispose()
    assert_problem(ready, 503, "database_unavailable")
    body = assert_problem(pupils, 503, "database_unavailable")
    assert pupils.headers["retry-after"] == "2"
    assert "127.0.0.1" not in body["detail"]


async def test_metrics_count_requests_by_route_template(api):
    school = await api.create_school()
    await api.http.get(f"/v1/schools/{school['id']}", headers=api.admin())
    text = (await api.http.get("/metrics")).text
    assert 'route="/v1/schools/{school_id}"' in text
    assert school["id"] not in text
    assert "sen_http_request_duration_seconds_bucket" in text


async def test_security_headers_and_request_id(api):
    response = await api.http.get("/v1/schools", headers=api.admin())
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) >= 16
    echoed = await api.http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await api.http.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"
