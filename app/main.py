"""The ASGI application: `app.main:app`."""

import asyncio
import copy
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api import ROUTERS
from app.clients.router import TokenAttemptLimits
from app.core.config import Settings, get_settings
from app.core.db import Database, UnitOfWorkRoute
from app.core.errors import Problem, install_error_handlers
from app.core.http import RESPONSE_HEADERS, header_ref
from app.core.idempotency import HEADER as IDEMPOTENCY_KEY
from app.core.idempotency import MAX_KEY_LENGTH
from app.core.logging import configure_logging
from app.core.middleware import EdgeMiddleware
from app.devserver import prepare_embedded_database
from app.health import router as health_router

logger = logging.getLogger("app")

DESCRIPTION = """\
The system of record for SEN support in English schools: pupils, support plans and their
Assess-Plan-Do-Review cycles, reviews, specialist involvement, EHC needs assessment requests and
top-up funding claims. Errors are RFC 9457 `application/problem+json` with a machine-readable
`code`. Every `/v1` call needs a bearer token, except `POST /v1/oauth/token`, which issues them.
"""


# One entry per tag the routers use (a test checks the two agree), in the order a reader meets
# them; generated clients group operations by tag (one API class per tag).
TAGS: list[dict[str, str]] = [
    {
        "name": "operations",
        "description": "Liveness, readiness and metrics for the deployment; no token",
    },
    {
        "name": "oauth",
        "description": "Tokens for registered API clients (OAuth 2.0 client credentials)",
    },
    {
        "name": "api-clients",
        "description": "Registering, listing and revoking API clients (platform_admin)",
    },
    {"name": "schools", "description": "Schools: the scope of every school role"},
    {
        "name": "pupils",
        "description": "Pupil records, their SEN status and needs, and batch upserts from an MIS",
    },
    {
        "name": "concerns",
        "description": "Concerns raised about a pupil by staff, parents or the pupil",
    },
    {
        "name": "events",
        "description": "The change feed of what happened to the records in the caller's scope",
    },
    {"name": "audit", "description": "The audit trail of every read and write of a pupil's data"},
    {
        "name": "specialists",
        "description": "Specialist involvements, and the waits for them by school and by LA",
    },
    {"name": "local offer", "description": "The local authority's Local Offer of services"},
    {"name": "support plans", "description": "SEN support plans: opening and closing them"},
    {
        "name": "cycles",
        "description": "Assess-Plan-Do-Review cycles: records, views, logs, checks, transitions",
    },
    {
        "name": "reviews",
        "description": "Completed reviews, by pupil or by school, and the reviews coming due",
    },
    {"name": "rules", "description": "The catalogue of rules checked on transitions and dry runs"},
    {
        "name": "EHC requests",
        "description": "Requests for an EHC needs assessment, their decisions and evidence",
    },
    {"name": "funding", "description": "Top-up funding thresholds and claims"},
    {
        "name": "reports",
        "description": "A school's SEN register, census, provision costs and notional SEN budget",
    },
    {
        "name": "data protection",
        "description": "Subject access exports, and legal holds that stop the retention purge",
    },
]

# Each deployment (an LA's, a trust's) serves the API at its own origin, so the first server is
# relative: the document's own host. Generated clients take servers[0] as their default base URL
# and let the caller set the real one; a made-up production host would send them nowhere.
SERVERS: list[dict[str, str]] = [
    {"url": "/", "description": "The host serving this document"},
    {"url": "http://127.0.0.1:8000", "description": "A development server (`sen-api serve`)"},
]
CONTACT: dict[str, str] = {"name": "SEN Support API maintainers"}


def api_routes() -> Iterator[APIRoute]:
    """The app's operations, as their routers declare them (included with no prefix)."""
    for router in (health_router, *ROUTERS):
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route


