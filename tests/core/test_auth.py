"""Bearer tokens: HS256 pinned, exp and aud checked, scope claims required (SPEC.md §4)."""

import time
import uuid

import jwt
import pytest

from app.cli import main as cli_main
from app.core.security import Role, decode_token
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem


def claims(**overrides):
    base = {
        "sub": "someone",
        "role": "platform_admin",
        "aud": "sen-support-api",
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
