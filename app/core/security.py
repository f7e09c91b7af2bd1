"""Bearer tokens, the caller (principal), roles and scope (SPEC.md §4)."""

import asyncio
import functools
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.errors import Forbidden, Unauthorized
from app.models.api_client import ApiClient

logger = logging.getLogger("app.security")

HS256 = "HS256"
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
DEFAULT_ISSUER = "sen-support-api"
# The audit trail keeps `actor_sub` in 200 characters: a longer subject could never be audited,
# so its token is refused at the door rather than failing every audited call later.
MAX_SUBJECT_LENGTH = 200
# Clock skew tolerated between the token's signer and this service, for `iat` and `exp`.
CLOCK_SKEW_SECONDS = 30
# The claim naming the API client a token was issued to by POST /v1/oauth/token.
CLIENT_CLAIM = "cid"
# Identity-provider keys: each key type verifies exactly one algorithm, so a token can never
# pick how it is checked (no "none", no HMAC keyed with an RSA public key).
ALGORITHM_BY_KEY_TYPE = {"RSA": "RS256"}
JWKS_CACHE_SECONDS = 300
JWKS_FETCH_TIMEOUT_SECONDS = 5.0


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    SENCO = "senco"
    TEACHER = "teacher"
    MIS_INTEGRATION = "mis_integration"
    LA_OFFICER = "la_officer"
    PARENT = "parent"


SCHOOL_ROLES = frozenset({Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION})


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    school_id: uuid.UUID | None = None
    la_code: str | None = None
    pupil_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # Set for tokens this service issued to a registered API client (the `cid` claim).
    client_id: uuid.UUID | None = None

    @property
    def is_school_staff(self) -> bool:
        return self.role in SCHOOL_ROLES

    def require(self, *roles: Role) -> None:
        """Refuse with 403 unless the caller has one of `roles` (call after the scope check)."""
        if self.role not in roles:
            raise Forbidden(f"The role {self.role.value} may not do this")


def mint_token(
    settings: Settings,
    *,
    sub: str,
    role: Role,
    school_id: uuid.UUID | None = None,
    la_code: str | None = None,
    pupil_ids: list[uuid.UUID] | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    if settings.jwt_secret is None:
        raise RuntimeError("SEN_JWT_SECRET is not set: cannot mint tokens")
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer or DEFAULT_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if school_id is not None:
        claims["school_id"] = str(school_id)
    if la_code is not None:
        claims["la_code"] = la_code
    if pupil_ids is not None:
        claims["pupil_ids"] = [str(p) for p in pupil_ids]
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=HS256)


