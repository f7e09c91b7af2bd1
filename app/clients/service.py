"""API clients: registration, listing, revocation, and client-credentials authentication.

A client's id is its UUID (`api_clients.id`), used as the OAuth `client_id`, as the `sub` of
its tokens and in the `cid` claim that lets every request check the client is still active.
The secret is random, shown once, and kept only as an argon2id hash.
"""

import asyncio
import functools
import secrets
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.clients import repository
from app.clients.schemas import ApiClientCreate
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import DbSession
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.security import (
    CLIENT_CLAIM,
    DEFAULT_TOKEN_LIFETIME,
    SCHOOL_ROLES,
    Principal,
    Role,
    mint_token,
)
from app.models import ApiClient

SECRET_PREFIX = "sencs_"
MAX_CREDENTIAL_LENGTH = 512
TOKEN_LIFETIME = DEFAULT_TOKEN_LIFETIME

# Secrets are 256 random bits, so the hash only has to make a leaked table useless, not slow a
# guesser down: OWASP's minimum argon2id settings do that and keep a token request cheap.
# Stored hashes made with other settings are upgraded on the client's next successful login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Each hash holds ~19 MiB while it runs: a flood of token requests queues here instead of
# filling memory and the default thread pool.
_hashing_slots = asyncio.Semaphore(4)


@functools.cache
def _decoy_hash() -> str:
    """Verified against for unknown clients, so an unknown id costs as long as a wrong secret."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _verify(stored_hash: str | None, secret: str) -> bool:
    try:
        matched = _hasher.verify(stored_hash or _decoy_hash(), secret)
    except (VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None


async def hash_secret(secret: str) -> str:
    async with _hashing_slots:
        return await asyncio.to_thread(_hasher.hash, secret)


async def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """False for a wrong secret, and always for a missing hash (after the same work)."""
    async with _hashing_slots:
        return await asyncio.to_thread(_verify, stored_hash, secret)


def _scope_errors(data: ApiClientCreate) -> list[FieldError]:
    """The scope a client's tokens will carry must be exactly the one its role needs."""
    errors: list[FieldError] = []
    role = Role(data.role.value)
    needs_school = role in SCHOOL_ROLES
    needs_la = role is Role.LA_OFFICER
    if needs_school and data.school_id is None:
        errors.append(FieldError(field="school_id", message=f"Required for the role {role}"))
    if not needs_school and data.school_id is not None:
        errors.append(FieldError(field="school_id", message=f"Not allowed for the role {role}"))
    if needs_la and data.la_code is None:
        errors.append(FieldError(field="la_code", message=f"Required for the role {role}"))
    if not needs_la and data.la_code is not None:
        errors.append(FieldError(field="la_code", message=f"Not allowed for the role {role}"))
    return errors


async def register_client(
    session: DbSession, principal: Principal, data: ApiClientCreate
) -> tuple[ApiClient, str]:
    """A new active client and its secret, which is returned here and never again."""
    principal.require(Role.PLATFORM_ADMIN)
    errors = _scope_errors(data)
    if errors:
        raise ValidationFailed(errors)
    if data.school_id is not None and not await repository.school_exists(session, data.school_id):
        raise ValidationFailed([FieldError(field="school_id", message="No such school")])
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        id=uuid.uuid4(),
        name=data.name,
        role=data.role.value,
        school_id=data.school_id,
        la_code=data.la_code,
        secret_hash=await hash_secret(secret),
        active=True,
    )
    return await repository.insert_client(session, client), secret


async def list_clients(
    session: DbSession,
    principal: Principal,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ApiClient], str | None]:
    principal.require(Role.PLATFORM_ADMIN)
    return await repository.list_clients(session, active, limit, cursor)


async def revoke_client(session: DbSession, principal: Principal, client_id: uuid.UUID) -> None:
    """Idempotent: revoking a revoked client keeps its first `revoked_at`. Its tokens stop
    working within app.core.security.CLIENT_STATUS_TTL_SECONDS on every process."""
    principal.require(Role.PLATFORM_ADMIN)
    client = await repository.get_client(session, client_id, for_update=True)
    if client is None:
        raise NotFound("No such API client")
    if client.active:
        client.active = False
        client.revoked_at = utcnow()
        await repository.save_client(session, client)


async def find_client(session: DbSession, client_id: str, secret: str) -> ApiClient | None:
    """The client a credential names, if it could be one (a UUID, a secret of sane length)."""
    try:
        known = uuid.UUID(client_id)
    except ValueError:
        return None
    if len(secret) > MAX_CREDENTIAL_LENGTH:
        return None
    return await repository.get_client(session, known)


async def proven_client(client: ApiClient | None, secret: str) -> ApiClient | None:
    """The active client the secret proves, or None. Unknown ids, wrong secrets and revoked
    clients all take one argon2 verification, so timing tells them apart no better than the
    answer does. Needs no database connection: call it after the lookup's has gone back."""
    if not await verify_secret(client.secret_hash if client else None, secret):
        return None
    if client is None or not client.active:
        return None
    return client


def needs_rehash(client: ApiClient) -> bool:
    return _hasher.check_needs_rehash(client.secret_hash)


async def store_secret_hash(session: DbSession, client: ApiClient, secret_hash: str) -> None:
    """Keep a hash made with today's settings (`needs_rehash`), the secret proven right."""
    await repository.update_secret_hash(session, client.id, secret_hash)


def issue_token(settings: Settings, client: ApiClient) -> tuple[str, int]:
    """An access token carrying the client's role and scope, and `cid` for revocation."""
    token = mint_token(
        settings,
        sub=str(client.id),
        role=Role(client.role),
        school_id=client.school_id,
        la_code=client.la_code,
        lifetime=TOKEN_LIFETIME,
        extra_claims={CLIENT_CLAIM: str(client.id)},
    )
    return token, int(TOKEN_LIFETIME.total_seconds())
