"""Public enums of SPEC.md §2: their values are API, stored as text."""

from enum import StrEnum

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class EstablishmentType(StrEnum):
    MAINTAINED = "maintained"
    ACADEMY = "academy"
    FREE_SCHOOL = "free_school"
    SPECIAL = "special"
    PUPIL_REFERRAL_UNIT = "pupil_referral_unit"
    ALTERNATIVE_PROVISION_ACADEMY = "alternative_provision_academy"
    SIXTEEN_TO_NINETEEN_ACADEMY = "sixteen_to_nineteen_academy"
    NON_MAINTAINED_SPECIAL = "non_maintained_special"
    INDEPENDENT = "independent"


class YearGroup(StrEnum):
    """Member names are published as `x-enum-varnames`: values such as "1" are no identifiers,
    so generated clients name the members after them (`YearGroup.RECEPTION`, `YearGroup.Y1`)."""

    N1 = "N1"
    N2 = "N2"
    RECEPTION = "R"
    Y1 = "1"
    Y2 = "2"
    Y3 = "3"
    Y4 = "4"
    Y5 = "5"
    Y6 = "6"
    Y7 = "7"
    Y8 = "8"
    Y9 = "9"
    Y10 = "10"
    Y11 = "11"
    Y12 = "12"
    Y13 = "13"
    Y14 = "14"

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)["x-enum-varnames"] = [member.name for member in cls]
        return schema


class SenType(StrEnum):
    """Census SEN type of need codes (DOMAIN.md §2.2)."""

    SPLD = "SPLD"
    MLD = "MLD"
    SLD = "SLD"
    PMLD = "PMLD"
    SEMH = "SEMH"
    SLCN = "SLCN"
    HI = "HI"
    VI = "VI"
    MSI = "MSI"
    PD = "PD"
    ASD = "ASD"
    OTH = "OTH"
    NSA = "NSA"


class SenStatus(StrEnum):
    """Census SEN provision: N none, K SEN support, E EHC plan. Derived, never client-written."""

    N = "N"
    K = "K"
    E = "E"


class ConcernRaisedBy(StrEnum):
    PARENT = "parent"
    PUPIL = "pupil"
    TEACHER = "teacher"
    EXTERNAL_PROFESSIONAL = "external_professional"
    OTHER = "other"


class ConcernStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"


