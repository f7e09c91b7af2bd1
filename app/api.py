"""The /v1 router: every resource router, each requiring a bearer token."""

from fastapi import APIRouter

from app.audit.router import router as audit_router
from app.clients.router import router as clients_router
from app.clients.router import secrets_router as client_secrets_router
from app.concerns.router import router as concerns_router
from app.cycles.router import router as cycles_router
from app.data_protection.router import router as data_protection_router
from app.ehc_requests.router import router as ehc_requests_router
from app.events.router import router as events_router
from app.funding.router import router as funding_router
from app.local_offer.router import router as local_offer_router
from app.pupils.router import router as pupils_router
from app.reports.router import router as reports_router
from app.reviews.router import router as reviews_router
from app.schools.router import router as schools_router
from app.specialists.router import router as specialists_router
from app.support_plans.router import router as support_plans_router
from app.support_plans.rules_router import router as rules_router

api_router = APIRouter()
api_router.include_router(schools_router)
api_router.include_router(pupils_router)
api_router.include_router(concerns_router)
api_router.include_router(events_router)
api_router.include_router(client_secrets_router)
api_router.include_router(clients_router)
api_router.include_router(audit_router)
api_router.include_router(specialists_router)
api_router.include_router(local_offer_router)
api_router.include_router(support_plans_router)
api_router.include_router(cycles_router)
api_router.include_router(reviews_router)
api_router.include_router(rules_router)
api_router.include_router(ehc_requests_router)
api_router.include_router(funding_router)
api_router.include_router(reports_router)
api_router.include_router(data_protection_router)