def _uuid_claim(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise Unauthorized("Token scope is malformed")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unauthorized("Token scope is malformed") from None


def principal_from_claims(claims: dict[str, Any], *, api_client_claim: bool = True) -> Principal:
    """The caller a verified token describes. `api_client_claim` is False for tokens from an
    identity provider, whose own `cid` (Okta sets one) names none of our clients."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("Token has no subject")
    if len(sub) > MAX_SUBJECT_LENGTH:
        raise Unauthorized(f"The token's subject is longer than {MAX_SUBJECT_LENGTH} characters")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("Token has an unknown role") from None
    school_id: uuid.UUID | None = None
    la_code: str | None = None
    pupil_ids: frozenset[uuid.UUID] = frozenset()
    # A token without the scope its role needs is refused outright rather than read as "no scope".
    if role in SCHOOL_ROLES:
        school_id = _uuid_claim(claims.get("school_id"))
    elif role is Role.LA_OFFICER:
        la_code = claims.get("la_code")
        if not isinstance(la_code, str) or len(la_code) != 3 or not la_code.isdigit():
            raise Unauthorized("Token scope is malformed")
    elif role is Role.PARENT:
        raw = claims.get("pupil_ids")
        if not isinstance(raw, list):
            raise Unauthorized("Token scope is malformed")
        pupil_ids = frozenset(_uuid_claim(p) for p in raw)
    client_id: uuid.UUID | None = None
    if api_client_claim and CLIENT_CLAIM in claims:
        client_id = _uuid_claim(claims[CLIENT_CLAIM])
    return Principal(
        sub=sub,
        role=role,
        school_id=school_id,
        la_code=la_code,
        pupil_ids=pupil_ids,
        client_id=client_id,
    )


def _checked_claims(token: str, key: Any, algorithm: str, settings: Settings) -> dict[str, Any]:
    required = ["exp", "iat", "sub", "aud"]
    if settings.jwt_issuer is not None:
        required.append("iss")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            # Pinned: a token naming another algorithm (or "none") is refused.
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            # `iat` is checked below, with the skew a signer's clock may have; `exp` strictly.
            options={"require": required, "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("The token is for another audience") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("The token is from another issuer") from None
    except jwt.PyJWTError:
        raise Unauthorized("The token is invalid") from None
    issued_at = claims["iat"]
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        raise Unauthorized("The token's iat is not a time")
    if issued_at > time.time() + CLOCK_SKEW_SECONDS:
        raise Unauthorized("The token was issued in the future")
    # A stolen ten-year token must not work for ten years: the lifetime is bounded here,
    # whatever the signer chose.
    if claims["exp"] - issued_at > settings.max_token_seconds:
        raise Unauthorized(
            f"The token lives longer than {settings.max_token_seconds} seconds (exp - iat)"
        )
    return claims


def _decode_local_token(settings: Settings, token: str) -> tuple[Principal, float]:
    if settings.jwt_secret is None:
        raise Unauthorized("This deployment accepts no locally signed tokens")
    claims = _checked_claims(token, settings.jwt_secret.get_secret_value(), HS256, settings)
    return principal_from_claims(claims), float(claims["exp"])


def decode_token(settings: Settings, token: str) -> Principal:
    """A locally signed (HS256) token's caller. Never does I/O; `authenticate` also takes
    identity-provider tokens and checks that an API client is still active."""
    return _decode_local_token(settings, token)[0]


@functools.lru_cache(maxsize=8)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # The key set is cached for JWKS_CACHE_SECONDS (a key the provider withdraws stops working
    # within that time); an unknown `kid` refetches at most once per PyJWT's 30 s cooldown, so
    # tokens with invented kids cannot hammer the provider. The per-kid LRU cache stays off: it
    # never expires, and would keep a withdrawn key valid for the life of the process.
    return jwt.PyJWKClient(
        url,
        cache_keys=False,
        cache_jwk_set=True,
        lifespan=JWKS_CACHE_SECONDS,
        timeout=JWKS_FETCH_TIMEOUT_SECONDS,
    )


def _provider_key(url: str, kid: str) -> jwt.PyJWK:
    """Blocking (may fetch the key set): run in a thread."""
    return _jwks_client(url).get_signing_key(kid)


async def _decode_provider_token(
    settings: Settings, token: str, header: dict[str, Any]
) -> tuple[Principal, float]:
    assert settings.jwt_jwks_url is not None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("The token names no signing key")
    try:
        key = await asyncio.to_thread(_provider_key, settings.jwt_jwks_url, kid)
    except (jwt.PyJWKClientConnectionError, ValueError):
        logger.warning("the identity provider's key set cannot be fetched")
        raise Unauthorized("The token's signing keys cannot be fetched; retry shortly") from None
    except jwt.PyJWTError:
        raise Unauthorized("The token's signing key is unknown") from None
    algorithm = ALGORITHM_BY_KEY_TYPE.get(key.key_type or "")
    # `algorithm_name` is the key's declared `alg`, or its key type's default when it has none.
    if algorithm is None or key.algorithm_name != algorithm:
        raise Unauthorized("The token's signing key is not usable here")
    claims = _checked_claims(token, key.key, algorithm, settings)
    return principal_from_claims(claims, api_client_claim=False), float(claims["exp"])


class _VerifiedTokens:
    """Per process: token -> (caller, good until). Clients send the same token for up to an
    hour, and checking its signature cost ~50 µs per request, a tenth of a hot read. A token
    is trusted from here until its `exp`, and for VERIFIED_TOKEN_TTL_SECONDS at most, so a
    signing key the identity provider withdraws stops working within that time too (its key
    set is cached for longer anyway). API-client revocation is checked on every request
    regardless (`current_principal`). Bounded in size; only good tokens are kept."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[tuple[Any, ...], tuple[Principal, float, float]] = {}

    def get(self, key: tuple[Any, ...]) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, expires_at, verified_at = entry
        # PyJWT refuses a token whose `exp` is not after now; the same here.
        if time.time() >= expires_at or time.monotonic() - verified_at >= self.ttl_seconds:
            del self._entries[key]
            return None
        return principal

    def put(self, key: tuple[Any, ...], principal: Principal, expires_at: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (principal, expires_at, time.monotonic())


VERIFIED_TOKEN_TTL_SECONDS = 60.0
_verified_tokens = _VerifiedTokens(VERIFIED_TOKEN_TTL_SECONDS)


async def authenticate(settings: Settings, token: str) -> Principal:
    """Verify a bearer token: HS256 with SEN_JWT_SECRET, or RS256 with a key from
    SEN_JWT_JWKS_URL. The header only chooses which key to try; the algorithm is then pinned
    to that key, so a token cannot choose how it is checked."""
    # Keyed by what decides a token's validity too, so deployments (and tests) with other
    # keys or audiences never share an entry.
    cache_key = (
        token,
        settings.jwt_secret,
        settings.jwt_jwks_url,
        settings.jwt_audience,
        settings.jwt_issuer,
        settings.max_token_seconds,
    )
    principal = _verified_tokens.get(cache_key)
    if principal is not None:
        return principal
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("The token is invalid") from None
    algorithm = header.get("alg")
    if algorithm == HS256 and settings.jwt_secret is not None:
        principal, expires_at = _decode_local_token(settings, token)
    elif settings.jwt_jwks_url is not None and algorithm in ALGORITHM_BY_KEY_TYPE.values():
        principal, expires_at = await _decode_provider_token(settings, token, header)
    else:
        raise Unauthorized("The token is invalid")
    _verified_tokens.put(cache_key, principal, expires_at)
    return principal


class _ClientStatusCache:
    """Per process: client id -> (checked at, active). Bounded in age and in size."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[uuid.UUID, tuple[float, bool]] = {}

    def get(self, client_id: uuid.UUID) -> bool | None:
        entry = self._entries.get(client_id)
        if entry is None or time.monotonic() - entry[0] >= self.ttl_seconds:
            return None
        return entry[1]

    def put(self, client_id: uuid.UUID, active: bool) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[client_id] = (time.monotonic(), active)


# SPEC.md §4: a revoked client's tokens stop working within 5 seconds, on every process. The
# truth is the `active` flag in the database, which every process reads; each process asks
# again at most once per client every CLIENT_STATUS_TTL_SECONDS, so a revocation (by the API,
# the CLI or by hand in SQL) reaches all of them within that time plus one request, with no
# shared cache or message bus to keep consistent, and a busy client costs one indexed lookup
# per process per TTL rather than one per request.
CLIENT_STATUS_TTL_SECONDS = 2.0
_client_status = _ClientStatusCache(CLIENT_STATUS_TTL_SECONDS)


async def _client_active(session: AsyncSession, client_id: uuid.UUID) -> bool:
    active = await session.scalar(select(ApiClient.active).where(ApiClient.id == client_id))
    return bool(active)


async def refuse_inactive_client(request: Request, client_id: uuid.UUID) -> None:
    active = _client_status.get(client_id)
    if active is None:
        # The request's own session when the route has one (one connection per request);
        # otherwise a short one of our own.
        session: AsyncSession | None = getattr(request.state, "session", None)
        if session is not None:
            active = await _client_active(session, client_id)
        else:
            async with request.app.state.database.sessionmaker() as own:
                active = await _client_active(own, client_id)
        _client_status.put(client_id, active)
    if not active:
        raise Unauthorized("The API client this token was issued to has been revoked")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("A bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    settings: Settings = request.app.state.settings
    principal = await authenticate(settings, bearer_token(request))
    if principal.client_id is not None:
        await refuse_inactive_client(request, principal.client_id)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
