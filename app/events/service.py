"""The change feed's read side: a page of events written as `EventPage`'s JSON."""

from typing import Any

import orjson

from app.core.db import Database
from app.core.http import json_body
from app.core.security import Principal
from app.events import repository


async def feed_page(database: Database, principal: Principal, after: int, limit: int) -> bytes:
    """The JSON body of one feed page, the stored event data passed through as its text."""
    rows = await repository.read_feed_rows(database, principal, after, limit)
    items: list[dict[str, Any]] = []
    for row in rows:
        item = dict(row)
        item["data"] = orjson.Fragment(item["data"])
        items.append(item)
    return json_body({"items": items, "next_cursor": items[-1]["seq"] if items else None})
