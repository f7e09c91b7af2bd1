"""The hot reads reach their rows through their indexes over a realistic volume.

The performance target is a pupil list with filters over 60,000 pupils at p99 under 20 ms; that
only holds while every hot query is an index scan, so this module checks the plans. It loads,
once, 50 schools (30 primaries of 500 pupils, 20 secondaries of 2,250), 60,000 pupils, 100,000
change-feed events, 150,000 audit entries and 10,000 EHC requests, with COPY and set-based
`INSERT ... SELECT ... FROM generate_series`, then ANALYZEs them so that the planner works from
real statistics.

Each case calls the real endpoint through the app with a token and records every statement the
app sends through asyncpg (the ORM's, and those it runs on asyncpg directly), then runs
`EXPLAIN (FORMAT JSON)` on each with the parameters it was sent with: whatever shape the services
give their SQL (one statement with a data-modifying CTE, or several), what is checked is what
ran. The case's table must be read through the case's index, and no plan may Seq Scan a big
table. The same statements are also planned as generic plans (`plan_cache_mode =
force_generic_plan`): the driver reuses prepared statements, and after five executions
PostgreSQL may switch to a plan made without the values, which must not Seq Scan a big table or
read the case's table without an index either.

The tables are truncated after the module, as `clean_tables` does after each test.
"""

import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import asyncpg.prepared_stmt
import httpx
import pytest

from app.core.config import Settings
from app.core.security import Role, mint_token
from app.pupils.upn import upn_check_letter
from tests.conftest import _plain_dsn, empty_every_table

# The data set. Sizes are per school: the cases read the largest school, the worst case.
PRIMARIES, PRIMARY_SIZE = 30, 500
SECONDARIES, SECONDARY_SIZE = 20, 2_250
EVENTS = 100_000
AUDIT_ENTRIES = 150_000
EHC_REQUESTS = 10_000
FILL_BUDGET_S = 30.0  # about 5 s on an idle machine; generous, as benchmarks may share it

BIG_TABLES = frozenset({"pupils", "events", "audit_entries", "ehc_requests"})
INDEX_SCANS = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})

LA_CODES = ("330", "331", "332", "333", "334", "335", "336", "373", "380", "381")
FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Noah", "Ava", "Arthur", "Mia", "Harry", "Ivy",
    "Leo", "Lily", "Muhammad", "Isabella", "Jack", "Rosie", "Charlie", "Sophia", "Oscar",
    "Grace", "Jacob", "Freya", "Henry", "Olivia", "Thomas", "Florence", "Freddie", "Willow",
    "Alfie", "Emily", "Theo", "Ella", "William", "Poppy", "Archie", "Evie", "Joshua", "Aisha",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Khan",
    "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox",
    "Richards", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Ali",
    "Hussain", "Ahmed", "Kaur", "O'Brien", "Okafor", "Nowak", "Kowalski", "Silva",
)  # fmt: skip
PRIMARY_YEARS = ("R", "1", "2", "3", "4", "5", "6")
SECONDARY_YEARS = ("7", "8", "9", "10", "11", "12", "13")
NEEDS = ("SPLD", "MLD", "SEMH", "SLCN", "ASD", "HI", "VI", "PD", "OTH")

SCHOOL_COLUMNS = (
    "id", "urn", "name", "la_code", "establishment_type", "created_at", "updated_at", "version",
)  # fmt: skip
PUPIL_COLUMNS = (
    "id", "school_id", "upn", "first_name", "last_name", "date_of_birth", "year_group",
    "home_la_code", "pupil_premium", "primary_need", "secondary_need", "contacts", "left_on",
    "sen_status", "created_at", "updated_at", "version",
)  # fmt: skip

# Pupils numbered in a fixed order, to pick one per generated row by arithmetic (a multiplier
# coprime with the count spreads the picks over every pupil and every school).
_NUMBERED_PUPILS = """
    WITH p AS MATERIALIZED (
        SELECT row_number() OVER (ORDER BY id) AS rn, id, school_id, home_la_code, upn
        FROM pupils
    ), n AS (SELECT count(*) AS c FROM p)
"""

