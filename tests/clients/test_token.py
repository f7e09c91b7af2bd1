"""POST /v1/oauth/token: OAuth 2.0 client credentials, RFC 6749 errors, revocation."""

import base64
import time
import uuid

import jwt
import pytest

from app.core.security import CLIENT_STATUS_TTL_SECONDS, Role, mint_token
from tests.clients.helpers import (
    FORM,
    access_token,
    assert_oauth_error,
    basic,
    bearer,
    register,
    seconds_until,
    token_by_basic,
    token_by_form,
)
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem


@pytest.mark.parametrize("ask", [token_by_basic, token_by_form], ids=["basic", "form"])
async def test_a_client_gets_a_token_for_its_role_and_scope_and_uses_it(api, ask):
    school = await api.create_school()
    other = await api.create_school()
    client = await register(api, "senco", school_id=school["id"])

    response = await ask(api.http, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    claims = jwt.decode(
        body["access_token"], JWT_SECRET, algorithms=["HS256"], audience="sen-support-api"
    )
    assert claims["sub"] == client["client_id"]
    assert claims["cid"] == client["client_id"]
    assert claims["role"] == "senco"
    assert claims["school_id"] == school["id"]
    assert claims["exp"] - time.time() <= 3600

    headers = bearer(body["access_token"])
    assert (await api.http.get(f"/v1/schools/{school['id']}", headers=headers)).status_code == 200
    outside = await api.http.get(f"/v1/schools/{other['id']}", headers=headers)
    assert_problem(outside, 404, "not_found")
    refused = await api.http.get("/v1/api-clients", headers=headers)
    assert_problem(refused, 403, "forbidden")


async def test_an_admin_clients_token_manages_clients(api):
    admin = await register(api, "platform_admin")
    token = await access_token(api, admin)
    listed = await api.http.get("/v1/api-clients", headers=bearer(token))
    assert listed.status_code == 200
    assert [c["client_id"] for c in listed.json()["items"]] == [admin["client_id"]]


async def test_a_clients_writes_are_audited_under_its_client_id(api, db):
    school = await api.create_school()
    mis = await register(api, "mis_integration", school_id=school["id"])
    token = await access_token(api, mis)
    from tests.factories import pupil_body

    created = await api.http.post(
        f"/v1/schools/{school['id']}/pupils", json=pupil_body(), headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    row = await db.fetchrow(
        "select actor_sub, actor_role from audit_entries where pupil_id = $1",
        uuid.UUID(created.json()["id"]),
    )
    assert dict(row) == {"actor_sub": mis["client_id"], "actor_role": "mis_integration"}


@pytest.mark.parametrize("ask", [token_by_basic, token_by_form], ids=["basic", "form"])
@pytest.mark.parametrize("case", ["wrong-secret", "unknown-client", "revoked-client", "not-a-uuid"])
async def test_bad_client_credentials_are_401_invalid_client(api, ask, case):
    client = await register(api, "platform_admin")
    client_id, secret = client["client_id"], client["client_secret"]
    if case == "wrong-secret":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    elif case == "unknown-client":
        client_id = str(uuid.uuid4())
    elif case == "not-a-uuid":
        client_id = "sims-prod"
    else:
        revoked = await api.http.delete(f"/v1/api-clients/{client_id}", headers=api.admin())
        assert revoked.status_code == 204
    assert_oauth_error(await ask(api.http, client_id, secret), 401, "invalid_client")
    # The same client with its real credentials still succeeds, unless it was revoked.
    good = await ask(api.http, client["client_id"], client["client_secret"])
    assert good.status_code == (401 if case == "revoked-client" else 200)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param({"Authorization": "Basic !!!not-base64"}, id="malformed-basic"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, id="no-colon"
        ),
        pytest.param({"Authorization": "Bearer something"}, id="bearer-scheme"),
    ],
)
async def test_missing_or_malformed_client_authentication_is_401(api, headers):
    response = await api.http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, headers=headers
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_another_grant_type_is_400_unsupported_grant_type(api):
    client = await register(api, "platform_admin")
    for grant in ("password", "authorization_code", "refresh_token"):
        response = await token_by_basic(
            api.http, client["client_id"], client["client_secret"], grant_type=grant
        )
        assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_malformed_requests_are_400_invalid_request(api):
    client = await register(api, "platform_admin")
    creds = basic(client["client_id"], client["client_secret"])

    missing = await api.http.post("/v1/oauth/token", data={}, headers=creds)
    assert_oauth_error(missing, 400, "invalid_request")
    empty = await api.http.post("/v1/oauth/token", data={"grant_type": ""}, headers=creds)
    assert_oauth_error(empty, 400, "invalid_request")
    as_json = await api.http.post(
        "/v1/oauth/token", json={"grant_type": "client_credentials"}, headers=creds
    )
    assert_oauth_error(as_json, 400, "invalid_request")
    repeated = await api.http.post(
        "/v1/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={**creds, **FORM},
    )
    assert_oauth_error(repeated, 400, "invalid_request")
    both_ways = await token_by_basic(
        api.http, client["client_id"], client["client_secret"], client_secret="x"
    )
    assert_oauth_error(both_ways, 400, "invalid_request")


async def test_a_revoked_clients_token_stops_working_within_5_seconds(api):
    client = await register(api, "platform_admin")
    token = await access_token(api, client)
    assert (await api.http.get("/v1/schools", headers=bearer(token))).status_code == 200

    revoked = await api.http.delete(f"/v1/api-clients/{client['client_id']}", headers=api.admin())
    assert revoked.status_code == 204

    async def refused() -> bool:
        response = await api.http.get("/v1/schools", headers=bearer(token))
        if response.status_code == 401:
            assert_problem(response, 401, "unauthorized")
            return True
        return False

    assert await seconds_until(refused, limit=5) is not None


async def test_a_client_disabled_elsewhere_is_refused_within_the_cache_ttl(api, db):
    """As when another process (or an operator in SQL) disables the client: this process has
    just seen it active, and must not trust that for longer than its cache TTL."""
    assert CLIENT_STATUS_TTL_SECONDS <= 2
    client = await register(api, "platform_admin")
    token = await access_token(api, client)
    assert (await api.http.get("/v1/schools", headers=bearer(token))).status_code == 200

    await db.execute(
        "update api_clients set active = false where id = $1", uuid.UUID(client["client_id"])
    )

    async def refused() -> bool:
        return (await api.http.get("/v1/schools", headers=bearer(token))).status_code == 401

    waited = await seconds_until(refused, limit=5, step=0.05)
    assert waited is not None
    assert waited <= CLIENT_STATUS_TTL_SECONDS + 1


async def test_a_token_naming_an_unknown_client_is_refused(api, settings):
    token = mint_token(
        settings,
        sub="forged",
        role=Role.PLATFORM_ADMIN,
        extra_claims={"cid": str(uuid.uuid4())},
    )
    assert_problem(await api.http.get("/v1/schools", headers=bearer(token)), 401, "unauthorized")
    bad = mint_token(settings, sub="x", role=Role.PLATFORM_ADMIN, extra_claims={"cid": "nope"})
    assert_problem(await api.http.get("/v1/schools", headers=bearer(bad)), 401, "unauthorized")
