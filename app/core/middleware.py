"""The edge of every request, as one pure ASGI middleware: request id and access log, security
headers, metrics, the header and body limits, the body's deadline and a boundary for unexpected
errors.

Pure ASGI (not BaseHTTPMiddleware) so that bodies stream through untouched and a limit can be
enforced while reading, without buffering a large body first. One layer rather than four: each
layer wrapped `send` and `receive` again, and on a hot read that was a tenth of the request.
"""

import asyncio
import logging
import time
import uuid
from contextvars import ContextVar

from fastapi import HTTPException
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import (
    ApiError,
    PayloadTooLarge,
    RequestHeaderFieldsTooLarge,
    api_error_response,
)

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

access_logger = logging.getLogger("app.access")

REQUESTS = Counter(
    "sen_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "sen_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/pupils/{pupil_id}`), never the raw path with its ids."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class EdgeMiddleware:
    """Per HTTP request, from the outside in:

    - an id (echoed as X-Request-ID) and the security headers on every answer, a 413 included;
    - one access-log line: method, route template, status and duration only (no path, query
      string, headers or body: they carry ids, names and tokens);
    - request count and latency by route template, never by raw path (ids stay out);
    - 431 for header fields over `max_header_bytes` in all (the request target is not
      counted: the app answers a long query string itself). The server (app/core/protocol.py)
      refuses incomplete ones, which is what bounds memory; this answers complete ones, and
      any server's;
    - 413 for a body over the limit, by Content-Length or while streaming;
    - 408 (and `Connection: close`) for a body not complete `read_timeout_seconds` after the
      request reached the app: a client trickling its body holds nothing for longer;
    - unexpected errors answered here by the app's own handler, so the 500 carries the request
      id and headers and is counted. Starlette would answer them in its outermost middleware
      and re-raise, and the server would log the traceback with the exception's text (which can
      quote SQL parameters); here they are logged by type and location, and not re-raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_header_bytes: int,
        read_timeout_seconds: float,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.read_timeout_seconds = read_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        # Only a short, plain id is echoed; anything else could inject into logs.
        if not (0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()):
            incoming = uuid.uuid4().hex
        token = request_id_var.set(incoming)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                extra = list(message.get("headers", []))
                names = {name.lower() for name, _ in extra}
                extra.append((b"x-request-id", incoming.encode()))
                extra.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in names:
                    # Everything under /v1 is personal data or access-controlled: never cached.
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = extra
            await send(message)

        limit = self.max_body_bytes
        received = 0
        body_complete = False
        read_deadline = started + self.read_timeout_seconds

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            if body_complete:
                # Waiting for the client to disconnect (a streamed answer): no deadline.
                return await receive()
            try:
                async with asyncio.timeout(read_deadline - time.perf_counter()):
                    message = await receive()
            except TimeoutError:
                # Raised inside the route's body read. FastAPI passes HTTPException through
                # (other errors there become 400); the error handler answers 408 or 413.
                raise HTTPException(
                    408,
                    f"The request body did not arrive within {self.read_timeout_seconds:g} seconds",
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"The request body is larger than {limit} bytes")
                body_complete = not message.get("more_body", False)
            return message

        try:
            refusal: ApiError | None = None
            if _header_bytes(scope["headers"]) > self.max_header_bytes:
                refusal = RequestHeaderFieldsTooLarge(
                    f"The request headers are larger than {self.max_header_bytes} bytes in all"
                )
            elif _declared_too_large(headers.get(b"content-length"), limit):
                refusal = PayloadTooLarge(f"The request body is larger than {limit} bytes")
            if refusal is not None:
                await api_error_response(refusal)(scope, receive, send_with_headers)
                return
            await self.app(scope, limited_receive, send_with_headers)
        except Exception as error:
            handler = getattr(scope.get("app"), "exception_handlers", {}).get(Exception)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), error)
            if not response_started:
                # Otherwise too late for another answer: the server closes the connection.
                await response(scope, receive, send_with_headers)
        finally:
            method, route = scope["method"], route_template(scope)
            duration = time.perf_counter() - started
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(duration)
            access_logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            request_id_var.reset(token)


def _header_bytes(fields: list[tuple[bytes, bytes]]) -> int:
    """The header fields' size as sent: each with its `: ` and CRLF."""
    size = 4 * len(fields)
    for name, value in fields:
        size += len(name) + len(value)
    return size


def _declared_too_large(content_length: bytes | None, limit: int) -> bool:
    if content_length is None:
        return False
    try:
        return int(content_length) > limit
    except ValueError:
        return False
