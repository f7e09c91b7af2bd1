"""Idempotency-Key for every POST (SPEC.md §5).

A retry with the same key and body replays the first answer; another body is 422; a retry while
the first is still running is 409. The stored answer is written in the same transaction as the
effect (see app/core/db.py), so an answer the client received is always replayable, and an
effect that rolled back left no stored answer.

Keys are scoped per caller: role, subject, scope claims and API client (`caller_key`), so two
tokens that share a subject but not a school never share an answer. A replay is a fresh
request for everything but the work itself: the caller is authenticated again (a revoked
client's key replays nothing), the pupils the first answer touched must still be in the
caller's scope (else 404, as a fresh request would answer), and the replay is audited as a
read of those same records.
"""

import hashlib
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import orjson
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.core.audit import Touched, record_access, touched_in
from app.core.clock import utcnow
from app.core.errors import (
    FieldError,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    NotFound,
    ValidationFailed,
)
from app.core.scope import pupil_scope
from app.core.security import Principal
from app.models import Pupil
from app.models.enums import AuditAction
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


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a key, and the records it touched (resource, touched)."""

    response: Response
    touched: list[tuple[str, Touched]]


def caller_key(principal: Principal) -> str:
    """Who the key belongs to: everything in the token that decides what it may see or do.
    Hashed, since a parent's children or a long subject would not fit the column."""
    identity = [
        principal.role.value,
        principal.sub,
        str(principal.school_id or ""),
        principal.la_code or "",
        sorted(str(pupil_id) for pupil_id in principal.pupil_ids),
        str(principal.client_id or ""),
    ]
    return f"{principal.role.value}:{hashlib.sha256(orjson.dumps(identity)).hexdigest()}"


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
) -> Claim | StoredAnswer:
    """Take the key for this request, or find the stored answer for a retry (`replay` it).

    A transaction-scoped advisory lock marks the key as in flight: a concurrent duplicate fails
    to take it and answers 409 instead of waiting, and the lock ends with the transaction.
    """
    caller = caller_key(principal)
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
    return StoredAnswer(
        response=Response(content=stored.body, status_code=stored.status_code, headers=headers),
        touched=[
            (resource, Touched(uuid.UUID(resource_id), uuid.UUID(pupil_id), uuid.UUID(school_id)))
            for resource, resource_id, pupil_id, school_id in stored.audited
        ],
    )


async def replay(session: AsyncSession, principal: Principal, stored: StoredAnswer) -> Response:
    """The stored answer, if the pupils it shows are still the caller's to see; the replay is
    audited as a read of the records the first answer touched."""
    pupil_ids = list({touched.pupil_id for _, touched in stored.touched})
    if not pupil_ids:
        return stored.response
    visible = await session.scalar(
        select(func.count())
        .select_from(Pupil)
        .where(Pupil.id.in_(pupil_ids), pupil_scope(principal))
    )
    if visible != len(pupil_ids):
        raise NotFound("No such pupil")
    by_resource: dict[str, list[Touched]] = defaultdict(list)
    for resource, touched in stored.touched:
        by_resource[resource].append(touched)
    for resource, touched_rows in by_resource.items():
        await record_access(session, principal, AuditAction.READ, resource, touched_rows)
    return stored.response


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
        "audited": [
            [resource, str(t.resource_id), str(t.pupil_id), str(t.school_id)]
            for resource, t in touched_in(session)
        ],
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
