"""`GET /v1/pupils/{id}` answered in front of the framework when it succeeds.

The target for this read is half the throughput of a bare ASGI app doing the same database work
(issue 6, bench/). With the read down to one statement, FastAPI's routing, dependency solving
and response machinery were a third of the request's CPU (py-spy), so the success path is
served here, as a plain ASGI step inside the edge middleware: the same caller check
(`current_principal`), the same audited statement (`service.read_pupil`), the same JSON and
headers. Everything else falls through to the FastAPI route, which answers it exactly as
before: an id not in canonical form, a missing or bad token, a pupil out of scope or missing
(the statement found no row, so it wrote no audit entry). The route stays the contract: it is
in the OpenAPI document and serves every request this step does not. A database error raised
here reaches the edge middleware's handler, which answers 503 as the route would.
`tests/pupils/test_hot_read.py` compares the two paths.
"""

import re
import uuid

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import ApiError
from app.core.http import etag, json_body
from app.core.security import current_principal
from app.pupils import service

_PUPIL_PATH = re.compile(
    r"/v1/pupils/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)


class HotPupilRead:
    def __init__(self, app: ASGIApp):
        self.app = app
        self._route: APIRoute | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _PUPIL_PATH.fullmatch(scope["path"])
            if match is not None and await self._answered(scope, match.group(1), send):
                return
        await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, pupil_id: str, send: Send) -> bool:
        request = Request(scope)
        try:
            principal = await current_principal(request)
            row = await service.read_pupil(
                request.app.state.database, principal, uuid.UUID(pupil_id)
            )
        except ApiError:
            return False  # the route answers it, as it answers everything else
        body = json_body(service.pupil_json(row))
        # The route's template, for the access log and the metrics.
        scope["route"] = self._route or self._find_route(request)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"etag", etag(row["version"]).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True

    def _find_route(self, request: Request) -> APIRoute:
        from app.pupils.router import get_pupil

        for route in request.app.routes:
            if isinstance(route, APIRoute) and route.endpoint is get_pupil:
                self._route = route
                return route
        raise LookupError("GET /v1/pupils/{pupil_id} is not among the app's routes")
