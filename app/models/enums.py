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
