"""The benchmark's data set: generated in memory, then bulk-loaded with COPY.

Rows have the shapes the API itself writes (stage records as `app/cycles/service.py`
`stored_plan` and `app/support_plans/service.py` `new_cycle` store them, costs computed with
`app.rules.money`, UPNs with their DfE check letter, EHC due dates from `app.rules.ehc`), and
every write that the API would have audited or published has its `audit_entries` row and its
`events` row. Events are numbered 1..N in time order, with `event_counter` set to N, exactly as
the outbox leaves them.

Loading uses `copy_records_to_table` on several connections at once. When the role may, the
copy sessions run with `session_replication_role = replica`, which skips the foreign-key
triggers (the generator keeps every reference valid by construction) and, on the largest tables,
the secondary indexes are dropped before the copy and rebuilt after it, which is much faster than
maintaining them row by row. Nothing else about the schema changes: the migrations built it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from asyncpg.pgproto.pgproto import UUID as FastUUID

from app.core.money import money_text
from app.cycles.schemas import AssessmentRecord, PlanRecordIn, ReviewRecord, empty_record
from app.pupils.upn import upn_check_letter
from app.rules.catalogue import CATALOGUE
from app.rules.ehc import ehc_due_dates
from app.rules.money import annual_provision_cost

COLUMNS: dict[str, tuple[str, ...]] = {
    "schools": (
        "id", "created_at", "updated_at", "version", "urn", "name", "la_code",
        "establishment_type",
    ),
    "pupils": (
        "id", "created_at", "updated_at", "version", "school_id", "upn", "first_name",
        "last_name", "date_of_birth", "year_group", "home_la_code", "pupil_premium",
        "primary_need", "secondary_need", "contacts", "left_on", "sen_status",
    ),
    "support_plans": (
        "id", "created_at", "updated_at", "version", "pupil_id", "status", "opened_on",
        "closed_on", "close_reason", "class_teacher", "senco", "areas_of_need",
        "current_cycle_id",
    ),
    "cycles": (
        "id", "created_at", "updated_at", "version", "plan_id", "pupil_id", "school_id",
        "number", "stage", "stage_entered_at", "completed_at", "assessment", "plan", "review",
        "departures", "views_log", "review_date", "review_held_on",
    ),
    "delivery_logs": (
        "id", "cycle_id", "provision_id", "delivered_on", "minutes", "attended", "note",
        "recorded_by", "created_at",
    ),
    "ehc_requests": (
        "id", "created_at", "updated_at", "version", "pupil_id", "school_id", "la_code",
        "requested_by", "status", "reason", "submitted_on", "decision_due_on",
        "issue_decision_due_on", "final_plan_due_on", "decided_on", "decision_note",
        "departures",
    ),
    "funding_thresholds": ("period", "amount", "created_at", "updated_at", "version"),
    "notional_sen_budgets": (
        "school_id", "period", "amount", "created_at", "updated_at", "version",
    ),
    "funding_claims": (
        "id", "created_at", "updated_at", "version", "pupil_id", "school_id", "la_code",
        "period", "status", "threshold", "provision_cost", "requested_amount",
        "decided_amount", "decision_note", "decided_by", "decided_at", "submitted_at",
        "departures",
    ),
    "specialist_involvements": (
        "id", "created_at", "updated_at", "version", "pupil_id", "service",
        "parents_involved_on", "parental_consent", "requested_on", "advice_received_on",
        "advice_summary", "departures", "local_offer_service_id",
    ),
    "concerns": (
        "id", "created_at", "updated_at", "version", "pupil_id", "raised_by", "raised_on",
        "description", "status", "response", "responded_on",
    ),
    "audit_entries": (
        "id", "at", "actor_sub", "actor_role", "action", "resource", "resource_id",
        "pupil_id", "school_id", "request_id",
    ),
    "events": (
        "seq", "type", "resource", "resource_id", "pupil_id", "school_id", "la_code",
        "occurred_at", "data",
    ),
}  # fmt: skip

# Big tables whose secondary indexes are cheaper to build once than to maintain per row.
REINDEXED_TABLES = ("audit_entries", "events", "delivery_logs", "cycles", "pupils")

LA_CODES = ("330", "331", "332", "333", "334", "335", "336", "373", "380", "381")
TOWNS = (
    "Ashford", "Barnfield", "Castleton", "Denby", "Eastwood", "Fairholme", "Greenhill",
    "Hartley", "Ivybridge", "Kingsmead", "Longford", "Meadowbank", "Northgate", "Oakfield",
    "Parkside", "Queensway", "Riverside", "Southfields", "Thornbury", "Upton", "Valley Road",
    "Westbrook", "Yewtree", "Abbeyfields", "Brookside",
)  # fmt: skip
FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Noah", "Ava", "Arthur", "Mia", "Harry", "Ivy",
    "Leo", "Lily", "Muhammad", "Isabella", "Jack", "Rosie", "Charlie", "Sophia", "Oscar",
    "Grace", "Jacob", "Freya", "Henry", "Olivia", "Thomas", "Florence", "Freddie", "Willow",
    "Alfie", "Emily", "Theo", "Ella", "William", "Poppy", "Theodore", "Evie", "Archie",
    "Elsie", "Joshua", "Charlotte", "Alexander", "Evelyn", "James", "Sienna", "Isaac", "Daisy",
    "Edward", "Phoebe", "Lucas", "Sofia", "Tommy", "Alice", "Finley", "Harper", "Max",
    "Matilda", "Logan", "Ruby", "Ethan", "Emilia", "Mohammed", "Maya", "Teddy", "Ayla",
    "Benjamin", "Millie", "Arlo", "Eva", "Joseph", "Luna", "Sebastian", "Aria", "Harrison",
    "Hallie", "Elijah", "Margot", "Adam", "Zara", "Daniel", "Esme", "Samuel", "Imogen",
    "Louie", "Layla", "Mason", "Mila", "Reuben", "Aisha", "Albie", "Hannah", "Rory", "Nancy",
    "Jaxon", "Lottie", "Hugo", "Bella", "Luca", "Violet", "Zachary", "Iris", "Reggie",
    "Penelope", "Hunter", "Erin", "Louis", "Amber", "Dylan", "Chloe", "Albert", "Jessica",
    "David", "Scarlett", "Jude", "Clara", "Frankie", "Eliza", "Roman", "Robyn", "Ezra", "Mya",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook",
    "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox",
    "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
    "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason",
    "Ali", "Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills",
    "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens",
    "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher",
    "Walsh", "Kaur", "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds",
    "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence",
    "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson", "Ball", "Burton", "O'Brien",
    "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells", "Armstrong", "Francis",
    "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster", "Hunter", "Gregory",
    "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons", "Berry", "Stone",
    "Reid", "Holland", "Hawkins", "Harding", "Porter", "Robertson", "Newton", "Oliver",
    "Reed", "Kennedy", "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane", "Cooke",
    "Bates", "Henderson", "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson",
    "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren", "Nicholls", "Hamilton",
)  # fmt: skip
RELATIONSHIPS = ("mother", "father", "carer", "grandparent", "step-parent")
SEN_TYPES = ("SPLD", "MLD", "SEMH", "SLCN", "ASD", "HI", "VI", "PD", "OTH", "SLD")
SEN_WEIGHTS = (14, 16, 20, 24, 16, 2, 1, 2, 4, 1)
AREAS = (
    "communication_and_interaction",
    "cognition_and_learning",
    "social_emotional_and_mental_health",
    "sensory_and_physical",
)
NEED_TEXT = {
    "communication_and_interaction": (
        "Difficulty following multi-step spoken instructions in whole-class teaching.",
        "Limited expressive vocabulary; struggles to explain reasoning aloud.",
        "Finds unstructured times and changes of routine very hard; needs preparation.",
    ),
    "cognition_and_learning": (
        "Reading age two years below chronological age; slow, effortful decoding.",
        "Working memory difficulties affect retaining number facts and spellings.",
        "Needs concrete resources and overlearning to secure new concepts in maths.",
    ),
    "social_emotional_and_mental_health": (
        "Anxiety around transitions leads to avoidance and frequent absence from lessons.",
        "Difficulty regulating emotions at break times; several incidents this term.",
        "Low self-esteem; reluctant to attempt tasks without adult reassurance.",
    ),
    "sensory_and_physical": (
        "Fine motor difficulties make handwriting slow and tiring.",
        "Sensory sensitivity to noise; struggles in the dining hall and assemblies.",
        "Mild hearing loss; needs seating near the teacher and checked understanding.",
    ),
}
SOURCES = (
    "teacher_assessment",
    "subject_teacher_assessments",
    "attainment_and_progress_data",
    "peer_and_national_comparison",
    "parent_views",
    "pupil_views",
    "external_advice",
    "behaviour_data",
)
OUTCOMES = (
    ("Read a book at book band level 9 with 95% accuracy.", "Running record at review."),
    ("Recall number bonds to 20 within 3 seconds.", "Timed check, 18 of 20 correct."),
    ("Use a visual timetable independently to move between lessons.", "Staff log, 4 weeks."),
    ("Ask an adult for help using agreed cue card.", "Observed in 3 of 5 lessons."),
    ("Write three linked sentences with capital letters and full stops.", "Work sample."),
    ("Stay in class for whole lessons on 4 days out of 5.", "Attendance and behaviour log."),
    ("Use calming strategy from toolkit when anxious.", "Self-report and TA observation."),
    ("Follow a two-step instruction without repetition.", "Teacher observation."),
    ("Join in a structured game at lunchtime twice a week.", "Lunchtime supervisor notes."),
    ("Type 20 words a minute using touch typing programme.", "Programme progress report."),
)
PROVISION_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"kind": "intervention", "description": "Precision teaching of high-frequency words",
     "delivered_by": "teaching_assistant", "group_size": 1, "sessions_per_week": 3,
     "minutes_per_session": 15, "weeks_per_year": 38, "hourly_rate": "18.50",
     "fixed_annual_cost": None},
    {"kind": "intervention", "description": "Small-group phonics catch-up (Fresh Start)",
     "delivered_by": "teaching_assistant", "group_size": 4, "sessions_per_week": 4,
     "minutes_per_session": 30, "weeks_per_year": 38, "hourly_rate": "18.50",
     "fixed_annual_cost": None},
    {"kind": "intervention", "description": "Speech and language programme from SALT advice",
     "delivered_by": "teaching_assistant", "group_size": 1, "sessions_per_week": 2,
     "minutes_per_session": 20, "weeks_per_year": 36, "hourly_rate": "19.25",
     "fixed_annual_cost": None},
    {"kind": "support", "description": "Emotional literacy support (ELSA) sessions",
     "delivered_by": "teaching_assistant", "group_size": 1, "sessions_per_week": 1,
     "minutes_per_session": 45, "weeks_per_year": 30, "hourly_rate": "21.00",
     "fixed_annual_cost": None},
    {"kind": "intervention", "description": "Numicon maths intervention",
     "delivered_by": "teaching_assistant", "group_size": 3, "sessions_per_week": 3,
     "minutes_per_session": 30, "weeks_per_year": 38, "hourly_rate": "18.50",
     "fixed_annual_cost": None},
    {"kind": "support", "description": "1:1 support in core lessons",
     "delivered_by": "teaching_assistant", "group_size": 1, "sessions_per_week": 10,
     "minutes_per_session": 60, "weeks_per_year": 38, "hourly_rate": "17.80",
     "fixed_annual_cost": None},
    {"kind": "intervention", "description": "Specialist teacher literacy sessions",
     "delivered_by": "specialist_teacher", "group_size": 1, "sessions_per_week": 1,
     "minutes_per_session": 45, "weeks_per_year": 30, "hourly_rate": "42.00",
     "fixed_annual_cost": None},
    {"kind": "support", "description": "Social skills group (Lego therapy)",
     "delivered_by": "teaching_assistant", "group_size": 3, "sessions_per_week": 1,
     "minutes_per_session": 40, "weeks_per_year": 36, "hourly_rate": "18.50",
     "fixed_annual_cost": None},
    {"kind": "adjustment", "description": "Visual timetable and now/next board",
     "delivered_by": "class_teacher", "group_size": 1, "sessions_per_week": None,
     "minutes_per_session": None, "weeks_per_year": None, "hourly_rate": None,
     "fixed_annual_cost": "35.00"},
    {"kind": "adjustment", "description": "Coloured overlays and enlarged print",
     "delivered_by": "class_teacher", "group_size": 1, "sessions_per_week": None,
     "minutes_per_session": None, "weeks_per_year": None, "hourly_rate": None,
     "fixed_annual_cost": None},
    {"kind": "support", "description": "Touch-typing programme licence and laptop",
     "delivered_by": "other", "group_size": 1, "sessions_per_week": 2,
     "minutes_per_session": 20, "weeks_per_year": 30, "hourly_rate": "18.50",
     "fixed_annual_cost": "250.00"},
    {"kind": "support", "description": "Educational psychologist consultation (bought in)",
     "delivered_by": "external_service", "group_size": 1, "sessions_per_week": None,
     "minutes_per_session": None, "weeks_per_year": None, "hourly_rate": None,
     "fixed_annual_cost": "650.00"},
)  # fmt: skip
STAFFED = tuple(i for i, t in enumerate(PROVISION_TEMPLATES) if t["sessions_per_week"])
SUMMARIES = (
    "Assessment draws together teacher assessment, attainment data and the views of the "
    "pupil and parents. Progress is well below age-related expectations despite high-quality "
    "teaching and targeted support in class.",
    "Needs identified through observation, standardised tests and discussion with parents. "
    "Difficulties are persistent and affect access to the curriculum across subjects.",
    "The pupil has made little progress over two terms of differentiated teaching; the "
    "assessment below identifies the areas where additional provision is needed.",
)
VIEWS = (
    "Parents feel the support at school is helping and want it to continue.",
    "Parent reports more confidence at home; homework is still a source of anxiety.",
    "I like working with Mrs Patel. Reading is easier with the ruler. I get tired in maths.",
    "I want to sit near the front. The group sessions are fun.",
)
IMPACT = (
    "Good progress towards most outcomes; provision to continue with adjusted targets.",
    "Progress has been slower than hoped; increase frequency of the literacy intervention.",
    "Outcomes largely achieved; plan next steps to build independence.",
)
REVIEW_COMMENTS = ("Secure in class.", "Emerging; needs prompts.", "Not yet; see next steps.")
SPECIALISTS = (
    "educational_psychologist",
    "speech_and_language_therapy",
    "occupational_therapy",
    "camhs",
    "specialist_teacher",
    "paediatrician",
)
SHOULD_RULES: dict[str, list[str]] = defaultdict(list)
for _rule in CATALOGUE:
    if _rule.severity == "should":
        SHOULD_RULES[_rule.transition].append(_rule.rule)
TRANSITIONS = ("assess->plan", "plan->do", "do->review", "review->complete")
THRESHOLD = Decimal("6000.00")
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class DatasetSpec:
    schools: int = 50
    pupils: int = 60_000
    sen_support_share: float = 0.13
    ehc_plan_share: float = 0.03
    former_support_share: float = 0.02
    seed: int = 20_261_201
    heavy_cycles: int = 8
    heavy_outcomes: int = 30
    heavy_provisions: int = 30
    heavy_delivery_logs: int = 1_000


@dataclass(frozen=True)
class SchoolRef:
    index: int
    id: uuid.UUID
    urn: str
    la_code: str


@dataclass(frozen=True)
class PupilRef:
    id: uuid.UUID
    school_index: int
    upn: str
    last_name: str
    first_name: str
    year_group: str
    sen_status: str


@dataclass
class Dataset:
    """What the scenarios need to know about the data they run against."""

    schools: list[SchoolRef]
    pupils: list[PupilRef]
    heavy_pupil_id: uuid.UUID
    heavy_school_index: int
    heavy_request_id: uuid.UUID
    light_request_id: uuid.UUID
    light_school_index: int
    max_seq: int
    row_counts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)


class _School:
    __slots__ = ("created_at", "id", "index", "la", "mis", "senco", "teacher", "urn")

    def __init__(self, index: int, id_: uuid.UUID, urn: str, la: str, created_at: datetime):
        self.index = index
        self.id = id_
        self.urn = urn
        self.la = la
        self.senco = f"senco.{urn}"
        self.teacher = f"teacher.{urn}"
        self.mis = f"mis.{urn}"
        self.created_at = created_at


class _Pupil:
    __slots__ = (
        "contacts", "created_at", "dob", "first", "home_la", "id", "last", "left_on",
        "premium", "primary", "school", "secondary", "sen", "updated_at", "upn", "version",
        "year",
    )  # fmt: skip

    def touch(self, at: datetime) -> None:
        self.version += 1
        if at > self.updated_at:
            self.updated_at = at


class _Builder:
    def __init__(self, spec: DatasetSpec, today: date, now: datetime):
        self.spec = spec
        self.today = today
        self.now = now
        self.now_seconds = now.timestamp()
        self.rng = random.Random(spec.seed)
        self.randbytes = self.rng.randbytes
        self.request_ids = itertools.count(spec.seed << 64)
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.events: list[tuple[Any, ...]] = []
        self.audit_rows = self.rows["audit_entries"]
        self.schools: list[_School] = []
        self.pupils: list[_Pupil] = []
        self.heavy_request_id: uuid.UUID | None = None
        self.light_request_id: uuid.UUID | None = None
        self.light_school_index = 0
        self._last_plan_row = 0
        self.annual_costs = [self._template_cost(t) for t in PROVISION_TEMPLATES]
        self.empty_assessment = empty_record(AssessmentRecord)
        self.empty_plan = {**empty_record(PlanRecordIn), "annual_cost": "0.00"}
        self.empty_review = empty_record(ReviewRecord)

    # -- small helpers --------------------------------------------------------------------

    def uid(self) -> uuid.UUID:
        """A random UUID from the seeded generator. asyncpg's own UUID type is a `uuid.UUID`
        several times cheaper to make, which matters for two million rows; the version bits
        are left random (nothing reads them)."""
        return FastUUID(self.randbytes(16))  # type: ignore[no-any-return]

    def at(self, day: date) -> datetime:
        """A time during the working day (08:00-17:00 UTC) of `day`, never later than now."""
        seconds = (day.toordinal() - EPOCH_ORDINAL) * 86_400 + 28_800 + self.rng.random() * 32_400
        if seconds >= self.now_seconds:
            seconds = self.now_seconds - 1 - self.rng.random() * 600
        return datetime.fromtimestamp(seconds, UTC)

    def below(self, n: int) -> int:
        """`randrange(n)` for the hot loops: `random()` is several times cheaper."""
        return int(self.rng.random() * n)

    @staticmethod
    def _template_cost(template: dict[str, Any]) -> str:
        def money(value: str | None) -> Decimal | None:
            return Decimal(value) if value is not None else None

        cost = annual_provision_cost(
            money(template["hourly_rate"]),
            template["minutes_per_session"],
            template["sessions_per_week"],
            template["weeks_per_year"],
            template["group_size"],
            money(template["fixed_annual_cost"]),
        )
        return money_text(cost)

    def write(
        self,
        at: datetime,
        actor: str,
        role: str,
        action: str,
        resource: str,
        resource_id: uuid.UUID,
        pupil: _Pupil,
    ) -> None:
        self.audit_rows.append(
            (
                self.uid(), at, actor, role, action, resource, resource_id, pupil.id,
                pupil.school.id, f"{next(self.request_ids):032x}",
            )
        )  # fmt: skip

    def publish(
        self,
        at: datetime,
        type_: str,
        resource: str,
        resource_id: uuid.UUID,
        pupil: _Pupil,
        data: dict[str, Any],
        la_code: str | None = None,
    ) -> None:
        data = {"upn": pupil.upn, **data}
        self.events.append(
            (
                at, type_, resource, resource_id, pupil.id, pupil.school.id,
                la_code or pupil.home_la, orjson.dumps(data).decode(),
            )
        )  # fmt: skip

    def departures(self, transition: str, at: datetime, actor: str) -> list[dict[str, Any]]:
        rules = SHOULD_RULES.get(transition)
        if not rules or self.rng.random() > 0.08:
            return []
        return [
            {
                "rule": self.rng.choice(rules),
                "reason": "Agreed with parents at the planning meeting; revisit next cycle.",
                "transition": transition,
                "recorded_at": at.isoformat().replace("+00:00", "Z"),
                "recorded_by": actor,
            }
        ]

    # -- schools and pupils ---------------------------------------------------------------

    def build_schools(self) -> None:
        rng = self.rng
        urns = rng.sample(range(100_000, 150_000), self.spec.schools)
        for index in range(self.spec.schools):
            secondary = index % 5 in (0, 3)
            la = LA_CODES[index % len(LA_CODES)]
            created = self.at(self.today - timedelta(days=1_600 + rng.randrange(100)))
            school = _School(index, self.uid(), str(urns[index]), la, created)
            self.schools.append(school)
            town = TOWNS[index % len(TOWNS)]
            name = f"{town} {'Academy' if secondary else 'Primary School'}"
            if index >= len(TOWNS):
                name = f"{town} {'High School' if secondary else 'Junior School'}"
            kind = rng.choice(("academy", "academy", "maintained") if secondary else (
                "maintained", "maintained", "academy", "free_school"))  # fmt: skip
            self.rows["schools"].append(
                (school.id, created, created, 1, school.urn, name, la, kind)
            )
            for period, amount in ((self.period(-1), 180_000), (self.period(0), 190_000)):
                scale = 3 if secondary else 1
                self.rows["notional_sen_budgets"].append(
                    (school.id, period, Decimal(amount * scale + rng.randrange(50_000)),
                     created, created, 1)
                )  # fmt: skip
        for period in (self.period(-1), self.period(0)):
            moment = self.at(self.today - timedelta(days=400))
            self.rows["funding_thresholds"].append((period, THRESHOLD, moment, moment, 1))

    def period(self, offset: int) -> str:
        start = self.today.year if self.today.month >= 4 else self.today.year - 1
        start += offset
        return f"{start}-{(start + 1) % 100:02d}"

    def build_pupils(self) -> None:
        rng = self.rng
        spec = self.spec
        weights = [
            rng.uniform(900, 1_700) if index % 5 in (0, 3) else rng.uniform(200, 480)
            for index in range(spec.schools)
        ]
        total = sum(weights)
        sizes = [int(spec.pupils * w / total) for w in weights]
        sizes[0] += spec.pupils - sum(sizes)
        academic_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        for school, size in zip(self.schools, sizes, strict=True):
            secondary = school.index % 5 in (0, 3)
            years = (
                ["7", "8", "9", "10", "11"] + (["12", "13"] if school.index % 2 else [])
                if secondary
                else ["R", "1", "2", "3", "4", "5", "6"]
            )
            entry_year = 7 if secondary else 0
            estab = f"{(4_000 if secondary else 2_000) + school.index:04d}"
            serials: dict[int, int] = defaultdict(int)
            onboarding = self.today - timedelta(days=1_300 + rng.randrange(200))
            for _ in range(size):
                year = rng.choice(years)
                number = 0 if year == "R" else int(year)
                allocated = (academic_year - (number - entry_year)) % 100
                serials[allocated] += 1
                tail = f"{school.la}{estab}{allocated:02d}{serials[allocated]:03d}"
                born_from = date(academic_year - 5 - number, 9, 1)
                pupil = _Pupil()
                pupil.id = self.uid()
                pupil.school = school
                pupil.upn = upn_check_letter(tail) + tail
                pupil.first = rng.choice(FIRST_NAMES)
                pupil.last = rng.choice(LAST_NAMES)
                pupil.dob = born_from + timedelta(days=rng.randrange(365))
                pupil.year = year
                pupil.home_la = school.la if rng.random() < 0.93 else rng.choice(LA_CODES)
                pupil.premium = rng.random() < 0.24
                pupil.primary = None
                pupil.secondary = None
                pupil.left_on = None
                pupil.sen = "N"
                joined = onboarding if rng.random() < 0.8 else (
                    self.today - timedelta(days=900 + rng.randrange(300)))  # fmt: skip
                pupil.created_at = self.at(joined)
                pupil.updated_at = pupil.created_at
                pupil.version = 1
                pupil.contacts = self.contacts(pupil)
                self.pupils.append(pupil)
                actor = school.mis
                self.write(
                    pupil.created_at, actor, "mis_integration", "create", "pupil", pupil.id, pupil
                )
                self.publish(pupil.created_at, "pupil.created", "pupil", pupil.id, pupil, {})
                for _ in range(self.below(4)):
                    seen = self.at(self.today - timedelta(days=self.below(600)))
                    if seen > pupil.created_at:
                        teacher = school.teacher
                        self.write(seen, teacher, "teacher", "read", "pupil", pupil.id, pupil)

    def contacts(self, pupil: _Pupil) -> str:
        rng = self.rng
        people = []
        for _ in range(1 if rng.random() < 0.6 else 2):
            first = rng.choice(FIRST_NAMES)
            people.append(
                {
                    "id": str(self.uid()),
                    "name": f"{first} {pupil.last}",
                    "relationship": rng.choice(RELATIONSHIPS),
                    "has_parental_responsibility": rng.random() < 0.9,
                    "email": f"{first.lower()}.{pupil.last.lower().replace(chr(39), '')}"
                    f"@example.org",
                    "phone": f"07700 9{rng.randrange(100_000):05d}",
                }
            )
        return orjson.dumps(people).decode()

    # -- support histories ----------------------------------------------------------------

    def need_fields(self, pupil: _Pupil) -> list[str]:
        rng = self.rng
        pupil.primary = rng.choices(SEN_TYPES, SEN_WEIGHTS)[0]
        if rng.random() < 0.3:
            second = rng.choices(SEN_TYPES, SEN_WEIGHTS)[0]
            pupil.secondary = second if second != pupil.primary else None
        return rng.sample(AREAS, rng.choice((1, 1, 2, 2, 3)))

    def assessment(self, areas: list[str]) -> dict[str, Any]:
        rng = self.rng
        return {
            "summary": rng.choice(SUMMARIES),
            "needs": [{"area": a, "description": rng.choice(NEED_TEXT[a])} for a in areas],
            "strengths": "Kind and helpful; enjoys practical and creative work.",
            "sources": rng.sample(SOURCES, rng.randint(3, 6)),
            "parent_views": rng.choice(VIEWS[:2]),
            "pupil_views": rng.choice(VIEWS[2:]),
            "external_advice": None if rng.random() < 0.7 else "EP report recommends ...",
        }

    def plan_record(
        self, outcomes: int, provisions: int, planned_on: date, review_date: date
    ) -> dict[str, Any]:
        rng = self.rng
        chosen = [rng.choice(STAFFED)] + [
            rng.randrange(len(PROVISION_TEMPLATES)) for _ in range(provisions - 1)
        ]
        provision_items = []
        total = Decimal("0.00")
        for template_index in chosen:
            cost = self.annual_costs[template_index]
            total += Decimal(cost)
            provision_items.append(
                {"id": str(self.uid()), **PROVISION_TEMPLATES[template_index], "annual_cost": cost}
            )
        outcome_items = []
        for _ in range(outcomes):
            description, criteria = rng.choice(OUTCOMES)
            outcome_items.append(
                {
                    "id": str(self.uid()),
                    "description": description,
                    "success_criteria": criteria,
                    "target_date": review_date.isoformat(),
                }
            )
        return {
            "outcomes": outcome_items,
            "provisions": provision_items,
            "review_date": review_date.isoformat(),
            "parents_notified_on": planned_on.isoformat(),
            "notification_method": rng.choice(("meeting", "letter", "email")),
            "parents_consulted_on": planned_on.isoformat(),
            "pupil_consulted_on": planned_on.isoformat(),
            "staff_informed_on": planned_on.isoformat(),
            "annual_cost": money_text(total),
        }

    def review_record(
        self, plan: dict[str, Any], held_on: date | None, decision: str | None, rated: float
    ) -> dict[str, Any]:
        rng = self.rng
        progress = []
        for outcome in plan["outcomes"]:
            if rng.random() > rated:
                continue
            index = rng.randrange(3)
            progress.append(
                {
                    "outcome_id": outcome["id"],
                    "rating": ("achieved", "partially_achieved", "not_achieved")[index],
                    "progress": ("good", "expected", "little_or_none")[index],
                    "comment": REVIEW_COMMENTS[index],
                }
            )
        complete = decision is not None
        return {
            "held_on": held_on.isoformat() if held_on else None,
            "outcome_progress": progress,
            "pupil_views": rng.choice(VIEWS[2:]) if complete else None,
            "parent_views": rng.choice(VIEWS[:2]) if complete else None,
            "impact_summary": rng.choice(IMPACT) if complete else None,
            "parents_informed_on": (held_on + timedelta(days=2)).isoformat()
            if complete and held_on
            else None,
            "decision": decision,
        }

    def delivery(
        self,
        cycle_id: uuid.UUID,
        plan: dict[str, Any],
        first: date,
        last: date,
        count: int,
        pupil: _Pupil,
    ) -> None:
        staffed = [p for p in plan["provisions"] if p["sessions_per_week"]]
        span = max((min(last, self.today) - first).days, 0) + 1
        recorder = pupil.school.teacher
        logs = self.rows["delivery_logs"]
        below = self.below
        for _ in range(count):
            provision = staffed[below(len(staffed))]
            delivered_on = first + timedelta(days=below(span))
            attended = self.rng.random() < 0.9
            created = self.at(delivered_on)
            log_id = self.uid()
            logs.append(
                (
                    log_id, cycle_id, provision["id"], delivered_on,
                    provision["minutes_per_session"], attended,
                    None if attended else "Absent (illness).", recorder, created,
                )
            )  # fmt: skip
            self.write(created, recorder, "teacher", "create", "delivery_log", log_id, pupil)

    def support_history(
        self,
        pupil: _Pupil,
        lengths: list[int],
        start: date,
        last_decision: str,
        current_age: int | None,
        *,
        outcomes: tuple[int, int] = (2, 4),
        provisions: tuple[int, int] = (2, 4),
        logs: tuple[int, int] = (4, 16),
        open_logs: tuple[int, int] = (1, 12),
        current_stage: str | None = None,
    ) -> None:
        """One support plan with `len(lengths)` completed cycles from `start`, then, when
        `current_age` is given, an open cycle that began that many days ago."""
        rng = self.rng
        school = pupil.school
        senco = school.senco
        areas = self.need_fields(pupil)
        plan_id = self.uid()
        opened = self.at(start)
        self.write(opened, senco, "senco", "create", "support_plan", plan_id, pupil)
        self.publish(opened, "plan.opened", "support_plan", plan_id, pupil, {"status": "active"})
        pupil.sen = "K"
        pupil.touch(opened)
        self.publish(
            opened, "pupil.updated", "pupil", pupil.id, pupil,
            {"changed": ["sen_status"], "sen_status": "K"},
        )  # fmt: skip
        day = start
        cycle_start = opened
        number = 0
        last_cycle: uuid.UUID | None = None
        cycles = self.rows["cycles"]
        for index, length in enumerate(lengths):
            number = index + 1
            cycle_id = self.uid()
            base = {"plan_id": str(plan_id), "number": number}
            assessed = day + timedelta(days=rng.randint(3, 6))
            planned = assessed + timedelta(days=rng.randint(4, 8))
            doing = planned + timedelta(days=rng.randint(3, 6))
            ending = day + timedelta(days=length)
            reviewing = ending - timedelta(days=rng.randint(5, 9))
            moments = [self.at(d) for d in (assessed, planned, doing, reviewing, ending)]
            moments.sort()
            t_assessed, t_planned, _t_doing, t_reviewing, t_ended = moments
            plan = self.plan_record(
                rng.randint(*outcomes), rng.randint(*provisions), planned, reviewing
            )
            decision = last_decision if index == len(lengths) - 1 else rng.choice(
                ("continue", "continue", "continue", "involve_specialist"))  # fmt: skip
            review = self.review_record(plan, reviewing, decision, 1.0)
            departures: list[dict[str, Any]] = []
            steps = (
                (t_assessed, "assessment", "assess", "plan"),
                (t_planned, "plan", "plan", "do"),
                (t_reviewing, "review", "do", "review"),
            )
            for moment, record, before, after in steps:
                self.write(moment, senco, "senco", "update", "cycle", cycle_id, pupil)
                self.publish(
                    moment, "cycle.updated", "cycle", cycle_id, pupil,
                    {**base, "stage": before, "changed": [record]},
                )  # fmt: skip
                self.transition(moment, cycle_id, pupil, base, before, after, departures)
            self.transition(t_ended, cycle_id, pupil, base, "review", "complete", departures)
            completed = {**base, "decision": decision}
            self.publish(t_ended, "review.completed", "cycle", cycle_id, pupil, completed)
            self.delivery(cycle_id, plan, doing, reviewing, rng.randint(*logs), pupil)
            views = []
            if rng.random() < 0.3:
                views.append(
                    {
                        "author": "parent",
                        "text": rng.choice(VIEWS[:2]),
                        "stage": "assess",
                        "recorded_at": t_assessed.isoformat().replace("+00:00", "Z"),
                        "recorded_by": senco,
                    }
                )
            cycles.append(
                (
                    cycle_id, cycle_start, t_ended, 8 + len(views), plan_id, pupil.id, school.id,
                    number, "complete", t_ended, t_ended, orjson.dumps(self.assessment(areas))
                    .decode(), orjson.dumps(plan).decode(), orjson.dumps(review).decode(),
                    orjson.dumps(departures).decode(), orjson.dumps(views).decode(), reviewing,
                    reviewing,
                )
            )  # fmt: skip
            day = ending
            cycle_start = t_ended
            last_cycle = cycle_id

        if current_age is not None:
            last_cycle = self.uid()
            number += 1
            self.open_cycle(
                last_cycle, plan_id, pupil, number, day, cycle_start, current_age, areas,
                outcomes, provisions, open_logs, current_stage,
            )  # fmt: skip
        plan_row_index = len(self.rows["support_plans"])
        self.rows["support_plans"].append(
            (
                plan_id, opened, opened, 1, pupil.id, "active", start, None, None,
                f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", orjson.dumps(areas).decode(),
                last_cycle,
            )
        )  # fmt: skip
        self._last_plan_row = plan_row_index

    def transition(
        self,
        moment: datetime,
        cycle_id: uuid.UUID,
        pupil: _Pupil,
        base: dict[str, Any],
        before: str,
        after: str,
        departures: list[dict[str, Any]],
    ) -> None:
        senco = pupil.school.senco
        departures += self.departures(f"{before}->{after}", moment, senco)
        self.write(moment, senco, "senco", "transition", "cycle", cycle_id, pupil)
        self.publish(
            moment, "cycle.transitioned", "cycle", cycle_id, pupil,
            {**base, "from": before, "to": after},
        )  # fmt: skip

    def open_cycle(
        self,
        cycle_id: uuid.UUID,
        plan_id: uuid.UUID,
        pupil: _Pupil,
        number: int,
        day: date,
        created: datetime,
        age: int,
        areas: list[str],
        outcomes: tuple[int, int],
        provisions: tuple[int, int],
        logs: tuple[int, int],
        stage: str | None,
    ) -> None:
        """The plan's current cycle, filled as far as its stage: `age` days after `day`."""
        rng = self.rng
        senco = pupil.school.senco
        if stage is None:
            stage = "assess" if age < 8 else "plan" if age < 16 else "do" if age < 75 else "review"
        base = {"plan_id": str(plan_id), "number": number}
        assessment = self.empty_assessment
        plan = self.empty_plan
        review = self.empty_review
        review_date = None
        version = 1
        departures: list[dict[str, Any]] = []
        stage_entered = created
        order = ("assess", "plan", "do", "review")
        reached = order.index(stage)
        moments = sorted(self.at(day + timedelta(days=d)) for d in (3, 7, 12, 15, 72, 74))
        moments = [m if m > created else created for m in moments]
        if reached >= 1 or rng.random() < 0.5:
            assessment = self.assessment(areas)
            version += 1
            self.write(moments[0], senco, "senco", "update", "cycle", cycle_id, pupil)
            self.publish(
                moments[0], "cycle.updated", "cycle", cycle_id, pupil,
                {**base, "stage": "assess", "changed": ["assessment"]},
            )  # fmt: skip
        if reached >= 1:
            self.transition(moments[1], cycle_id, pupil, base, "assess", "plan", departures)
            version += 1
            stage_entered = moments[1]
        if reached >= 2 or (reached == 1 and rng.random() < 0.5):
            planned = day + timedelta(days=12)
            review_date = day + timedelta(days=84)
            plan = self.plan_record(
                rng.randint(*outcomes), rng.randint(*provisions), planned, review_date
            )
            version += 1
            self.write(moments[2], senco, "senco", "update", "cycle", cycle_id, pupil)
            self.publish(
                moments[2], "cycle.updated", "cycle", cycle_id, pupil,
                {**base, "stage": "plan", "changed": ["plan"]},
            )  # fmt: skip
        if reached >= 2:
            self.transition(moments[3], cycle_id, pupil, base, "plan", "do", departures)
            version += 1
            stage_entered = moments[3]
            last = day + timedelta(days=age)
            count = rng.randint(*logs)
            self.delivery(cycle_id, plan, day + timedelta(days=16), last, count, pupil)
        if reached >= 3:
            self.transition(moments[4], cycle_id, pupil, base, "do", "review", departures)
            version += 1
            stage_entered = moments[4]
            review = self.review_record(plan, None, None, 0.5)
        updated = max([created, stage_entered])
        self.rows["cycles"].append(
            (
                cycle_id, created, updated, version, plan_id, pupil.id, pupil.school.id, number,
                stage, stage_entered, None, orjson.dumps(assessment).decode(),
                orjson.dumps(plan).decode(), orjson.dumps(review).decode(),
                orjson.dumps(departures).decode(), "[]", review_date, None,
            )
        )  # fmt: skip

    def end_plan(self, pupil: _Pupil, status: str, on: date, reason: str) -> None:
        row = list(self.rows["support_plans"][self._last_plan_row])
        moment = self.at(on)
        row[2] = moment
        row[3] = 2
        row[5] = status
        row[7] = on
        row[8] = reason
        self.rows["support_plans"][self._last_plan_row] = tuple(row)
        self.publish(moment, "plan.closed", "support_plan", row[0], pupil, {"status": status})

    def build_histories(self) -> None:
        rng = self.rng
        spec = self.spec
        order = list(range(len(self.pupils)))
        rng.shuffle(order)
        n_support = round(spec.pupils * spec.sen_support_share)
        n_ehc = round(spec.pupils * spec.ehc_plan_share)
        n_former = round(spec.pupils * spec.former_support_share)
        support = [self.pupils[i] for i in order[:n_support]]
        ehc = [self.pupils[i] for i in order[n_support : n_support + n_ehc]]
        former = [self.pupils[i] for i in order[n_support + n_ehc : n_support + n_ehc + n_former]]
        others = [self.pupils[i] for i in order[n_support + n_ehc + n_former :]]

        heavy, light = support[0], support[1]
        self.heavy_pupil = heavy
        lengths = [rng.randint(63, 98) for _ in range(spec.heavy_cycles)]
        start = self.today - timedelta(days=sum(lengths) + 40)
        per_cycle = spec.heavy_delivery_logs // (spec.heavy_cycles + 1)
        in_open_cycle = spec.heavy_delivery_logs - per_cycle * spec.heavy_cycles
        self.support_history(
            heavy, lengths, start, "request_ehc_assessment", 40,
            outcomes=(spec.heavy_outcomes,) * 2, provisions=(spec.heavy_provisions,) * 2,
            logs=(per_cycle, per_cycle), open_logs=(in_open_cycle, in_open_cycle),
            current_stage="do",
        )  # fmt: skip
        self.heavy_request_id = self.ehc_request(heavy, "submitted", self.today - timedelta(14))

        for pupil in support[1:]:
            lengths = [rng.randint(63, 98) for _ in range(rng.randint(1, 8))]
            if pupil is light:
                lengths = lengths[:1]
            age = rng.randint(1, 100)
            start = self.today - timedelta(days=sum(lengths) + age)
            self.support_history(pupil, lengths, start, "continue", age)
        self.light_request_id = self.ehc_request(light, "submitted", self.today - timedelta(9))
        self.light_school_index = light.school.index

        for pupil in ehc:
            lengths = [rng.randint(63, 98) for _ in range(rng.randint(2, 6))]
            issued = self.today - timedelta(days=rng.randint(20, 500))
            completed = issued - timedelta(weeks=20, days=7)
            start = completed - timedelta(days=sum(lengths))
            self.support_history(
                pupil, lengths, start, "request_ehc_assessment", 1, current_stage="assess"
            )
            self.ehc_request(pupil, "plan_issued", completed + timedelta(days=7))
            pupil.sen = "E"
            moment = self.at(issued)
            pupil.touch(moment)
            self.publish(
                moment, "pupil.updated", "pupil", pupil.id, pupil,
                {"changed": ["sen_status"], "sen_status": "E"},
            )  # fmt: skip
            self.end_plan(pupil, "superseded", issued, "ehc_plan_issued")

        for pupil in former:
            lengths = [rng.randint(63, 98) for _ in range(rng.randint(1, 4))]
            ended = self.today - timedelta(days=rng.randint(30, 400))
            start = ended - timedelta(days=sum(lengths))
            self.support_history(pupil, lengths, start, "close_support", None)
            pupil.sen = "N"
            moment = self.at(ended)
            pupil.touch(moment)
            self.publish(
                moment, "pupil.updated", "pupil", pupil.id, pupil,
                {"changed": ["sen_status"], "sen_status": "N"},
            )  # fmt: skip
            self.end_plan(pupil, "closed", ended, "review_decision_close_support")

        # Other EHC requests (a few per hundred on SEN support), top-up claims, specialist
        # involvement and concerns.
        statuses = ("draft", "submitted", "assessing", "declined", "withdrawn")
        for pupil in support[2 : 2 + round(len(support) * 0.15)]:
            status = rng.choices(statuses, (3, 3, 3, 2, 1))[0]
            self.ehc_request(pupil, status, self.today - timedelta(days=rng.randint(10, 150)))
        claimants = support[: round(len(support) * 0.25)] + ehc[: round(len(ehc) * 0.3)]
        for pupil in claimants:
            periods = [self.period(0)] if rng.random() < 0.6 else [self.period(-1), self.period(0)]
            for period in periods:
                self.funding_claim(pupil, period)
        for pupil in support + ehc + former:
            self.concern(pupil, self.today - timedelta(days=700 + rng.randrange(200)), True)
            if rng.random() < 0.18:
                for _ in range(rng.randint(1, 2)):
                    self.specialist(pupil)
        for pupil in heavy, heavy, heavy:
            self.specialist(pupil)
        for pupil in others[: round(len(others) * 0.03)]:
            self.concern(pupil, self.today - timedelta(days=rng.randrange(60)), False)
        for pupil in others[round(len(others) * 0.03) : round(len(others) * 0.035)]:
            pupil.left_on = self.today - timedelta(days=rng.randint(1, 300))
            pupil.touch(self.at(pupil.left_on))
            self.publish(
                pupil.updated_at, "pupil.updated", "pupil", pupil.id, pupil,
                {"changed": ["left_on"]},
            )  # fmt: skip

    def ehc_request(self, pupil: _Pupil, status: str, submitted: date) -> uuid.UUID:
        rng = self.rng
        school = pupil.school
        request_id = self.uid()
        created = self.at(submitted - timedelta(days=7))
        officer = f"officer.{pupil.home_la}"
        steps = [("created", created, school.senco, "senco")]
        la_code = None
        dates: list[date | None] = [None, None, None, None]
        decided_on = None
        note = None
        if status != "draft":
            la_code = pupil.home_la
            due = ehc_due_dates(submitted)
            dates = [
                submitted,
                due.decision_due_on,
                due.issue_decision_due_on,
                due.final_plan_due_on,
            ]
            steps.append(("submitted", self.at(submitted), school.senco, "senco"))
        if status in ("assessing", "plan_issued"):
            on = min(submitted + timedelta(weeks=6), self.today)
            steps.append(("assessing", self.at(on), officer, "la_officer"))
        if status in ("declined", "plan_issued"):
            weeks = 5 if status == "declined" else 20
            decided_on = min(submitted + timedelta(weeks=weeks), self.today)
            steps.append((status, self.at(decided_on), officer, "la_officer"))
            note = "Panel decision recorded; letter sent to parents."
        if status == "withdrawn":
            withdrawn = self.at(submitted + timedelta(days=3))
            steps.append(("withdrawn", withdrawn, school.senco, "senco"))
        for step, moment, actor, role in steps:
            action = "create" if step == "created" else "transition"
            self.write(moment, actor, role, action, "ehc_request", request_id, pupil)
            self.publish(
                moment, f"ehc_request.{step}", "ehc_request", request_id, pupil,
                {"status": step if step != "created" else "draft", "requested_by": "school"},
                la_code=la_code,
            )  # fmt: skip
        updated = max(step[1] for step in steps)
        self.rows["ehc_requests"].append(
            (
                request_id, created, updated, len(steps), pupil.id, school.id, la_code, "school",
                status, rng.choice(IMPACT), *dates, decided_on, note, "[]",
            )
        )  # fmt: skip
        return request_id

    def funding_claim(self, pupil: _Pupil, period: str) -> None:
        rng = self.rng
        school = pupil.school
        status = rng.choices(
            ("draft", "submitted", "approved", "partially_approved", "rejected", "withdrawn"),
            (10, 20, 40, 15, 10, 5),
        )[0]
        claim_id = self.uid()
        created = self.at(self.today - timedelta(days=rng.randint(30, 300)))
        steps = [("created", created, school.senco, "senco")]
        la_code = threshold = cost = requested = decided = submitted_at = decided_at = None
        decided_by = note = None
        if status != "draft":
            la_code = pupil.home_la
            threshold = THRESHOLD
            cost = THRESHOLD + Decimal(rng.randint(300, 12_000)) + Decimal("0.50")
            requested = cost - THRESHOLD
            submitted_at = created + timedelta(days=2)
            steps.append(("submitted", submitted_at, school.senco, "senco"))
        if status in ("approved", "partially_approved", "rejected"):
            assert requested is not None and submitted_at is not None
            decided = {
                "approved": requested,
                "partially_approved": (requested * Decimal("0.6")).quantize(Decimal("0.01")),
                "rejected": Decimal("0.00"),
            }[status]
            decided_at = submitted_at + timedelta(days=rng.randint(5, 25))
            decided_by = f"officer.{pupil.home_la}"
            note = "Decided at the monthly top-up panel."
            steps.append((status, decided_at, decided_by, "la_officer"))
        if status == "withdrawn":
            assert submitted_at is not None
            steps.append(("withdrawn", submitted_at + timedelta(days=1), school.senco, "senco"))
        for step, moment, actor, role in steps:
            action = "create" if step == "created" else "transition"
            self.write(moment, actor, role, action, "funding_claim", claim_id, pupil)
            self.publish(
                moment, f"funding_claim.{step}", "funding_claim", claim_id, pupil,
                {"period": period, "status": step if step != "created" else "draft"},
                la_code=la_code,
            )  # fmt: skip
        updated = max(step[1] for step in steps)
        self.rows["funding_claims"].append(
            (
                claim_id, created, updated, len(steps), pupil.id, school.id, la_code, period,
                status, threshold, cost, requested, decided, note, decided_by, decided_at,
                submitted_at, "[]",
            )
        )  # fmt: skip

    def specialist(self, pupil: _Pupil) -> None:
        rng = self.rng
        requested = self.today - timedelta(days=rng.randint(20, 600))
        received = requested + timedelta(days=rng.randint(20, 120))
        if received > self.today or rng.random() < 0.3:
            received = None
        created = self.at(requested)
        involvement_id = self.uid()
        service = rng.choice(SPECIALISTS)
        self.rows["specialist_involvements"].append(
            (
                involvement_id, created, created, 1 if received is None else 2, pupil.id, service,
                requested - timedelta(days=3), True, requested, received,
                None if received is None else "Advice received; recommendations added to plan.",
                "[]", None,
            )
        )  # fmt: skip
        self.write(created, pupil.school.senco, "senco", "create", "specialist_involvement",
                   involvement_id, pupil)  # fmt: skip
        self.publish(
            created, "specialist_involvement.created", "specialist_involvement", involvement_id,
            pupil, {"service": service},
        )  # fmt: skip

    def concern(self, pupil: _Pupil, raised: date, responded: bool) -> None:
        rng = self.rng
        created = self.at(raised)
        concern_id = self.uid()
        answered = raised + timedelta(days=rng.randint(2, 20)) if responded else None
        self.rows["concerns"].append(
            (
                concern_id, created, created, 2 if responded else 1, pupil.id,
                rng.choice(("parent", "teacher", "teacher", "pupil")), raised,
                "Worried about progress in reading and confidence in class.",
                "responded" if responded else "open",
                "Met with parents; assessment under the graduated approach agreed."
                if responded else None, answered,
            )
        )  # fmt: skip
        self.write(created, pupil.school.teacher, "teacher", "create", "concern", concern_id, pupil)

    # -- finishing --------------------------------------------------------------------------

    def finish(self) -> int:
        pupils = self.rows["pupils"]
        for p in self.pupils:
            pupils.append(
                (
                    p.id, p.created_at, p.updated_at, p.version, p.school.id, p.upn, p.first,
                    p.last, p.dob, p.year, p.home_la, p.premium, p.primary, p.secondary,
                    p.contacts, p.left_on, p.sen,
                )
            )  # fmt: skip
        self.events.sort(key=lambda event: event[0])
        self.rows["events"] = [
            (seq, e[1], e[2], e[3], e[4], e[5], e[6], e[0], e[7])
            for seq, e in enumerate(self.events, start=1)
        ]
        return len(self.events)


