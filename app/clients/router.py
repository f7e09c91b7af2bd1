"""API clients (platform_admin) and the OAuth 2.0 client-credentials token endpoint.

The two routes whose answers carry a secret (a new client's secret, an access token) run in a
transaction of their own rather than on `UnitOfWorkRoute`: that route class stores answers for
Idempotency-Key replay, and a stored answer would keep the secret in clear in the database. A
retried registration therefore makes a second client (revoke the spare); a retried token
request simply gets another token.
"""

import base64
import binascii
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.clients import service
from app.clients.schemas import (
    ApiClientCreate,
    ApiClientCreated,
    ApiClientOut,
    OAuthError,
    OAuthErrorCode,
    TokenOut,
    TokenRequest,
)
from app.core.config import Settings
from app.core.db import DbSession, Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, Limit
from app.core.ratelimit import AttemptLimit
from app.core.schemas import Page
from app.core.security import CurrentPrincipal

router = APIRouter(prefix=API_PREFIX, tags=["api-clients"], route_class=UnitOfWorkRoute)
secrets_router = APIRouter(prefix=API_PREFIX)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")


@asynccontextmanager
async def _own_transaction(request: Request) -> AsyncIterator[DbSession]:
    """Committed when the block ends, so before the answer is sent."""
    async with request.app.state.database.sessionmaker() as session, session.begin():
        yield session


@secrets_router.post(
    "/api-clients",
    tags=["api-clients"],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403),
    summary="Register an API client (platform_admin); its secret is shown only here",
    description=(
        "A school role (`mis_integration`, `senco`, `teacher`) needs the `school_id` of an "
        "existing school, `la_officer` an `la_code`, `platform_admin` neither; any other "
        "combination answers 422. The answer holds `client_secret` once: only its argon2 hash "
        "is kept. Idempotency-Key is not honoured here (a replay would have to store the "
        "secret): a retried registration makes a second client."
    ),
)
async def register_api_client(
    body: ApiClientCreate, request: Request, principal: CurrentPrincipal
) -> ApiClientCreated:
    async with _own_transaction(request) as session:
        client, secret = await service.register_client(session, principal, body)
    return ApiClientCreated.with_secret(client, secret)


