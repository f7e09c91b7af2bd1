"""The /v1 routers: every resource router, each requiring a bearer token."""

from fastapi import APIRouter

from app.audit.router import router as audit_router
from app.clients.router import router as clients_router
from app.clients.router import secrets_router as client_secrets_router
from app.concerns.router import router as concerns_router
from app.cycles.router import router as cycles_router
from app.data_protection.router import router as data_protection_router
from app.ehc_requests.router import router as ehc_requests_router
from app.events.router import router as events_router
from app.evidence.router import router as evidence_router
from app.funding.router import router as funding_router
from app.local_offer.router import router as local_offer_router
from app.pupils.router import reads as pupil_reads_router
from app.pupils.router import router as pupils_router
from app.reports.router import router as reports_router
from app.reviews.router import router as reviews_router
from app.schools.router import router as schools_router
from app.specialists.router import router as specialists_router
from app.support_plans.router import router as support_plans_router
from app.support_plans.rules_router import router as rules_router

# The hot read's router first: FastAPI tries the included routers in order on every request.
ROUTERS: tuple[APIRouter, ...] = (
    pupil_reads_router,
    schools_router,
    pupils_router,
    concerns_router,
    events_router,
    client_secrets_router,
    clients_router,
    audit_router,
    specialists_router,
    local_offer_router,
    support_plans_router,
    cycles_router,
    reviews_router,
    rules_router,
    ehc_requests_router,
    evidence_router,
    funding_router,
    reports_router,
    data_protection_router,
)
