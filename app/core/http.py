"""HTTP conventions shared by every resource: ETags, If-Match and list pages (SPEC.md §5)."""

import asyncio
import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Response
from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.types import Receive, Scope, Send

from app.core.errors import (
    FieldError,
    ServiceBusy,
    StaleVersion,
    ValidationFailed,
    api_error_response,
)

# Routers carry the prefix themselves so that every route knows its full path template
# (metrics label requests by it).
API_PREFIX = "/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Refuse with 412 when the client's If-Match names another version; absent means no check."""
    if if_match is None:
        return
    candidates = [part.strip() for part in if_match.split(",")]
    for candidate in candidates:
        if candidate == "*":
            return
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate.strip('"') == str(current_version):
            return
    raise StaleVersion(f"The current version is {current_version}; read it again and retry")


# Response headers as the contract declares them, in `components.headers`: named by
# `answer_headers` where a route sends them, and by app/main.py where every answer of a kind does.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The version of the resource answered, e.g. "3": send it back as '
        "If-Match to change the resource",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL of the resource created",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Idempotent-Replayed": {
        "description": "Present (true) when this is the stored answer to an earlier request "
        "with the same Idempotency-Key, replayed",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def answer_headers(status: int, *names: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entry declaring the headers a route's `status` answer carries, to
    merge with `error_responses(...)`."""
    return {status: {"headers": {name: header_ref(name) for name in names}}}


def header_ref(name: str) -> dict[str, str]:
    assert name in RESPONSE_HEADERS, name
    return {"$ref": f"#/components/headers/{name}"}


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag you read, e.g. "3"; a stale one answers 412'),
]

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Page size (default {DEFAULT_LIMIT}, max {MAX_LIMIT})"),
]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's next_cursor"),
]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        values = None
    # A NUL could only come from a forged cursor, and PostgreSQL refuses it in text.
    if (
        not isinstance(values, list)
        or len(values) != length
        or any(isinstance(value, str) and "\x00" in value for value in values)
    ):
        raise ValidationFailed([FieldError(field="cursor", message="Not a cursor from this list")])
    return values


def _cursor_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | date | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


def _column_value(column: InstrumentedAttribute[Any], raw: Any) -> Any:
    python_type = column.type.python_type
    if python_type is uuid.UUID:
        return uuid.UUID(str(raw))
    if python_type is datetime:
        return datetime.fromisoformat(str(raw))
    if python_type is date:
        return date.fromisoformat(str(raw))
    if python_type is int and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if python_type is str and isinstance(raw, str):
        return raw
    raise ValueError("cursor value of the wrong type")


def cursor_for(order: Sequence[InstrumentedAttribute[Any]], item: Any) -> str:
    """The opaque cursor of `item` in a list ordered by `order` (a keyset)."""
    return encode_cursor([_cursor_value(getattr(item, column.key)) for column in order])


def after_values(order: Sequence[InstrumentedAttribute[Any]], cursor: str) -> list[Any]:
    """The keyset values a cursor carries, typed as the columns of `order`; 422 otherwise."""
    raw = decode_cursor(cursor, len(order))
    try:
        return [_column_value(column, value) for column, value in zip(order, raw, strict=True)]
    except (ValueError, TypeError):
        raise ValidationFailed(
            [FieldError(field="cursor", message="Not a cursor from this list")]
        ) from None


def after_cursor(
    order: Sequence[InstrumentedAttribute[Any]], cursor: str, *, descending: bool = False
) -> ColumnElement[bool]:
    """Rows strictly after the cursor's item in the keyset `order` (all ascending, or all
    descending)."""
    columns, bound = tuple_(*order), tuple_(*after_values(order, cursor))
    return columns < bound if descending else columns > bound


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    order: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    cursor: str | None,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `query` in the stable keyset `order`, and the cursor of the next page."""
    if cursor is not None:
        query = query.where(after_cursor(order, cursor, descending=descending))
    ordering = [column.desc() if descending else column for column in order]
    rows = list((await session.scalars(query.order_by(*ordering).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_for(order, rows[-1])


def json_body(content: Any) -> bytes:
    """JSON as pydantic writes our models: compact, UUIDs as text (asyncpg's own UUID type
    included), datetimes in UTC ending in Z. For answers built from database rows."""
    return orjson.dumps(content, default=str, option=orjson.OPT_UTC_Z)


def prefers_over_json(accept: str | None, media_type: str) -> bool:
    """Whether an Accept header asks for `media_type` by name, at least as strongly as for JSON
    (a q of 0 means "not this"). JSON stays the default."""
    if not accept:
        return False
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[media.lower()] = q
    wanted = weights.get(media_type, 0.0)
    json_weight = max(weights.get("application/json", 0.0), weights.get("*/*", 0.0))
    return wanted > 0 and wanted >= json_weight


class RenderedLater(Response):
    """A body rendered only as the response is sent: after the request's unit of work has
    committed and returned its connection, so seconds of CPU (a large PDF) never hold a
    database transaction open. At most `app.state.render_slots` render at once per process;
    one that cannot start within `settings.render_wait_seconds` answers 503 `service_busy`
    with Retry-After instead."""

    def __init__(
        self, render: Callable[[], bytes], *, media_type: str, headers: dict[str, str]
    ) -> None:
        # Nothing is rendered yet: the body and its length are set in __call__.
        self.renderer = render
        self.media_type = media_type
        self.rendered_headers = headers
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        slots: asyncio.Semaphore = state.render_slots
        try:
            async with asyncio.timeout(state.settings.render_wait_seconds):
                await slots.acquire()
        except TimeoutError:
            retry_after = str(state.settings.retry_after_seconds)
            busy = ServiceBusy(
                "Too many documents are being rendered; retry shortly",
                headers={"Retry-After": retry_after},
            )
            await api_error_response(busy)(scope, receive, send)
            return
        try:
            # CPU work: off the event loop.
            body = await asyncio.to_thread(self.renderer)
        finally:
            slots.release()
        rendered = Response(body, media_type=self.media_type, headers=self.rendered_headers)
        await rendered(scope, receive, send)
