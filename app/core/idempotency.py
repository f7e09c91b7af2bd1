"""Idempotency-Key for every POST (SPEC.md §5).

A retry with the same key and body replays the first answer; another body is 422; a retry while
the first is still running is 409. The stored answer is written in the same transaction as the
effect (see app/core/db.py), so an answer the client received is always replayable, and an
effect that rolled back left no stored answer. Keys are scoped per caller (role and subject).
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.core.clock import utcnow
from app.core.errors import (
    FieldError,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    ValidationFailed,
)
from app.core.security import Principal
from app.models.idempotency import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("content-type", "location", "etag")
# Expired keys are purged a few at a time by the requests themselves (and by `sen-api purge`).
PURGE_CHANCE = 0.01
PURGE_BATCH = 500


@dataclass(frozen=True)
class Claim:
    caller: str
    key: str
    fingerprint: str


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.url.path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _lock_id(caller: str, key: str) -> int:
    digest = hashlib.blake2b(f"{caller}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def requested_key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST":
        return None
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise ValidationFailed(
            [FieldError(field=HEADER, message="1 to 255 printable ASCII characters")]
        )
    return key


async def claim(
    session: AsyncSession, request: Request, principal: Principal, key: str
) -> Claim | Response:
    """Take the key for this request, or answer the stored response for a retry.

    A transaction-scoped advisory lock marks the key as in flight: a concurrent duplicate fails
    to take it and answers 409 instead of waiting, and the lock ends with the transaction.
    """
    caller = f"{principal.role.value}:{principal.sub}"
    fingerprint = _fingerprint(request, await request.body())
    locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_id(caller, key))))
    if not locked:
        raise IdempotencyKeyInProgress("The first request with this key has not finished yet")
    stored = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at > func.now(),
        )
    )
    if stored is None:
        if random.random() < PURGE_CHANCE:  # load spreading, not security
            await purge_expired(session, PURGE_BATCH)
        return Claim(caller=caller, key=key, fingerprint=fingerprint)
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This key was first used with another method, path or body")
    headers = dict(stored.headers)
    headers["Idempotent-Replayed"] = "true"
    return Response(content=stored.body, status_code=stored.status_code, headers=headers)


def is_stored(response: Response) -> bool:
    """2xx and 4xx answers are kept; 5xx are not, so that a retry can still succeed."""
    return response.status_code < 500


async def store(session: AsyncSession, claimed: Claim, response: Response) -> None:
    now = utcnow()
    values = {
        "caller": claimed.caller,
        "key": claimed.key,
        "fingerprint": claimed.fingerprint,
        "status_code": response.status_code,
        "body": bytes(response.body),
        "headers": {
            name: value for name, value in response.headers.items() if name in REPLAYED_HEADERS
        },
        "created_at": now,
        "expires_at": now + KEEP_FOR,
    }
    statement = insert(IdempotencyRecord).values(values)
    # An expired record under the same key is simply replaced.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IdempotencyRecord.caller, IdempotencyRecord.key],
            set_={
                name: statement.excluded[name] for name in values if name not in ("caller", "key")
            },
        )
    )


async def purge_expired(session: AsyncSession, batch: int | None = None) -> int:
    """Delete expired records (at most `batch` when given); returns how many."""
    expired = select(IdempotencyRecord.caller, IdempotencyRecord.key).where(
        IdempotencyRecord.expires_at <= func.now()
    )
    if batch is not None:
        expired = expired.limit(batch)
    result = await session.execute(
        delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.caller, IdempotencyRecord.key).in_(expired)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