class AuditAction(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    TRANSITION = "transition"
    EXPORT = "export"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    SUPERSEDED = "superseded"


class AreaOfNeed(StrEnum):
    COMMUNICATION_AND_INTERACTION = "communication_and_interaction"
    COGNITION_AND_LEARNING = "cognition_and_learning"
    SOCIAL_EMOTIONAL_AND_MENTAL_HEALTH = "social_emotional_and_mental_health"
    SENSORY_AND_PHYSICAL = "sensory_and_physical"


class Stage(StrEnum):
    ASSESS = "assess"
    PLAN = "plan"
    DO = "do"
    REVIEW = "review"
    COMPLETE = "complete"


class AssessmentSource(StrEnum):
    TEACHER_ASSESSMENT = "teacher_assessment"
    SUBJECT_TEACHER_ASSESSMENTS = "subject_teacher_assessments"
    ATTAINMENT_AND_PROGRESS_DATA = "attainment_and_progress_data"
    PEER_AND_NATIONAL_COMPARISON = "peer_and_national_comparison"
    PARENT_VIEWS = "parent_views"
    PUPIL_VIEWS = "pupil_views"
    EXTERNAL_ADVICE = "external_advice"
    BEHAVIOUR_DATA = "behaviour_data"


class ProvisionKind(StrEnum):
    ADJUSTMENT = "adjustment"
    INTERVENTION = "intervention"
    SUPPORT = "support"


class DeliveredBy(StrEnum):
    CLASS_TEACHER = "class_teacher"
    TEACHING_ASSISTANT = "teaching_assistant"
    SPECIALIST_TEACHER = "specialist_teacher"
    EXTERNAL_SERVICE = "external_service"
    OTHER = "other"


class NotificationMethod(StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    MEETING = "meeting"
    PHONE = "phone"
    PORTAL = "portal"


class Rating(StrEnum):
    ACHIEVED = "achieved"
    PARTIALLY_ACHIEVED = "partially_achieved"
    NOT_ACHIEVED = "not_achieved"


class Progress(StrEnum):
    GOOD = "good"
    EXPECTED = "expected"
    LITTLE_OR_NONE = "little_or_none"


class ReviewDecision(StrEnum):
    CONTINUE = "continue"
    INVOLVE_SPECIALIST = "involve_specialist"
    CLOSE_SUPPORT = "close_support"
    REQUEST_EHC_ASSESSMENT = "request_ehc_assessment"


class ViewAuthor(StrEnum):
    PARENT = "parent"
    PUPIL = "pupil"


class SpecialistService(StrEnum):
    EDUCATIONAL_PSYCHOLOGIST = "educational_psychologist"
    SPEECH_AND_LANGUAGE_THERAPY = "speech_and_language_therapy"
    OCCUPATIONAL_THERAPY = "occupational_therapy"
    PHYSIOTHERAPY = "physiotherapy"
    CAMHS = "camhs"
    SPECIALIST_TEACHER = "specialist_teacher"
    PAEDIATRICIAN = "paediatrician"
    SOCIAL_CARE = "social_care"
    OTHER = "other"


class EhcRequestStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSESSING = "assessing"
    DECLINED = "declined"
    PLAN_ISSUED = "plan_issued"
    PLAN_NOT_ISSUED = "plan_not_issued"
    WITHDRAWN = "withdrawn"


class EhcRequestedBy(StrEnum):
    SCHOOL = "school"
    PARENT = "parent"
    YOUNG_PERSON = "young_person"


class ClaimStatus(StrEnum):
    """A funding claim's status (SPEC.md §3.6)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ClaimTransitionTarget(StrEnum):
    """Where a funding claim can be moved to: every status but `draft`."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Severity(StrEnum):
    """A rule's severity (SPEC.md §3): a `must` refuses the move, a `should` needs a departure."""

    MUST = "must"
    SHOULD = "should"


class BatchItemStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


class EventType(StrEnum):
    """Every `type` the change feed carries."""

    PUPIL_CREATED = "pupil.created"
    PUPIL_UPDATED = "pupil.updated"
    PLAN_OPENED = "plan.opened"
    PLAN_CLOSED = "plan.closed"
    CYCLE_UPDATED = "cycle.updated"
    CYCLE_TRANSITIONED = "cycle.transitioned"
    REVIEW_COMPLETED = "review.completed"
    SPECIALIST_INVOLVEMENT_CREATED = "specialist_involvement.created"
    SPECIALIST_INVOLVEMENT_UPDATED = "specialist_involvement.updated"
    EHC_REQUEST_CREATED = "ehc_request.created"
    EHC_REQUEST_SUBMITTED = "ehc_request.submitted"
    EHC_REQUEST_ASSESSING = "ehc_request.assessing"
    EHC_REQUEST_DECLINED = "ehc_request.declined"
    EHC_REQUEST_PLAN_ISSUED = "ehc_request.plan_issued"
    EHC_REQUEST_PLAN_NOT_ISSUED = "ehc_request.plan_not_issued"
    EHC_REQUEST_WITHDRAWN = "ehc_request.withdrawn"
    FUNDING_CLAIM_CREATED = "funding_claim.created"
    FUNDING_CLAIM_SUBMITTED = "funding_claim.submitted"
    FUNDING_CLAIM_APPROVED = "funding_claim.approved"
    FUNDING_CLAIM_PARTIALLY_APPROVED = "funding_claim.partially_approved"
    FUNDING_CLAIM_REJECTED = "funding_claim.rejected"
    FUNDING_CLAIM_WITHDRAWN = "funding_claim.withdrawn"
