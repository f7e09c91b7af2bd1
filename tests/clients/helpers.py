"""Registering API clients and getting their tokens through the API."""

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.factories import Api

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def register(api: Api, role: str = "platform_admin", **scope: Any) -> dict[str, Any]:
    body = {"name": f"{role} client", "role": role, **scope}
    response = await api.http.post("/v1/api-clients", json=body, headers=api.admin())
    assert response.status_code == 201, response.text
    return dict(response.json())


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def token_by_basic(
    http: httpx.AsyncClient, client_id: str, secret: str, **form: str
) -> httpx.Response:
    return await http.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers=basic(client_id, secret),
    )


async def token_by_form(
    http: httpx.AsyncClient, client_id: str, secret: str, **form: str
) -> httpx.Response:
    return await http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            **form,
        },
    )


async def access_token(api: Api, client: dict[str, Any]) -> str:
    response = await token_by_basic(api.http, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def seconds_until(
    condition: Callable[[], Awaitable[bool]], limit: float, step: float = 0.1
) -> float | None:
    """Seconds until `condition` holds, polling; None if it did not within `limit`."""
    started = time.monotonic()
    while time.monotonic() - started <= limit:
        if await condition():
            return time.monotonic() - started
        await asyncio.sleep(step)
    return None


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = dict(response.json())
    assert body["error"] == error
    assert body["error_description"]
    assert set(body) == {"error", "error_description"}
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")
    return body