FILL_EVENTS = (
    _NUMBERED_PUPILS
    + """
    INSERT INTO events
        (seq, type, resource, resource_id, pupil_id, school_id, la_code, occurred_at, data)
    SELECT $1::bigint + e.g, e.type, split_part(e.type, '.', 1),
           CASE WHEN e.type LIKE 'pupil.%' THEN p.id ELSE gen_random_uuid() END,
           p.id, p.school_id, p.home_la_code,
           now() - ($2::int - e.g) * interval '2 minutes',
           jsonb_build_object('upn', p.upn)
    FROM (
        SELECT g, (ARRAY['pupil.updated', 'pupil.updated', 'pupil.updated', 'pupil.created',
                         'cycle.stage_changed', 'cycle.stage_changed', 'cycle.stage_changed',
                         'support_plan.opened', 'support_plan.closed',
                         'ehc_request.submitted'])[1 + g % 10] AS type
        FROM generate_series(1, $2::int) AS g
    ) AS e
    JOIN p ON p.rn = 1 + (e.g::bigint * 7919) % (SELECT c FROM n)
"""
)

FILL_AUDIT = (
    _NUMBERED_PUPILS
    + """
    INSERT INTO audit_entries
        (at, actor_sub, actor_role, action, resource, resource_id, pupil_id, school_id,
         request_id)
    SELECT now() - ($1::int - g) * interval '3 minutes',
           'senco-' || (g % 97), 'senco',
           (ARRAY['read', 'read', 'read', 'read', 'update', 'create'])[1 + g % 6],
           'pupil', p.id, p.id, p.school_id, md5(g::text)
    FROM generate_series(1, $1::int) AS g
    JOIN p ON p.rn = 1 + (g::bigint * 104729) % (SELECT c FROM n)
"""
)

# One request per pupil (at most one open per pupil is a unique index); drafts have no LA yet.
FILL_EHC_REQUESTS = (
    _NUMBERED_PUPILS
    + """
    INSERT INTO ehc_requests
        (id, pupil_id, school_id, la_code, requested_by, status, reason, submitted_on,
         departures, created_at, updated_at, version)
    SELECT gen_random_uuid(), p.id, p.school_id,
           CASE WHEN s.status = 'draft' THEN NULL ELSE p.home_la_code END,
           'school', s.status, 'Needs beyond what SEN support provides',
           CASE WHEN s.status = 'draft' THEN NULL
                ELSE (now() - (p.rn % 700) * interval '1 day')::date END,
           '[]'::jsonb, now() - (p.rn % 700 + 7) * interval '1 day', now(), 1
    FROM p
    CROSS JOIN LATERAL (
        SELECT (ARRAY['submitted', 'submitted', 'assessing', 'assessing', 'assessing',
                      'plan_issued', 'plan_issued', 'plan_issued', 'plan_issued',
                      'plan_issued', 'plan_issued', 'declined', 'declined', 'declined',
                      'plan_not_issued', 'plan_not_issued', 'withdrawn', 'draft', 'draft',
                      'draft'])[1 + p.rn % 20] AS status
    ) AS s
    WHERE p.rn <= $1::int
"""
)

FILLED_TABLES = ("schools", "pupils", "events", "audit_entries", "ehc_requests")


def _school_rows(rng: random.Random, now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for index in range(PRIMARIES + SECONDARIES):
        primary = index < PRIMARIES
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                f"{100_000 + index * 137:06d}",
                f"School {index} {'Primary' if primary else 'Academy'}",
                LA_CODES[index % len(LA_CODES)],
                "maintained" if primary else "academy",
                now - timedelta(days=900),
                now - timedelta(days=900),
                1,
            )
        )
    return rows


