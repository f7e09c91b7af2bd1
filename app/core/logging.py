"""Structured logs: one JSON object per line, tagged with the request id, free of personal data.

Every line has `time`, `level`, `logger`, `message` and `request_id` (the id of the request it
was logged under, from `request_id_var`; null outside a request), plus the fields a caller passed
with `extra=` (the access log's `method`, `route`, `status`, `duration_ms`). uvicorn's own
loggers are routed through the same handler, and its access log is switched off: it writes the
raw path and query string, which hold ids and searched names. Ours logs the route template.

Exception text is never written, only the exception's type, its cause's type and the code
locations: a database error's message quotes SQL parameters (a UPN in a unique violation, say),
and uvicorn would otherwise print whole tracebacks with them.
"""

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from app.core.middleware import request_id_var

HANDLER_NAME = "sen-json"
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
# uvicorn adds an ANSI-coloured copy of some messages; the plain message is enough.
_DROPPED_EXTRAS = frozenset({"color_message"})
_FRAMES_KEPT = 6


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)[-_FRAMES_KEPT:]
    return " < ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames)
    )


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record; exceptions by type and location, never by text."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == "-" else request_id,
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in _DROPPED_EXTRAS:
                entry.setdefault(name, value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["exc_type"] = _type_name(error)
            entry["exc_where"] = _where(error)
            cause = error.__cause__ or error.__context__
            if cause is not None:
                entry["exc_cause"] = _type_name(cause)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record, uvicorn's included, through one JSON handler on the root logger.

    Idempotent: calling it again replaces our handler and leaves other handlers (pytest's, say)
    alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Python warnings too, so that the stream holds nothing but JSON lines.
    logging.captureWarnings(True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn writes an access line only when this logger has a handler somewhere up its chain.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
