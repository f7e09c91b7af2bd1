"""The EHC evidence bundle the LA weighs (SPEC.md §6), as JSON or PDF.

Its own package, above the ones it draws from (EHC requests, cycles, specialists, claims), so
that none of them imports another to assemble it.
"""

import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, RenderedLater, prefers_over_json
from app.core.security import CurrentPrincipal
from app.evidence import pdf
from app.evidence.bundle import build_evidence_bundle
from app.evidence.schemas import EvidenceBundle

router = APIRouter(prefix=API_PREFIX, tags=["EHC requests"], route_class=UnitOfWorkRoute)

PDF = "application/pdf"


@router.get(
    "/ehc-requests/{request_id}/evidence",
    response_model=EvidenceBundle,
    responses={
        **error_responses(403, 404),
        200: {
            "description": "The evidence bundle, as JSON or (Accept: application/pdf) a PDF",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    summary="The evidence bundle the LA weighs: JSON, or PDF with Accept: application/pdf",
    description=(
        "Everything held about the SEN support given: identity and school, needs, every cycle "
        "with its assessment, outcomes, provisions and costs, delivery totals, reviews with "
        "progress, views, accepted departures, specialist advice, concerns and funding claims, "
        "in date order. For the school and for an officer of the request's LA only."
    ),
)
async def get_ehc_evidence(
    request_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    bundle = await build_evidence_bundle(session, principal, request_id)
    if prefers_over_json(accept, PDF):
        # Rendered after the commit, with no connection held (RenderedLater).
        return RenderedLater(
            functools.partial(pdf.render_evidence_pdf, bundle),
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="ehc-evidence-{request_id}.pdf"'},
        )
    # Serialised once: returned as a model, FastAPI would validate the whole bundle again.
    return Response(
        EvidenceBundle.__pydantic_serializer__.to_json(bundle), media_type="application/json"
    )