@router.get(
    "/api-clients",
    responses=error_responses(403),
    summary="List API clients (platform_admin), oldest first; never their secrets",
    description=(
        "Only `platform_admin`: the registered API clients with their role, scope and whether they "
        "are revoked, oldest first. Secrets are never shown again after registration."
    ),
)
async def list_api_clients(
    session: Session,
    principal: CurrentPrincipal,
    active: Annotated[bool | None, Query(description="Only active (or only revoked) ones")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ApiClientOut]:
    clients, next_cursor = await service.list_clients(session, principal, active, limit, cursor)
    return Page[ApiClientOut](items=[ApiClientOut.of(c) for c in clients], next_cursor=next_cursor)


@router.delete(
    "/api-clients/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403, 404),
    summary="Revoke an API client (platform_admin)",
    description=(
        "Sets `active` false and `revoked_at`. The client gets no new tokens, and the tokens "
        "it holds stop working within 5 seconds. Revoking a revoked client answers 204 again."
    ),
)
async def revoke_api_client(
    client_id: uuid.UUID, session: Session, principal: CurrentPrincipal
) -> Response:
    await service.revoke_client(session, principal, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class _Refusal(Exception):
    def __init__(
        self,
        status_code: int,
        error: OAuthErrorCode,
        description: str,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(description)
        self.status_code = status_code
        self.error: OAuthErrorCode = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        headers = {**NO_STORE, **self.headers}
        if self.status_code == status.HTTP_401_UNAUTHORIZED:
            headers["WWW-Authenticate"] = 'Basic realm="sen-support-api"'
        body = OAuthError(error=self.error, error_description=self.description)
        return JSONResponse(body.model_dump(), status_code=self.status_code, headers=headers)


@dataclass(frozen=True)
class TokenAttemptLimits:
    by_address: AttemptLimit
    by_client: AttemptLimit

    @classmethod
    def of(cls, settings: Settings) -> "TokenAttemptLimits":
        rate, burst = settings.token_attempts_per_second, settings.token_attempt_burst
        return cls(
            by_address=AttemptLimit("token-address", rate, burst),
            by_client=AttemptLimit("token-client", rate, burst),
        )


def _refuse_over_limit(limit: AttemptLimit, key: str) -> None:
    retry_after = limit.retry_after(key)
    if retry_after is not None:
        raise _Refusal(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "slow_down",
            f"Too many token requests; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def _invalid_request(description: str) -> _Refusal:
    return _Refusal(status.HTTP_400_BAD_REQUEST, "invalid_request", description)


def _invalid_client(description: str) -> _Refusal:
    return _Refusal(status.HTTP_401_UNAUTHORIZED, "invalid_client", description)


async def _token_parameters(request: Request) -> dict[str, str | None]:
    """The form's parameters; an empty one counts as absent, a repeated one is refused
    (RFC 6749 §3.2)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise _invalid_request(f"The body must be {FORM_MEDIA_TYPE}")
    form = await request.form()
    parameters: dict[str, str | None] = {}
    for name in TOKEN_PARAMETERS:
        values = form.getlist(name)
        if len(values) > 1:
            raise _invalid_request(f"{name} is sent more than once")
        value = values[0] if values else ""
        if not isinstance(value, str):
            raise _invalid_request(f"{name} must be a plain value")
        parameters[name] = value or None
    return parameters


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _invalid_client("Authenticate the client with HTTP Basic or in the form body")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_client("The Basic credentials are malformed") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise _invalid_client("The Basic credentials are malformed")
    # RFC 6749 §2.3.1: each part is form-urlencoded before the two are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: Request, parameters: dict[str, str | None]) -> tuple[str, str]:
    basic = _basic_credentials(request)
    body_id, body_secret = parameters["client_id"], parameters["client_secret"]
    if basic is not None:
        if body_secret is not None or (body_id is not None and body_id != basic[0]):
            # RFC 6749 §2.3: a client uses one authentication method per request.
            raise _invalid_request("Send the client credentials one way: HTTP Basic or the body")
        return basic
    if body_id is None or body_secret is None:
        raise _invalid_client("Client authentication is required")
    return body_id, body_secret


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthError,
        "description": "RFC 6749 error: `invalid_request` (malformed, missing or repeated "
        "parameters, two authentication methods) or `unsupported_grant_type`",
    },
    401: {
        "model": OAuthError,
        "description": "RFC 6749 `invalid_client`: unknown, wrong, missing or revoked client "
        "credentials, whether sent by HTTP Basic or in the body",
        "headers": {
            "WWW-Authenticate": {"description": "Basic", "schema": {"type": "string"}},
        },
    },
    429: {
        "model": OAuthError,
        "description": "RFC 6749 style `slow_down`: too many attempts for this client id or "
        "from this address; retry after `Retry-After` seconds",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
        },
    },
    **{code: answer for code, answer in error_responses().items() if code in (413, 503)},
}


@secrets_router.post(
    "/oauth/token",
    tags=["oauth"],
    response_model=TokenOut,
    responses=_TOKEN_RESPONSES,
    summary="Issue an access token to an API client (OAuth 2.0 client credentials)",
    description=(
        "Form-encoded (`application/x-www-form-urlencoded`) with `grant_type="
        "client_credentials`; the client authenticates by HTTP Basic or with `client_id` and "
        "`client_secret` in the body, not both. Answers a bearer token for the client's role "
        "and scope, valid for `expires_in` seconds (at most one hour), with "
        "`Cache-Control: no-store`. Errors follow RFC 6749 (`{error, error_description}`), "
        "the one exception to problem+json. Needs no bearer token."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM_MEDIA_TYPE: {"schema": TokenRequest.model_json_schema()}},
        },
        # HTTP Basic, or no scheme at all when the credentials are in the body.
        "security": [{"clientBasic": []}, {}],
    },
)
async def issue_token(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    limits: TokenAttemptLimits = request.app.state.token_attempt_limits
    try:
        # Counted before anything else, the database and the secret's hash included: a flood
        # of wrong secrets costs the flooder, not every other caller.
        _refuse_over_limit(limits.by_address, request.client.host if request.client else "-")
        parameters = await _token_parameters(request)
        grant_type = parameters["grant_type"]
        if grant_type is None:
            raise _invalid_request("grant_type is required")
        if grant_type != "client_credentials":
            raise _Refusal(
                status.HTTP_400_BAD_REQUEST,
                "unsupported_grant_type",
                "Only grant_type=client_credentials is supported",
            )
        if settings.jwt_secret is None:
            raise _Refusal(
                status.HTTP_400_BAD_REQUEST,
                "unsupported_grant_type",
                "This deployment issues no tokens: sign in through the identity provider",
            )
        client_id, secret = _client_credentials(request, parameters)
        _refuse_over_limit(limits.by_client, client_id)
        # The secret is verified with no connection held: argon2 takes milliseconds of CPU.
        async with _own_transaction(request) as session:
            candidate = await service.find_client(session, client_id, secret)
        client = await service.proven_client(candidate, secret)
        if client is None:
            raise _invalid_client("Unknown client, wrong secret, or a revoked client")
        if service.needs_rehash(client):
            upgraded = await service.hash_secret(secret)
            async with _own_transaction(request) as session:
                await service.store_secret_hash(session, client, upgraded)
    except _Refusal as refusal:
        return refusal.response()
    token, expires_in = service.issue_token(settings, client)
    body = TokenOut(access_token=token, token_type="Bearer", expires_in=expires_in)
    return JSONResponse(body.model_dump(), headers=NO_STORE)
