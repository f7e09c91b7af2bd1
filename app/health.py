"""Liveness, readiness and metrics: no token, no database work beyond one ping."""

import asyncio

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from app.core.errors import DatabaseUnavailable, error_responses

router = APIRouter(tags=["operations"])


class HealthOut(BaseModel):
    status: str


@router.get(
    "/healthz",
    summary="The process is up",
    description=(
        "Liveness for probes and load balancers: answers 200 while the process serves requests. No "
        "token needed; it does not touch the database."
    ),
)
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    responses=error_responses(503),
    summary="The database is reachable",
    description=(
        "Readiness for probes: 200 when the database answers within the pool timeout, 503 (with "
        "Retry-After) when it does not. No token needed."
    ),
)
async def readyz(request: Request) -> HealthOut:
    try:
        timeout = request.app.state.settings.db_pool_timeout_seconds
        async with asyncio.timeout(timeout):
            await request.app.state.database.ping(timeout)
    except Exception as error:
        raise DatabaseUnavailable("The database cannot be reached") from error
    return HealthOut(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    description=(
        "Prometheus text exposition of the service's metrics, for a scraper inside the deployment. "
        "No token needed; not part of the client API."
    ),
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
