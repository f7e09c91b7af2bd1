"""App factories for `uvicorn --factory`: the real app plus routes that only tests have.

`/test/hold` keeps a pooled connection busy in the database (pg_sleep inside the request's
transaction), to exhaust the pool or to have a request in flight at shutdown.
"""

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import Session, UnitOfWorkRoute
from app.core.logging import configure_logging
from app.main import create_app


def app_with_test_routes() -> FastAPI:
    configure_logging()
    app = create_app(get_settings())
    router = APIRouter(prefix="/test", route_class=UnitOfWorkRoute)

    @router.get("/hold")
    async def hold_connection(
        session: Session, seconds: Annotated[float, Query(ge=0, le=30)] = 1.0
    ) -> dict[str, float]:
        await session.execute(text("select pg_sleep(:seconds)"), {"seconds": seconds})
        return {"held": seconds}

    app.include_router(router)
    return app