def _pupil_rows(
    rng: random.Random, now: datetime, schools: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Every pupil with a valid UPN (DfE check letter), unique within its school."""
    rows = []
    year_seconds = 365 * 86_400
    for index, school in enumerate(schools):
        school_id, la_code = school[0], school[3]
        primary = index < PRIMARIES
        years = PRIMARY_YEARS if primary else SECONDARY_YEARS
        for k in range(PRIMARY_SIZE if primary else SECONDARY_SIZE):
            tail = f"{la_code}{2001 + index:04d}{10 + k // 1000:02d}{k % 1000:03d}"
            status = rng.choices("NKE", weights=(82, 13, 5))[0]
            primary_need = rng.choice(NEEDS) if status != "N" else None
            secondary_need = None
            if primary_need is not None and rng.random() < 0.3:
                secondary_need = rng.choice([n for n in NEEDS if n != primary_need])
            year = rng.choice(years)
            age = 5 + (PRIMARY_YEARS + SECONDARY_YEARS).index(year)
            updated_at = now - timedelta(seconds=rng.uniform(0, year_seconds))
            rows.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    school_id,
                    upn_check_letter(tail) + tail,
                    rng.choice(FIRST_NAMES),
                    rng.choice(LAST_NAMES),
                    date(now.year - age - 1, rng.randint(9, 12), rng.randint(1, 28)),
                    year,
                    la_code if rng.random() < 0.9 else rng.choice(LA_CODES),
                    rng.random() < 0.25,
                    primary_need,
                    secondary_need,
                    "[]",
                    None,
                    status,
                    updated_at - timedelta(seconds=rng.uniform(0, year_seconds)),
                    updated_at,
                    1 + rng.randrange(4),
                )
            )
    # Schools' pupils interleaved on disk, as years of enrolments leave them.
    rng.shuffle(rows)
    return rows


async def _json_codecs(conn: asyncpg.Connection) -> None:
    """JSONB parameters as the app's connections take them (Python values), for EXPLAIN. (Not
    `json`: EXPLAIN's own output is json, kept as text.)"""
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads, format="text"
    )


async def _fill(conn: asyncpg.Connection) -> float:
    """Load the data set; returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(20_261_128)
    now = datetime.now(UTC)
    schools = _school_rows(rng, now)
    pupils = _pupil_rows(rng, now, schools)
    async with conn.transaction():
        await conn.copy_records_to_table("schools", records=schools, columns=SCHOOL_COLUMNS)
        await conn.copy_records_to_table("pupils", records=pupils, columns=PUPIL_COLUMNS)
        # Numbered after the counter and the counter moved on, as the outbox leaves them.
        last_seq = await conn.fetchval(
            "update event_counter set last_seq = last_seq + $1 where id = 1 returning last_seq",
            EVENTS,
        )
        await conn.execute(FILL_EVENTS, last_seq - EVENTS, EVENTS)
        await conn.execute(FILL_AUDIT, AUDIT_ENTRIES)
        await conn.execute(FILL_EHC_REQUESTS, EHC_REQUESTS)
    await conn.execute(f"analyze {', '.join(FILLED_TABLES)}")
    return time.perf_counter() - started


# --- Plans -------------------------------------------------------------------------------------


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan tree (CTEs, InitPlans and SubPlans are children too)."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def render_plan(plan: dict[str, Any], depth: int = 0) -> list[str]:
    """A compact text form of a JSON plan, for failure messages."""
    words = [plan["Node Type"]]
    if "Parent Relationship" in plan and plan["Parent Relationship"] not in ("Outer", "Inner"):
        words.insert(0, f"[{plan['Parent Relationship']}]")
    if "Index Name" in plan:
        words.append(f"using {plan['Index Name']}")
    if "Relation Name" in plan:
        words.append(f"on {plan['Relation Name']}")
    if "CTE Name" in plan:
        words.append(f"CTE {plan['CTE Name']}")
    if "Scan Direction" in plan and plan["Scan Direction"] == "Backward":
        words.append("backward")
    words.append(f"(cost={plan['Total Cost']} rows={plan['Plan Rows']})")
    lines = ["  " * depth + "-> " + " ".join(words)]
    for key in ("Index Cond", "Recheck Cond", "Filter", "Join Filter", "Hash Cond", "Sort Key"):
        if key in plan:
            lines.append("  " * depth + f"     {key}: {plan[key]}")
    for child in plan.get("Plans", ()):
        lines.extend(render_plan(child, depth + 1))
    return lines


def _array_element(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: Any) -> str:
    """A parameter as an SQL literal of unknown type, for `EXECUTE name(...)`: PostgreSQL
    converts it to the type the prepared statement declared."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, list | tuple):
        text = "{" + ",".join(_array_element(element) for element in value) + "}"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, dict):
        text = json.dumps(value)
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Statement:
    sql: str
    parameters: tuple[Any, ...]
    plan: dict[str, Any] = field(default_factory=dict)
    generic_plan: dict[str, Any] = field(default_factory=dict)

    def describe(self, plan: dict[str, Any]) -> str:
        return "\n".join([self.sql, f"parameters: {self.parameters!r}", *render_plan(plan)])


