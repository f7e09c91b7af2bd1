"""Counting the SQL the app sends, for tests that pin a number of statements."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def counted_statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app sends through its SQLAlchemy engine while the block runs
    (statements on the direct pool, `app.core.db.DirectStatement`, are not among them)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
