import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.core.db import Session, UnitOfWorkRoute
from app.core.errors import error_responses
from app.core.http import API_PREFIX, Cursor, IfMatch, Limit, answer_headers, set_etag
from app.core.money import money_text
from app.core.schemas import LaCode, Page
from app.core.security import CurrentPrincipal
from app.funding import service
from app.funding.schemas import (
    ClaimCreate,
    ClaimOut,
    ClaimTransitionIn,
    Period,
    ThresholdIn,
    ThresholdList,
    ThresholdOut,
    claim_out,
)
from app.models import FundingThreshold
from app.models.enums import ClaimStatus
from app.rules import DEFAULT_THRESHOLD

router = APIRouter(prefix=API_PREFIX, tags=["funding"], route_class=UnitOfWorkRoute)

StatusFilter = Annotated[ClaimStatus | None, Query()]


@router.get(
    "/funding-thresholds",
    responses=error_responses(),
    summary="The top-up thresholds set per financial year, and the default for the rest",
    description=(
        "Any authenticated caller: the top-up funding threshold set for each financial year, and "
        "the default that applies to years without one."
    ),
)
async def list_funding_thresholds(session: Session, principal: CurrentPrincipal) -> ThresholdList:
    thresholds = await service.list_thresholds(session)
    return ThresholdList(
        items=[_threshold_out(t) for t in thresholds],
        default_amount=money_text(DEFAULT_THRESHOLD),
    )


@router.put(
    "/funding-thresholds/{period}",
    responses=error_responses(403, 412) | answer_headers(200, "ETag"),
    summary="Set the threshold for a financial year (platform_admin)",
    description=(
        "Creates or replaces the threshold; answers 200 either way, with the new `version` in "
        "the ETag. If-Match is honoured when sent (a stale one, or any before the threshold "
        "exists, answers 412)."
    ),
)
async def set_funding_threshold(
    period: Annotated[Period, Path(description="e.g. 2026-27")],
    body: ThresholdIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ThresholdOut:
    threshold = await service.set_threshold(
        session, principal, period, Decimal(body.amount), if_match
    )
    set_etag(response, threshold.version)
    return _threshold_out(threshold)


def _threshold_out(threshold: FundingThreshold) -> ThresholdOut:
    return ThresholdOut(
        period=threshold.period,
        amount=money_text(threshold.amount),
        version=threshold.version,
        created_at=threshold.created_at,
        updated_at=threshold.updated_at,
    )


@router.post(
    "/pupils/{pupil_id}/funding-claims",
    status_code=status.HTTP_201_CREATED,
    # 409: a retry while the first request with its Idempotency-Key is still running.
    responses=error_responses(403, 404, 409) | answer_headers(201, "ETag", "Location"),
    summary="Start a draft top-up claim for a financial year",
    description=(
        "The school's `senco` starts a draft top-up funding claim for the pupil and a financial "
        "year; it stays invisible to the LA until submitted. Answers 201 with the claim."
    ),
)
async def create_funding_claim(
    pupil_id: uuid.UUID,
    body: ClaimCreate,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
) -> ClaimOut:
    claim = await service.create_claim(session, principal, pupil_id, body)
    set_etag(response, claim.version)
    response.headers["Location"] = f"/v1/funding-claims/{claim.id}"
    return claim_out(claim)


@router.get(
    "/funding-claims",
    responses=error_responses(403),
    summary="List top-up claims in your scope",
    description=(
        "Top-up claims in the caller's scope: a school's for its staff, and for an LA officer its "
        "LA's submitted claims (drafts never). Paged with `limit` and an opaque `cursor`."
    ),
)
async def list_funding_claims(
    session: Session,
    principal: CurrentPrincipal,
    la_code: Annotated[LaCode | None, Query()] = None,
    status: StatusFilter = None,
    period: Annotated[Period | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ClaimOut]:
    claims, next_cursor = await service.list_claims(
        session,
        principal,
        la_code=la_code,
        status=None if status is None else status.value,
        period=period,
        limit=limit,
        cursor=cursor,
    )
    return Page[ClaimOut](items=[claim_out(c) for c in claims], next_cursor=next_cursor)


@router.get(
    "/funding-claims/{claim_id}",
    responses=error_responses(403, 404) | answer_headers(200, "ETag"),
    summary="Read a top-up claim",
    description=(
        "One top-up claim with its amounts and status, for callers whose scope includes it; a draft"
        " is 404 to an LA officer."
    ),
)
async def get_funding_claim(
    claim_id: uuid.UUID, session: Session, principal: CurrentPrincipal, response: Response
) -> ClaimOut:
    claim = await service.read_claim(session, principal, claim_id)
    set_etag(response, claim.version)
    return claim_out(claim)


@router.post(
    "/funding-claims/{claim_id}/transitions",
    responses=error_responses(403, 404, 409, 412) | answer_headers(200, "ETag"),
    summary="Submit, withdraw or decide a top-up claim",
    description=(
        "draft → submitted (the SENCO; snapshots threshold, provision cost, requested amount "
        "and LA) → approved | partially_approved | rejected (an officer of the pupil's home "
        "LA); draft | submitted → withdrawn. `approved` may omit `decided_amount`; `rejected` "
        'records "0.00".'
    ),
)
async def transition_funding_claim(
    claim_id: uuid.UUID,
    body: ClaimTransitionIn,
    session: Session,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimOut:
    claim = await service.transition_claim(session, principal, claim_id, body, if_match)
    set_etag(response, claim.version)
    return claim_out(claim)
