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


def _pdf_answer(bundle: EvidenceBundle) -> RenderedLater:
    """The bundle as a PDF, for both the negotiated path and `.pdf`: rendered after the commit,
    with no connection held, a few at a time (RenderedLater)."""
    return RenderedLater(
        functools.partial(pdf.render_evidence_pdf, bundle),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="ehc-evidence-{bundle.request.id}.pdf"'},
    )


@router.get(
    "/ehc-requests/{request_id}/evidence",
    response_model=EvidenceBundle,
    responses={
        **error_responses(403, 404),
        200: {
            "description": "The evidence bundle as JSON. The same bundle as a PDF is its own "
            "operation, `get_ehc_evidence_pdf` (GET /v1/ehc-requests/{request_id}/evidence.pdf); "
            "`Accept: application/pdf` here still answers the PDF, for existing clients"
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
        return _pdf_answer(bundle)
    # Serialised once: returned as a model, FastAPI would validate the whole bundle again.
    return Response(
        EvidenceBundle.__pydantic_serializer__.to_json(bundle), media_type="application/json"
    )


@router.get(
    "/ehc-requests/{request_id}/evidence.pdf",
    response_class=Response,
    responses={
        **error_responses(403, 404),
        200: {
            "description": "The evidence bundle as a PDF",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    summary="The evidence bundle the LA weighs, as a PDF",
    description=(
        "The bundle of `get_ehc_evidence` (GET /v1/ehc-requests/{request_id}/evidence) "
        "rendered as a PDF, with the same access rules, and audited the same way (an export). "
        "Rendered after the read, a few at a time: when every render slot stays taken it "
        "answers 503 `service_busy` with Retry-After. For the school's SENCO and teachers, "
        "an officer of the request's LA and platform admins."
    ),
)
async def get_ehc_evidence_pdf(
    request_id: uuid.UUID, session: Session, principal: CurrentPrincipal
) -> Response:
    return _pdf_answer(await build_evidence_bundle(session, principal, request_id))
