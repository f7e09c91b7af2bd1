"""ORM models, one module per aggregate. Importing this package registers every table."""

from app.models.api_client import ApiClient
from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.concern import Concern
from app.models.ehc_request import EhcRequest
from app.models.event import Event, EventCounter
from app.models.funding import FundingClaim, FundingThreshold, NotionalSenBudget
from app.models.idempotency import IdempotencyRecord
from app.models.local_offer import LocalOfferService
from app.models.pupil import Pupil
from app.models.retention import LegalHold, RetentionPurge
from app.models.school import School
from app.models.specialist import SpecialistInvolvement
from app.models.support_plan import Cycle, DeliveryLog, SupportPlan

__all__ = [
    "ApiClient",
    "AuditEntry",
    "Base",
    "Concern",
    "Cycle",
    "DeliveryLog",
    "EhcRequest",
    "Event",
    "EventCounter",
    "FundingClaim",
    "FundingThreshold",
    "IdempotencyRecord",
    "LegalHold",
    "LocalOfferService",
    "NotionalSenBudget",
    "Pupil",
    "RetentionPurge",
    "School",
    "SpecialistInvolvement",
    "SupportPlan",
]
