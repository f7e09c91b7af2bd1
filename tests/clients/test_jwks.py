"""RS256 tokens checked against a JWKS (SEN_JWT_JWKS_URL), served on loopback by the test."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.conftest import JWT_SECRET
from tests.core.test_errors import assert_problem


@dataclass
class KeySet:
    """A JWKS endpoint on 127.0.0.1 that counts how often it is fetched."""

    keys: list[dict[str, Any]]
    fetches: int = 0
    url: str = ""
    server: ThreadingHTTPServer | None = field(default=None, repr=False)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", **extra}


def serve_key_set(keys: list[dict[str, Any]]) -> KeySet:
    key_set = KeySet(keys=keys)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            key_set.fetches += 1
            body = json.dumps({"keys": key_set.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    key_set.server = server
    key_set.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    return key_set


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture
def key_set(signing_key) -> Iterator[KeySet]:
    # A new server (so a new URL and a cold cache) for every test.
    served = serve_key_set([public_jwk(signing_key, "k1", alg="RS256")])
    yield served
    assert served.server is not None
    served.server.shutdown()
    served.server.server_close()


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await application.state.database.dispose()


@pytest.fixture
async def idp_client(database_url, key_set, clean_tables) -> AsyncIterator[httpx.AsyncClient]:
    """The service with both HS256 (SEN_JWT_SECRET) and RS256 (SEN_JWT_JWKS_URL) tokens."""
    settings = Settings(
        database_url=database_url,
        jwt_secret=SecretStr(JWT_SECRET),
        jwt_jwks_url=key_set.url,
        data_dir=Path("/tmp"),
    )
    async with app_client(settings) as http:
        yield http


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "sub": "idp-user-1",
        "role": "platform_admin",
        "aud": "sen-support-api",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rs256(key: rsa.RSAPrivateKey, kid: str | None = "k1", **overrides: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_keyed_with(secret: bytes, kid: str = "k1") -> str:
    """Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64url(json.dumps(claims()).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


async def call(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/v1/schools", headers={"Authorization": f"Bearer {token}"})


async def test_an_rs256_token_from_the_key_set_is_accepted(idp_client, signing_key):
    response = await call(idp_client, rs256(signing_key))
    assert response.status_code == 200, response.text
    staff = rs256(signing_key, role="senco", school_id=str(uuid.uuid4()))
    assert (await call(idp_client, staff)).status_code == 200


async def test_hs256_tokens_still_work_beside_the_key_set(idp_client):
    token = jwt.encode(claims(), JWT_SECRET, algorithm="HS256")
    assert (await call(idp_client, token)).status_code == 200


async def test_the_key_set_is_fetched_once_and_cached(idp_client, signing_key, key_set):
    for _ in range(3):
        assert (await call(idp_client, rs256(signing_key))).status_code == 200
    assert key_set.fetches == 1


async def test_an_identity_providers_cid_claim_is_not_taken_for_an_api_client(
    idp_client, signing_key
):
    # Okta, for one, puts its own client id in `cid`: it names none of this service's clients.
    token = rs256(signing_key, cid=str(uuid.uuid4()))
    assert (await call(idp_client, token)).status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda key: rs256(rsa_key()), id="forged-with-another-key"),
        pytest.param(lambda key: rs256(key, kid="k2"), id="unknown-kid"),
        pytest.param(lambda key: rs256(key, kid=None), id="no-kid"),
        pytest.param(
            lambda key: jwt.encode(claims(), "", algorithm="none", headers={"kid": "k1"}),
            id="alg-none",
        ),
        pytest.param(
            lambda key: hs256_keyed_with(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ),
            id="hs256-keyed-with-the-public-key-pem",
        ),
        pytest.param(
            lambda key: hs256_keyed_with(
                json.dumps(public_jwk(key, "k1")).encode(),
            ),
            id="hs256-keyed-with-the-public-jwk",
        ),
        pytest.param(
            lambda key: jwt.encode(claims(), key, algorithm="RS512", headers={"kid": "k1"}),
            id="rs512-on-an-rs256-key",
        ),
        pytest.param(
            lambda key: jwt.encode(claims(), key, algorithm="PS256", headers={"kid": "k1"}),
            id="ps256-on-an-rs256-key",
        ),
        pytest.param(lambda key: rs256(key, exp=int(time.time()) - 5), id="expired"),
        pytest.param(lambda key: rs256(key, aud="another-api"), id="wrong-audience"),
        pytest.param(lambda key: rs256(key, exp=None), id="no-expiry"),
        pytest.param(lambda key: rs256(key, role="senco"), id="senco-without-school"),
    ],
)
async def test_bad_rs256_tokens_are_401(idp_client, signing_key, make):
    assert_problem(await call(idp_client, make(signing_key)), 401, "unauthorized")


async def test_a_key_declared_for_another_algorithm_is_not_used(database_url, clean_tables):
    key = rsa_key()
    served = serve_key_set([public_jwk(key, "k1", alg="RS512")])
    settings = Settings(database_url=database_url, jwt_jwks_url=served.url, data_dir=Path("/tmp"))
    try:
        async with app_client(settings) as http:
            assert_problem(await call(http, rs256(key)), 401, "unauthorized")
    finally:
        assert served.server is not None
        served.server.shutdown()
        served.server.server_close()


async def test_without_a_secret_only_key_set_tokens_are_accepted(
    database_url, key_set, signing_key, clean_tables
):
    settings = Settings(database_url=database_url, jwt_jwks_url=key_set.url, data_dir=Path("/tmp"))
    async with app_client(settings) as http:
        assert (await call(http, rs256(signing_key))).status_code == 200
        hs256 = jwt.encode(claims(), JWT_SECRET, algorithm="HS256")
        assert_problem(await call(http, hs256), 401, "unauthorized")
        token = await http.post("/v1/oauth/token", data={"grant_type": "client_credentials"})
        assert token.status_code == 400
        assert token.json()["error"] == "unsupported_grant_type"


async def test_an_unreachable_key_set_is_401_not_500(database_url, signing_key, clean_tables):
    served = serve_key_set([])
    assert served.server is not None
    served.server.shutdown()
    served.server.server_close()
    settings = Settings(database_url=database_url, jwt_jwks_url=served.url, data_dir=Path("/tmp"))
    async with app_client(settings) as http:
        assert_problem(await call(http, rs256(signing_key)), 401, "unauthorized")
