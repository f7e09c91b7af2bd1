"""What the evidence PDF says, apart from where it goes: the vocabularies that turn stored codes
into the words the panel reads, and the formatting of dates, money, ages and names.

No reportlab here, so the wording can be read and tested on its own. `literal` is the only way
user text becomes Paragraph source; `plain` is its counterpart for graphics Strings, which take
no markup at all. Dates are shown in London time, as the school and the LA read them.
"""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
TIMES = "\N{MULTIPLICATION SIGN}"

SEN_TYPES = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "ASD": "Autistic spectrum disorder",
    "HI": "Hearing impairment",
    "VI": "Vision impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "OTH": "Other difficulty/disability",
    "NSA": "SEN support but no specialist assessment of type of need",
}
SEN_STATUSES = {"N": "N: no special provision", "K": "K: SEN support", "E": "E: EHC plan"}
SERVICES = {
    "educational_psychologist": "Educational psychologist",
    "speech_and_language_therapy": "Speech and language therapy",
    "occupational_therapy": "Occupational therapy",
    "physiotherapy": "Physiotherapy",
    "camhs": "CAMHS",
    "specialist_teacher": "Specialist teacher",
    "paediatrician": "Paediatrician",
    "social_care": "Social care",
    "other": "Other service",
}
SERVICE_SHORT = {
    "educational_psychologist": "Ed. psychologist",
    "speech_and_language_therapy": "Speech & language",
    "occupational_therapy": "Occupational ther.",
    "specialist_teacher": "Specialist teacher",
}
LABELS = {
    "little_or_none": "Little or none",
    "social_emotional_and_mental_health": "Social, emotional and mental health",
    "request_ehc_assessment": "Request EHC assessment",
    "ehc_request": "EHC request",
    "senco": "SENCo",
    "plan_issued": "Plan issued",
    "plan_not_issued": "Plan not issued",
}
DECISIONS = {
    "continue": "continue",
    "involve_specialist": "involve a specialist",
    "close_support": "close support",
    "request_ehc_assessment": "request an EHC needs assessment",
}
VIEW_STAGES = {"assess": "assessment", "plan": "plan consultation", "review": "review"}
STAGES = {
    "assess": "Assess",
    "plan": "Plan",
    "do": "Do",
    "review": "Review",
    "complete": "Complete",
}


def literal(value: object) -> str:
    """User text as Paragraph source: escaped, so it is always shown literally, never as markup.
    Line breaks are kept; other control characters are dropped (they have no glyph)."""
    raw = "" if value is None else str(value)
    cleaned = "".join(ch for ch in raw if ch in "\n\t" or ord(ch) >= 32)
    return escape(cleaned.replace("\r\n", "\n")).replace("\n", "<br/>")


def plain(value: str) -> str:
    """Text for a graphics String, which draws characters as they are (no markup at all)."""
    return "".join(ch for ch in value if ord(ch) >= 32)


def readable(value: str | None) -> str:
    if not value:
        return "—"
    return LABELS.get(value, value.replace("_", " ").capitalize())


def money(value: str | None) -> str:
    """Pounds for people to read: "1234.5" is £1,234.50; a value that is no number stays as is."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    if not amount.is_finite():
        return value
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


def local_time(moment: datetime) -> datetime:
    # A naive timestamp is taken to be UTC, as the service stores them.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LONDON)


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = local_time(value).date()
    return f"{value.day} {value:%b %Y}"


def format_moment(value: datetime) -> str:
    local = local_time(value)
    return f"{local.day} {local:%b %Y}, {local:%H:%M} {local.tzname()}"


def format_stamp_day(value: str) -> str:
    """A stored departure's `recorded_at` (RFC 3339 text) as a day, or the text as it is."""
    try:
        return format_day(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return value


def format_due(day: date | None, meaning: str) -> str:
    return "—" if day is None else f"{format_day(day)} ({meaning})"


def year_group_name(value: str) -> str:
    names = {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}
    return names.get(value, f"Year {value}")


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def pupil_initials(first_name: str, last_name: str) -> str:
    return "".join(f"{part.strip()[:1].upper()}." for part in (first_name, last_name) if part)


def need_name(code: str | None) -> str:
    if not code:
        return "—"
    return f"{code}: {SEN_TYPES[code]}" if code in SEN_TYPES else code