PLANNABLE = frozenset({"select", "with", "insert", "update", "delete"})


def _plannable(sql: str) -> bool:
    words = sql.split(None, 1)
    return bool(words) and words[0].lower() in PLANNABLE


async def explain(conn: asyncpg.Connection, statement: Statement) -> None:
    """The plan the statement gets with its values, and the generic plan a reused prepared
    statement may switch to. EXPLAIN without ANALYZE runs nothing: a data-modifying CTE
    writes no row here."""
    raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {statement.sql}", *statement.parameters)
    statement.plan = json.loads(raw)[0]["Plan"]
    arguments = ", ".join(_literal(value) for value in statement.parameters)
    execute = f"EXECUTE plan_probe({arguments})" if arguments else "EXECUTE plan_probe"
    # A prepared statement belongs to the session, not to a transaction.
    await conn.execute(f"PREPARE plan_probe AS {statement.sql}")
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {execute}")
    finally:
        await conn.execute("DEALLOCATE plan_probe")
    statement.generic_plan = json.loads(raw)[0]["Plan"]


CONNECTION_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval")
STATEMENT_METHODS = ("cursor", "executemany", "fetch", "fetchrow", "fetchval")


@contextmanager
def captured(mp: pytest.MonkeyPatch, ours: asyncpg.Connection) -> Iterator[list[Statement]]:
    """Every statement sent through asyncpg while the block runs, with its parameters, on any
    connection but `ours`.

    Recorded at asyncpg's public API rather than with SQLAlchemy's `before_cursor_execute`, so
    that statements the app runs on asyncpg directly (a pool of its own for the hot read) are
    seen as well as the ORM's: SQLAlchemy's driver prepares each statement and runs it with
    `PreparedStatement.fetch`, direct calls use `Connection.fetch*`, pooled connections forward
    to the same methods."""
    statements: list[Statement] = []

    def record(connection: Any, sql: str, parameters: Sequence[Any]) -> None:
        if connection is not ours:
            statements.append(Statement(sql, tuple(parameters)))

    def on_connection(name: str) -> Callable[..., Any]:
        original = getattr(asyncpg.Connection, name)

        def method(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            record(self, query, args[0][0] if name == "executemany" and args[0] else args)
            return original(self, query, *args, **kwargs)

        return method

    def on_statement(name: str) -> Callable[..., Any]:
        original = getattr(asyncpg.prepared_stmt.PreparedStatement, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            parameters = args[0][0] if name == "executemany" and args[0] else args
            record(self._connection, self.get_query(), parameters)
            return original(self, *args, **kwargs)

        return method

    with mp.context() as patch:
        for name in CONNECTION_METHODS:
            patch.setattr(asyncpg.Connection, name, on_connection(name))
        for name in STATEMENT_METHODS:
            patch.setattr(asyncpg.prepared_stmt.PreparedStatement, name, on_statement(name))
        yield statements


# --- The data set and the cases ----------------------------------------------------------------


@dataclass
class World:
    http: httpx.AsyncClient
    settings: Settings
    conn: asyncpg.Connection
    index_tables: dict[str, str]  # index name -> its table
    school_id: uuid.UUID  # the largest school
    pupil_id: uuid.UUID  # a pupil of it with events and audit entries
    la_code: str  # the LA with the most EHC requests
    la_pupil_id: uuid.UUID  # a pupil with a request submitted to it
    last_seq: int
    name_part: str
    upn: str

    def headers(self, role: Role) -> dict[str, str]:
        """A token for `role`, scoped to the school, pupil or LA the cases read."""
        scope: dict[str, Any] = {}
        if role in (Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION):
            scope["school_id"] = self.school_id
        elif role is Role.PARENT:
            scope["pupil_ids"] = [self.pupil_id]
        elif role is Role.LA_OFFICER:
            scope["la_code"] = self.la_code
        token = mint_token(self.settings, sub=f"{role.value}-perf", role=role, **scope)
        return {"Authorization": f"Bearer {token}"}

    def senco(self) -> dict[str, str]:
        return self.headers(Role.SENCO)

    def admin(self) -> dict[str, str]:
        return self.headers(Role.PLATFORM_ADMIN)

    async def get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Any:
        response = await self.http.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
async def world(app: Any, settings: Settings, database_url: str) -> AsyncIterator[World]:
    conn = await asyncpg.connect(_plain_dsn(database_url))
    try:
        await empty_every_table(conn)
        seconds = await _fill(conn)
        assert seconds < FILL_BUDGET_S, f"loading the data set took {seconds:.1f} s"
        print(f"data set loaded and analysed in {seconds:.1f} s")
        await _json_codecs(conn)
        school_id = await conn.fetchval(
            "select school_id from pupils group by school_id order by count(*) desc, school_id "
            "limit 1"
        )
        pupil = await conn.fetchrow(
            "select e.pupil_id, p.upn, p.last_name "
            "from events e join pupils p on p.id = e.pupil_id where e.school_id = $1 "
            "group by e.pupil_id, p.upn, p.last_name "
            "order by count(*) desc, e.pupil_id limit 1",
            school_id,
        )
        la_code = await conn.fetchval(
            "select la_code from ehc_requests where la_code is not null group by la_code "
            "order by count(*) desc, la_code limit 1"
        )
        la_pupil_id = await conn.fetchval(
            "select pupil_id from ehc_requests where la_code = $1 order by pupil_id limit 1",
            la_code,
        )
        last_seq = await conn.fetchval("select last_seq from event_counter")
        index_tables = {
            row["indexname"]: row["tablename"]
            for row in await conn.fetch(
                "select indexname, tablename from pg_indexes where schemaname = 'public'"
            )
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield World(
                http=http,
                settings=settings,
                conn=conn,
                index_tables=index_tables,
                school_id=school_id,
                pupil_id=pupil["pupil_id"],
                la_code=la_code,
                la_pupil_id=la_pupil_id,
                last_seq=last_seq,
                name_part=pupil["last_name"][:4].lower(),
                upn=pupil["upn"],
            )
    finally:
        await empty_every_table(conn)
        await conn.execute(f"analyze {', '.join(FILLED_TABLES)}")
        await conn.close()


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Case:
    name: str
    request: Callable[[World], Awaitable[Request]]
    table: str
    # Any of these satisfies the case; the first is the one the query is designed around.
    indexes: tuple[str, ...]


# Every index that leads with school_id reaches one school's pupils without reading the others.
SCHOOL_PUPIL_INDEXES = (
    "ix_pupils_school_name_order",
    "ix_pupils_school_updated",
    "uq_pupils_school_id_upn",
)


def pupil_list(role: Role = Role.SENCO, **params: str) -> Callable[[World], Awaitable[Request]]:
    async def build(w: World) -> Request:
        headers = w.admin() if role is Role.PLATFORM_ADMIN else w.senco()
        return Request(f"/v1/schools/{w.school_id}/pupils", dict(params), headers)

    return build


def pupil_search(by: str) -> Callable[[World], Awaitable[Request]]:
    async def build(w: World) -> Request:
        q = w.name_part if by == "name" else w.upn
        return Request(f"/v1/schools/{w.school_id}/pupils", {"q": q}, w.senco())

    return build


def recently_updated() -> Callable[[World], Awaitable[Request]]:
    """What an MIS asks every few minutes: the pupils changed since its last sync."""

    async def build(w: World) -> Request:
        since = (datetime.now(UTC) - timedelta(days=3)).isoformat().replace("+00:00", "Z")
        return Request(f"/v1/schools/{w.school_id}/pupils", {"updated_since": since}, w.senco())

    return build


def second_page(
    first: Callable[[World], Awaitable[Request]],
) -> Callable[[World], Awaitable[Request]]:
    """The page after the first one, through the cursor the first one answered."""

    async def build(w: World) -> Request:
        request = await first(w)
        page = await w.get(request.path, request.params, request.headers)
        assert page["next_cursor"], "the first page should have a next one"
        return Request(
            request.path, {**request.params, "cursor": page["next_cursor"]}, request.headers
        )

    return build


def pupil_read(role: Role) -> Callable[[World], Awaitable[Request]]:
    async def build(w: World) -> Request:
        # An LA sees a pupil once a request to it has been submitted.
        pupil_id = w.la_pupil_id if role is Role.LA_OFFICER else w.pupil_id
        return Request(f"/v1/pupils/{pupil_id}", {}, w.headers(role))

    return build


def feed(role: Role, behind: int) -> Callable[[World], Awaitable[Request]]:
    """A poller `behind` events behind the head of the feed."""

    async def build(w: World) -> Request:
        after = str(w.last_seq - behind)
        return Request("/v1/events", {"after": after, "limit": "50"}, w.headers(role))

    return build


def audit(role: Role, by_pupil: bool) -> Callable[[World], Awaitable[Request]]:
    async def build(w: World) -> Request:
        headers = w.admin() if role is Role.PLATFORM_ADMIN else w.senco()
        params = {"pupil_id": str(w.pupil_id)} if by_pupil else {}
        return Request("/v1/audit", params, headers)

    return build


def ehc_caseload(**params: str) -> Callable[[World], Awaitable[Request]]:
    async def build(w: World) -> Request:
        return Request(
            "/v1/ehc-requests",
            {"la_code": w.la_code, **params},
            w.headers(Role.LA_OFFICER),
        )

    return build


NAME_ORDER = ("ix_pupils_school_name_order",)

CASES = [
    Case("pupil by id, senco", pupil_read(Role.SENCO), "pupils", ("pk_pupils",)),
    Case("pupil by id, parent", pupil_read(Role.PARENT), "pupils", ("pk_pupils",)),
    Case("pupil by id, platform admin", pupil_read(Role.PLATFORM_ADMIN), "pupils", ("pk_pupils",)),
    Case("pupil list", pupil_list(), "pupils", NAME_ORDER),
    Case("pupil list, platform admin", pupil_list(Role.PLATFORM_ADMIN), "pupils", NAME_ORDER),
    Case("pupil list, sen_status=K", pupil_list(sen_status="K"), "pupils", SCHOOL_PUPIL_INDEXES),
    Case("pupil list, sen_status=E", pupil_list(sen_status="E"), "pupils", SCHOOL_PUPIL_INDEXES),
    Case("pupil list, year_group=9", pupil_list(year_group="9"), "pupils", SCHOOL_PUPIL_INDEXES),
    Case(
        "pupil list, updated_since 3 days ago",
        recently_updated(),
        "pupils",
        ("ix_pupils_school_updated",),
    ),
    Case("pupil list, q=name part", pupil_search("name"), "pupils", SCHOOL_PUPIL_INDEXES),
    Case("pupil list, q=UPN", pupil_search("upn"), "pupils", SCHOOL_PUPIL_INDEXES),
    Case("pupil list, page 2", second_page(pupil_list()), "pupils", NAME_ORDER),
    Case(
        "pupil list, sen_status=K, page 2",
        second_page(pupil_list(sen_status="K")),
        "pupils",
        SCHOOL_PUPIL_INDEXES,
    ),
    Case(
        "feed, platform admin, catching up",
        feed(Role.PLATFORM_ADMIN, 50_000),
        "events",
        ("pk_events",),
    ),
    Case(
        "feed, platform admin, at the head", feed(Role.PLATFORM_ADMIN, 30), "events", ("pk_events",)
    ),
    Case("feed, senco (school)", feed(Role.SENCO, 20_000), "events", ("ix_events_school_seq",)),
    Case(
        "feed, mis (school)",
        feed(Role.MIS_INTEGRATION, 20_000),
        "events",
        ("ix_events_school_seq",),
    ),
    Case("feed, parent (pupil)", feed(Role.PARENT, 100_000), "events", ("ix_events_pupil_seq",)),
    Case(
        "audit, senco, by pupil",
        audit(Role.SENCO, True),
        "audit_entries",
        ("ix_audit_entries_pupil_at",),
    ),
    Case(
        "audit, senco, school",
        audit(Role.SENCO, False),
        "audit_entries",
        ("ix_audit_entries_school_at",),
    ),
    Case(
        "audit, senco, school, page 2",
        second_page(audit(Role.SENCO, False)),
        "audit_entries",
        ("ix_audit_entries_school_at",),
    ),
    Case(
        "audit, platform admin, by pupil",
        audit(Role.PLATFORM_ADMIN, True),
        "audit_entries",
        ("ix_audit_entries_pupil_at",),
    ),
    Case(
        "audit, platform admin, all",
        audit(Role.PLATFORM_ADMIN, False),
        "audit_entries",
        ("ix_audit_entries_at",),
    ),
    # An LA's queues by status. (Its whole caseload is a tenth of the requests here, as each of
    # the ten LAs has as many: there the index is barely cheaper than reading the table.) The
    # open requests (submitted, assessing) also have a partial unique index of their own.
    Case(
        "ehc requests, la officer, status=submitted",
        ehc_caseload(status="submitted"),
        "ehc_requests",
        ("ix_ehc_requests_la_status", "uq_ehc_requests_one_open_per_pupil"),
    ),
    Case(
        "ehc requests, la officer, status=assessing",
        ehc_caseload(status="assessing"),
        "ehc_requests",
        ("ix_ehc_requests_la_status", "uq_ehc_requests_one_open_per_pupil"),
    ),
    Case("pupil by id, la officer", pupil_read(Role.LA_OFFICER), "pupils", ("pk_pupils",)),
    # An LA follows the pupils with a request or claim submitted to it: the feed walks the events
    # in seq order and keeps those of its pupils (each checked by primary key, memoized).
    Case(
        "feed, la officer",
        feed(Role.LA_OFFICER, 20_000),
        "events",
        ("pk_events", "ix_events_pupil_seq"),
    ),
]


def _relations(plan: dict[str, Any]) -> set[str]:
    return {node["Relation Name"] for node in plan_nodes(plan) if "Relation Name" in node}


def _indexes(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in plan_nodes(plan) if node["Node Type"] in INDEX_SCANS}


def _seq_scans(plan: dict[str, Any]) -> set[str]:
    return {
        node["Relation Name"]
        for node in plan_nodes(plan)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hot_query_uses_its_index(
    world: World, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = await case.request(world)
    with captured(monkeypatch, world.conn) as statements:
        body = await world.get(request.path, request.params, request.headers)
    rows = body.get("items", [body])
    assert rows, f"{case.name}: the request found nothing, so its plan proves little: {body}"

    planned = [s for s in statements if _plannable(s.sql)]
    for statement in planned:
        await explain(world.conn, statement)
    reading = [s for s in planned if case.table in _relations(s.plan)]
    everything = "\n\n".join(s.describe(s.plan) for s in planned)
    assert reading, f"{case.name}: no statement read {case.table}:\n\n{everything}"

    for kind in ("plan", "generic_plan"):
        for statement in planned:
            plan = getattr(statement, kind)
            scanned = _seq_scans(plan)
            assert not scanned, (
                f"{case.name}: Seq Scan on {sorted(scanned)} ({kind}):\n\n"
                + statement.describe(plan)
            )
    used: set[str] = set().union(*(_indexes(s.plan) for s in reading))
    assert used & set(case.indexes), (
        f"{case.name}: {case.table} is not read through {' or '.join(case.indexes)} "
        f"(indexes used: {sorted(used) or 'none'}):\n\n"
        + "\n\n".join(s.describe(s.plan) for s in reading)
    )
    generic_used = {
        index
        for index in set().union(*(_indexes(s.generic_plan) for s in reading))
        if world.index_tables.get(index) == case.table
    }
    assert generic_used, (
        f"{case.name}: the generic plan reads {case.table} through none of its indexes:\n\n"
        + "\n\n".join(s.describe(s.generic_plan) for s in reading)
    )
    print(f"{case.name}: {sorted(used)}; generic plan: {sorted(generic_used)}")
