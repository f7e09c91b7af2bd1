"""Counting the SQL the app sends, for tests that pin a number of statements."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def counted_statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs: through its sessions and as
    single statements (`Database.statement_rows`)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    database = app.state.database
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    database.statement_listeners.append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
        database.statement_listeners.remove(statements.append)