def operation_id(route: APIRoute) -> str:
    """Stable operationIds: the endpoint function's name (unique across the app)."""
    return route.name


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if app.state.database is None:
        # No DATABASE_URL: bring up the embedded server so one command serves on a bare laptop.

        url = await asyncio.to_thread(prepare_embedded_database, settings)
        app.state.database = Database(url, settings)
    # Everything built at startup (routes, schemas, SQLAlchemy metadata) lives as long as the
    # process: out of the collector's reach, full collections no longer walk it on every pass,
    # which showed as p99 stalls under load.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        await app.state.database.dispose()


# 401: the caller is checked before the key; 408, 413 and 431: the edge answers them.
NEVER_REPLAYED = frozenset({"401", "408", "413", "431"})
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry for 24 hours: a retry with the same key and "
    "body replays the first answer (with `Idempotent-Replayed: true`), one with another body "
    "is 422 `idempotency_key_reused`, one while the first is still running is 409 "
    "`idempotency_key_in_progress`",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        # Printable ASCII; surrounding spaces would not survive the trip (HTTP strips them).
        "pattern": "^[!-~](?:[ -~]*[!-~])?$",
    },
}


def _declare_retry_after(operation: dict[str, Any]) -> None:
    # Every 429 and 503 says when to come back (app/core/errors.py, app/clients/router.py).
    for status, response in operation.get("responses", {}).items():
        if status in ("429", "503"):
            response.setdefault("headers", {}).setdefault("Retry-After", header_ref("Retry-After"))


def _declare_idempotency(operation: dict[str, Any]) -> None:
    """Every POST on a unit of work honours Idempotency-Key (app/core/db.py). Its answers are
    stored and replayed with Idempotent-Replayed, but for 5xx and for refusals made before the
    key is looked at (the token, the edge's limits, a malformed key)."""
    operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER))
    for status, response in operation["responses"].items():
        if status.startswith(("2", "4")) and status not in NEVER_REPLAYED:
            response.setdefault("headers", {})["Idempotent-Replayed"] = header_ref(
                "Idempotent-Replayed"
            )


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = FastAPI.openapi(app)
    components = schema.setdefault("components", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem.pop("$defs", {}).items():
        components.setdefault("schemas", {})[name] = definition
    components.setdefault("schemas", {})["Problem"] = problem
    components["headers"] = copy.deepcopy(RESPONSE_HEADERS)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "clientBasic": {"type": "http", "scheme": "basic", "description": "API client id:secret"},
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                # A route that declares its own (the token endpoint) keeps it.
                operation.setdefault("security", [{"bearerAuth": []}])
        for operation in operations.values():
            _declare_retry_after(operation)
    for route in api_routes():
        if (
            isinstance(route, UnitOfWorkRoute)
            and "POST" in (route.methods or ())
            and route.include_in_schema
        ):
            _declare_idempotency(schema["paths"][route.path_format]["post"])
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.jwt_secret is None and settings.jwt_jwks_url is None:
        raise RuntimeError(
            "Set SEN_JWT_SECRET (or SEN_JWT_JWKS_URL): the API accepts no unsigned callers"
        )
    app = FastAPI(
        title="SEN Support API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        servers=SERVERS,
        contact=CONTACT,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.database = (
        Database(settings.database_url, settings) if settings.database_url else None
    )
    app.state.bulk_write_slots = asyncio.Semaphore(settings.bulk_write_concurrency)
    app.state.render_slots = asyncio.Semaphore(settings.pdf_renders)
    app.state.token_attempt_limits = TokenAttemptLimits.of(settings)
    install_error_handlers(app, settings.retry_after_seconds)
    for router in (health_router, *ROUTERS):
        app.include_router(router)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        read_timeout_seconds=settings.request_read_timeout_seconds,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def __getattr__(name: str) -> Any:
    # `app.main:app` is built on first use, so importing this module never needs settings.
    # It is what servers load (`sen-api serve`, the Dockerfile's uvicorn), so it also turns
    # logging into JSON lines, uvicorn's own loggers included; tests build apps with
    # create_app() and keep pytest's logging.
    if name == "app":
        configure_logging()
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
