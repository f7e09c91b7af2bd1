"""Pure ASGI middleware: request ids and the access log, security headers, a boundary for
unexpected errors, body size limit and metrics.

Pure ASGI (not BaseHTTPMiddleware) so that bodies stream through untouched and a limit can be
enforced while reading, without buffering a large body first.
"""

import logging
import time
import uuid
from contextvars import ContextVar

from fastapi import HTTPException
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge, api_error_response

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


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID), adds the security headers and writes
    one access-log line per request: method, route template, status and duration only (no path,
    query string, headers or body: they carry ids, names and tokens)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # Only a short, plain id is echoed; anything else could inject into logs.
        if not (0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()):
            incoming = uuid.uuid4().hex
        token = request_id_var.set(incoming)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", incoming.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in names:
                    # Everything under /v1 is personal data or access-controlled: never cached.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            method, route = scope["method"], route_template(scope)
            access_logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)


class ServerErrorBoundary:
    """Answers an unexpected error inside the middleware stack, with the app's own handler.

    Starlette answers these in its outermost middleware and then re-raises, so the answer would
    miss the request id and security headers, metrics would not see its status, and the server
    would log the traceback with the exception's text (which can quote SQL parameters). Here the
    handler answers (and logs by type and location, under the request id) and nothing is
    re-raised.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_tracking(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as error:
            handler = getattr(scope.get("app"), "exception_handlers", {}).get(Exception)
            if handler is None:
                raise
            response = await handler(Request(scope, receive), error)
            if response_started:
                # Too late for another answer: the server closes the connection.
                return
            await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the limit, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False
            if too_large:
                response = api_error_response(
                    PayloadTooLarge(f"The request body is larger than {limit} bytes")
                )
                await response(scope, receive, send)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read. FastAPI passes HTTPException through
                    # (other errors there become 400); the error handler answers 413.
                    raise HTTPException(413, f"The request body is larger than {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


class MetricsMiddleware:
    """Counts requests and their latency by route template, never by raw path (ids stay out)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_capturing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_capturing_status)
        finally:
            template = route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
