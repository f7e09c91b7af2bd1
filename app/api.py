"""The /v1 router: every resource router, each requiring a bearer token."""

from fastapi import APIRouter

from app.concerns.router import router as concerns_router
from app.events.router import router as events_router
from app.pupils.router import router as pupils_router
from app.schools.router import router as schools_router

api_router = APIRouter()
api_router.include_router(schools_router)
api_router.include_router(pupils_router)
api_router.include_router(concerns_router)
api_router.include_router(events_router)
