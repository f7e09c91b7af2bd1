"""Bearer tokens: HS256 pinned, exp and aud checked, scope claims required (SPEC.md §4)."""

import time
import uuid

import httpx
import jwt
import pytest

from app.cli import main as cli_main
from app.core.security import Role, authenticate, decode_token, mint_token
from app.main import create_app
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem
from tests.factories import pupil_body


def claims(**overrides):
    base = {
        "sub": "someone",
        "role": "platform_admin",
        "aud": "sen-support-api",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def call(client, token):
    return await client.get("/v1/schools", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_is_accepted(client):
    response = await call(client, jwt.encode(claims(), JWT_SECRET, algorithm="HS256"))
    assert response.status_code == 200


async def test_no_token_is_401(client):
    response = await client.get("/v1/schools")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            jwt.encode(claims(), "another-secret-" + "y" * 32, algorithm="HS256"), id="forged"
        ),
        pytest.param(
            jwt.encode(claims(exp=int(time.time()) - 5), JWT_SECRET, algorithm="HS256"),
            id="expired",
        ),
        pytest.param(
            jwt.encode(claims(aud="someone-else"), JWT_SECRET, algorithm="HS256"),
            id="wrong-audience",
        ),
        pytest.param(jwt.encode(claims(aud=None), JWT_SECRET, algorithm="HS256"), id="no-audience"),
        pytest.param(jwt.encode(claims(exp=None), JWT_SECRET, algorithm="HS256"), id="no-expiry"),
        pytest.param(jwt.encode(claims(), JWT_SECRET, algorithm="HS512"), id="wrong-algorithm"),
        pytest.param(jwt.encode(claims(), None, algorithm="none"), id="alg-none"),  # type: ignore[arg-type]
        pytest.param("not.a.token", id="malformed"),
        pytest.param("x" * 5000, id="garbage"),
        pytest.param(
            jwt.encode(claims(role="headteacher"), JWT_SECRET, algorithm="HS256"), id="unknown-role"
        ),
        pytest.param(
            jwt.encode(claims(role="senco"), JWT_SECRET, algorithm="HS256"),
            id="senco-without-school",
        ),
        pytest.param(
            jwt.encode(claims(role="senco", school_id="nope"), JWT_SECRET, algorithm="HS256"),
            id="bad-school-id",
        ),
        pytest.param(
            jwt.encode(claims(role="la_officer", la_code="80"), JWT_SECRET, algorithm="HS256"),
            id="bad-la-code",
        ),
        pytest.param(
            jwt.encode(claims(role="parent"), JWT_SECRET, algorithm="HS256"),
            id="parent-without-children",
        ),
        # SPEC.md §4: every token carries iat and exp, exp - iat at most SEN_MAX_TOKEN_SECONDS.
        pytest.param(jwt.encode(claims(iat=None), JWT_SECRET, algorithm="HS256"), id="no-iat"),
        pytest.param(
            jwt.encode(
                claims(exp=int(time.time()) + 10 * 365 * 86400), JWT_SECRET, algorithm="HS256"
            ),
            id="ten-year-lifetime",
        ),
        pytest.param(
            jwt.encode(
                claims(iat=int(time.time()) - 100, exp=int(time.time()) + 3501),
                JWT_SECRET,
                algorithm="HS256",
            ),
            id="one-second-over-an-hour",
        ),
        pytest.param(
            jwt.encode(
                claims(iat=int(time.time()) + 600, exp=int(time.time()) + 1200),
                JWT_SECRET,
                algorithm="HS256",
            ),
            id="issued-in-the-future",
        ),
        pytest.param(jwt.encode(claims(iat="now"), JWT_SECRET, algorithm="HS256"), id="iat-text"),
        # The audit trail holds a subject of 200 characters: a longer one is refused at the door.
        pytest.param(
            jwt.encode(claims(sub="s" * 201), JWT_SECRET, algorithm="HS256"), id="long-sub"
        ),
    ],
)
async def test_bad_tokens_are_401(client, token):
    assert_problem(await call(client, token), 401, "unauthorized")


async def test_wrong_scheme_is_401(client):
    token = jwt.encode(claims(), JWT_SECRET, algorithm="HS256")
    response = await client.get("/v1/schools", headers={"Authorization": f"Basic {token}"})
    assert_problem(response, 401, "unauthorized")


def test_cli_mints_a_token_the_service_accepts(settings, monkeypatch, capsys):
    from app.core.config import get_settings

    monkeypatch.setenv("SEN_JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    school_id = uuid.uuid4()
    try:
        assert cli_main(["token", "--role", "senco", "--school-id", str(school_id)]) == 0
    finally:
        get_settings.cache_clear()
    principal = decode_token(settings, capsys.readouterr().out.strip())
    assert principal.role is Role.SENCO
    assert principal.school_id == school_id


async def test_a_lifetime_of_exactly_the_maximum_and_a_subject_of_200_are_accepted(client):
    now = int(time.time())
    token = jwt.encode(
        claims(sub="s" * 200, iat=now, exp=now + 3600), JWT_SECRET, algorithm="HS256"
    )
    assert (await call(client, token)).status_code == 200


async def test_a_long_subject_is_401_not_a_misleading_422_on_an_audited_write(api):
    school = await api.create_school()
    token = jwt.encode(
        claims(sub="s" * 201, role="senco", school_id=school["id"]), JWT_SECRET, algorithm="HS256"
    )
    response = await api.http.post(
        f"/v1/schools/{school['id']}/pupils",
        json=pupil_body(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_problem(response, 401, "unauthorized")
    assert "200 characters" in response.json()["detail"]


async def test_the_issuer_is_checked_when_one_is_configured(settings, database_url):
    configured = settings.model_copy(update={"jwt_issuer": "https://idp.example.test"})
    # Verified tokens are cached per process: one accepted where no issuer is configured must
    # not be taken from the cache where one is.
    await authenticate(settings, jwt.encode(claims(iss=None), JWT_SECRET, algorithm="HS256"))
    application = create_app(configured)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for issuer, expected in (
                ("https://idp.example.test", 200),
                ("evil", 401),
                (None, 401),
            ):
                token = jwt.encode(claims(iss=issuer), JWT_SECRET, algorithm="HS256")
                response = await call(http, token)
                assert response.status_code == expected, (issuer, response.text)
            # What the service mints carries the configured issuer.
            minted = mint_token(configured, sub="x", role=Role.PLATFORM_ADMIN)
            assert (await call(http, minted)).status_code == 200
    finally:
        await application.state.database.dispose()


async def test_without_a_configured_issuer_any_iss_is_accepted(client):
    # SPEC.md §4 checks `iss` only when SEN_JWT_ISSUER is set.
    token = jwt.encode(claims(iss="whoever"), JWT_SECRET, algorithm="HS256")
    assert (await call(client, token)).status_code == 200


def test_the_cli_refuses_to_mint_a_token_the_service_would_refuse(monkeypatch, capsys):
    from app.core.config import get_settings

    monkeypatch.setenv("SEN_JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    try:
        assert cli_main(["token", "--role", "platform_admin", "--minutes", "61"]) == 2
    finally:
        get_settings.cache_clear()
    assert "SEN_MAX_TOKEN_SECONDS" in capsys.readouterr().err
