"""Public enums of SPEC.md §2: their values are API, stored as text."""

from enum import StrEnum


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
    N1 = "N1"
    N2 = "N2"
    R = "R"
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
