"""HTTP conventions shared by every resource: ETags, If-Match and list pages (SPEC.md §5)."""

import base64
import binascii
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Response

from app.core.errors import FieldError, StaleVersion, ValidationFailed

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
    if not isinstance(values, list) or len(values) != length:
        raise ValidationFailed([FieldError(field="cursor", message="Not a cursor from this list")])
    return values
