"""`SingleStatementRoute`: a read route with no session, served without dependency solving where
the endpoint allows it, and by FastAPI's standard handler otherwise; either way an ordinary
route (included the ordinary way, its router's dependencies and overrides applied)."""

import uuid
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from app.core.db import Session, SingleStatementRoute, lean_handler
from app.main import api_routes
from app.pupils.router import get_pupil

seen: list[str] = []


async def caller(request: Request) -> str:
    return request.headers.get("x-caller", "nobody")


Caller = Annotated[str, Depends(caller)]


async def noted(request: Request) -> None:
    seen.append(f"noted {request.url.path}")


async def noted_with_query(request: Request, trace: str = "none") -> None:
    seen.append(f"trace {trace}")


def reads() -> APIRouter:
    router = APIRouter(route_class=SingleStatementRoute)

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: uuid.UUID, who: Caller) -> Response:
        return Response(f"{thing_id} for {who}")

    return router


async def get(app: FastAPI, url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        return await http.get(url, headers=headers)


@pytest.fixture(autouse=True)
def forget_seen():
    seen.clear()


def test_the_pupil_read_is_served_lean():
    route = next(route for route in api_routes() if route.endpoint is get_pupil)
    assert isinstance(route, SingleStatementRoute)
    assert lean_handler(route.dependant) is not None


async def test_dependencies_of_include_router_apply():
    app = FastAPI()
    app.include_router(reads(), dependencies=[Depends(noted)])
    thing = uuid.uuid4()
    answer = await get(app, f"/things/{thing}", **{"x-caller": "senco"})
    assert answer.text == f"{thing} for senco"
    assert seen == [f"noted /things/{thing}"]


async def test_a_dependency_that_needs_more_than_the_request_gets_the_standard_handler():
    app = FastAPI()
    app.include_router(reads(), dependencies=[Depends(noted_with_query)])
    thing = uuid.uuid4()
    answer = await get(app, f"/things/{thing}?trace=abc")
    assert answer.text == f"{thing} for nobody"
    assert seen == ["trace abc"]


async def test_overrides_apply():
    app = FastAPI()
    app.include_router(reads())

    async def stand_in(request: Request) -> str:
        return "stand-in"

    app.dependency_overrides[caller] = stand_in
    thing = uuid.uuid4()
    assert (await get(app, f"/things/{thing}")).text == f"{thing} for stand-in"


async def test_a_malformed_path_parameter_is_the_standard_422():
    app = FastAPI()
    app.include_router(reads())
    answer = await get(app, "/things/not-a-uuid")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["path", "thing_id"]


def test_a_single_statement_route_only_reads_and_has_no_session():
    router = APIRouter(route_class=SingleStatementRoute)

    async def write() -> Response:
        return Response()

    async def with_session(session: Session) -> Response:
        return Response()

    with pytest.raises(TypeError, match="only reads"):
        router.add_api_route("/w", write, methods=["POST"])
    with pytest.raises(TypeError, match="no session"):
        router.add_api_route("/s", with_session, methods=["GET"])