def build(spec: DatasetSpec, today: date, now: datetime) -> tuple[_Builder, int]:
    builder = _Builder(spec, today, now)
    builder.build_schools()
    builder.build_pupils()
    builder.build_histories()
    max_seq = builder.finish()
    return builder, max_seq


async def _secondary_indexes(connection: asyncpg.Connection, table: str) -> list[str]:
    """CREATE INDEX statements of the indexes that back no constraint."""
    rows = await connection.fetch(
        """
        select pg_get_indexdef(i.indexrelid) as definition
        from pg_index i
        join pg_class c on c.oid = i.indexrelid
        where i.indrelid = $1::regclass
          and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
        """,
        table,
    )
    return [row["definition"] for row in rows]


async def load(url: str, spec: DatasetSpec, today: date, now: datetime) -> Dataset:
    """Generate the data set and COPY it into the (migrated, empty) database at `url`."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    builder, max_seq = build(spec, today, now)
    timings["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    admin = await asyncpg.connect(url)
    try:
        superuser = await admin.fetchval(
            "select rolsuper from pg_roles where rolname = current_user"
        )
        dropped: dict[str, list[str]] = {}
        if superuser:
            for table in REINDEXED_TABLES:
                dropped[table] = await _secondary_indexes(admin, table)
                for definition in dropped[table]:
                    name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
                    await admin.execute(f"DROP INDEX {name}")
    finally:
        await admin.close()

    async def copy(tables: list[str]) -> None:
        connection = await asyncpg.connect(url)
        try:
            if superuser:
                # Skips foreign-key triggers: every reference is valid by construction.
                await connection.execute("SET session_replication_role = replica")
            for table in tables:
                rows = builder.rows.get(table, [])
                if rows:
                    await connection.copy_records_to_table(
                        table, records=rows, columns=list(COLUMNS[table])
                    )
        finally:
            await connection.close()

    if superuser:
        # Roughly balanced lanes; the server has as many cores as the machine.
        lanes = [
            ["audit_entries"],
            ["events", "schools", "notional_sen_budgets", "funding_thresholds"],
            ["cycles", "support_plans", "ehc_requests", "funding_claims"],
            ["delivery_logs", "pupils", "specialist_involvements", "concerns"],
        ]
        await asyncio.gather(*(copy(lane) for lane in lanes))
    else:
        await copy(list(COLUMNS))
    timings["copy"] = time.perf_counter() - started

    started = time.perf_counter()

    async def run(statements: list[str]) -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET maintenance_work_mem = '256MB'")
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    await asyncio.gather(*(run(definitions) for definitions in dropped.values() if definitions))
    timings["index"] = time.perf_counter() - started
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("UPDATE event_counter SET last_seq = $1 WHERE id = 1", max_seq)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    timings["analyze"] = time.perf_counter() - started

    heavy = builder.heavy_pupil
    assert builder.heavy_request_id is not None and builder.light_request_id is not None
    return Dataset(
        schools=[SchoolRef(s.index, s.id, s.urn, s.la) for s in builder.schools],
        pupils=[
            PupilRef(p.id, p.school.index, p.upn, p.last, p.first, p.year, p.sen)
            for p in builder.pupils
        ],
        heavy_pupil_id=heavy.id,
        heavy_school_index=heavy.school.index,
        heavy_request_id=builder.heavy_request_id,
        light_request_id=builder.light_request_id,
        light_school_index=builder.light_school_index,
        max_seq=max_seq,
        row_counts={table: len(rows) for table, rows in builder.rows.items()},
        timings=timings,
    )
