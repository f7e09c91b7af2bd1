"""Every /v1 operation, every role, each of {own, another school's or LA's, nonexistent} (SPEC §4).

The operations come from the OpenAPI document itself; `TABLE` says, per operation, which roles
may do it, mirroring SPEC.md §4 (and the README's decisions where §4 is silent), with one
comment per row. A new operation without a row fails `test_every_operation_has_a_row`.

For each operation, a fresh world of two schools in two LAs (tests/contract/world.py) is
built, and every role scoped to side A calls it on:

- its own resource (side A): a role the row allows succeeds (a read answers 200; a write 2xx
  or a 409 from the resource's state); a role it does not allow answers 403 `forbidden`, or
  404 where SPEC makes the resource outside that role's scope (the Local Offer's writes and an
  LA's reports);
- another school's or LA's resource (side B): 404 `not_found` exactly as a nonexistent id
  answers (same status, code, title and detail), except for platform admins, who see both;
- a nonexistent id: 404 for everyone (scope is checked before the role), except on resources
  no scope applies to (API clients), where a role without the action gets 403 whatever the id.

Every 2xx answer to a caller other than a platform admin is searched for side B's ids, UPN and
surname (and, for a parent or an LA officer, for the classmate outside its scope and that
classmate's draft EHC request): lists, feeds, reports, evidence and exports included. After
each operation side B is read back whole and must be unchanged.

Mass assignment: every JSON request body is sent with each server-owned field it does not
take as input, and must be refused with 422 naming the field; side A read back is unchanged.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.core.clock import today_london
from tests.contract.document import DOCUMENT, OPERATIONS, declared_statuses
from tests.contract.document import operation as documented
from tests.contract.world import PERIOD, Side, World, build_world, nonexistent_ids
from tests.cycles.helpers import EARLY, FULL_ASSESSMENT, full_plan, today
from tests.factories import Api, pupil_body, school_body

ADMIN, SENCO, TEACHER, MIS = "platform_admin", "senco", "teacher", "mis_integration"
PARENT, LA = "parent", "la_officer"
ROLES = (ADMIN, SENCO, TEACHER, MIS, PARENT, LA)
EVERYONE = frozenset(ROLES)

# How the resource a path names is scoped (see the module docstring).
SCOPED = "scoped"  # a school's, a pupil's or an LA's record: out of scope is 404
UNSCOPED = "unscoped"  # no scope applies (API clients): a role without the action gets 403
PUBLIC = "public"  # every caller reads every LA's entry (the Local Offer)
COLLECTION = "collection"  # no id in the path: lists, feeds, creation of top-level records
SINGLETON = "singleton"  # a path naming a value that is not a record (a financial year)
NO_BEARER = "no_bearer"  # the token endpoint, which takes client credentials, not a token

Body = Callable[[Side], Any]
Prepare = Callable[[World], Awaitable[None]]


@dataclass(frozen=True)
class Variant:
    allowed: frozenset[str]
    body: Body | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Run before each role's call on its own resource, so every allowed role finds the state
    # the call needs (a legal hold to lift).
    prepare: Prepare | None = None
    note: str = ""


@dataclass(frozen=True)
class Row:
    why: str
    variants: tuple[Variant, ...]
    # How the record the path names (its first parameter) is scoped.
    scope: str = SCOPED
    # What a role outside `allowed` gets on its own side's record: 403, or 404 where SPEC
    # makes the record outside every other role's scope.
    denied: int = 403


def row(
    why: str,
    allowed: frozenset[str] | set[str],
    body: Body | None = None,
    **options: Any,
) -> Row:
    variant_keys = {"query", "prepare"}
    variant = Variant(
        frozenset(allowed), body, **{k: v for k, v in options.items() if k in variant_keys}
    )
    return Row(why, (variant,), **{k: v for k, v in options.items() if k not in variant_keys})


def _concern(side: Side) -> dict[str, Any]:
    return {"raised_by": "parent", "description": "Struggling with reading homework"}


def _delivery_log(side: Side) -> dict[str, Any]:
    return {
        "provision_id": side.cycle["plan"]["provisions"][0]["id"],
        "delivered_on": today(),
        "minutes": 30,
    }


def _involvement(side: Side) -> dict[str, Any]:
    return {
        "service": "speech_and_language_therapy",
        "parents_involved_on": today(),
        "parental_consent": True,
        "requested_on": today(),
    }


def _local_offer(side: Side) -> dict[str, Any]:
    return {
        "la_code": side.la_code,
        "name": "Speech and language therapy",
        "service": "speech_and_language_therapy",
        "how_to_access": "Referral by the school's SENCO",
        "target_days": 56,
    }


async def _set_legal_hold(world: World) -> None:
    response = await world.api.http.put(
        f"/v1/pupils/{world.a.pupil['id']}/legal-hold",
        json={"reason": "Tribunal appeal pending"},
        headers=world.headers(SENCO),
    )
    assert response.status_code == 200, response.text


# Who may do what, mirroring SPEC.md §4 (and the README's decisions where §4 is silent).
# Shorthand: EVERYONE - {MIS} is "everyone who reads plans" (§4: an MIS gets 403 for plans and
# cycles), and so on.
PLAN_READERS = EVERYONE - {MIS}
TABLE: dict[str, Row] = {
    # --- schools: managed by platform admins; school roles read their own, an LA officer its
    # LA's, a parent its children's (README decisions) ---
    "GET /v1/schools": row("every caller lists the schools it can see", EVERYONE, scope=COLLECTION),
    "POST /v1/schools": row(
        "§4 platform_admin: schools", {ADMIN}, lambda s: school_body(), scope=COLLECTION
    ),
    "GET /v1/schools/{school_id}": row("everyone reads the schools in its scope", EVERYONE),
    "PATCH /v1/schools/{school_id}": row(
        "§4 platform_admin: schools", {ADMIN}, lambda s: {"name": "Hillside Primary Academy"}
    ),
    # --- pupils: §4 senco "everything for pupils of its school"; mis_integration "create,
    # update, batch-upsert and read its school's pupil records"; everyone reads in scope ---
    "POST /v1/schools/{school_id}/pupils": row(
        "§4 senco; mis_integration creates pupil records",
        {SENCO, MIS},
        lambda s: pupil_body(),
    ),
    "GET /v1/schools/{school_id}/pupils": row(
        "everyone lists the pupils of the school it may see (a parent only its children, an "
        "LA only the pupils with something submitted to it)",
        EVERYONE,
    ),
    "POST /v1/schools/{school_id}/pupils/batch": row(
        "§4 mis_integration batch-upserts; senco", {SENCO, MIS}, lambda s: {"items": [pupil_body()]}
    ),
    "GET /v1/pupils/{pupil_id}": row(
        "§4: every role reads pupil records in its scope (parents their own children's)", EVERYONE
    ),
    "PATCH /v1/pupils/{pupil_id}": row(
        "§4 senco; mis_integration updates pupil records",
        {SENCO, MIS},
        lambda s: {"first_name": "Amira"},
    ),
    # --- concerns: README decisions: staff and parents raise them; senco and teacher respond;
    # MIS integrations get 403 ---
    "POST /v1/pupils/{pupil_id}/concerns": row(
        "§4 teacher and parent add concerns; senco", {SENCO, TEACHER, PARENT}, _concern
    ),
    "GET /v1/pupils/{pupil_id}/concerns": row(
        "concerns are read by all but the MIS (README)", EVERYONE - {MIS}
    ),
    "PATCH /v1/concerns/{concern_id}": row(
        "senco and teacher respond to concerns (README)",
        {SENCO, TEACHER},
        lambda s: {"response": "Phonics catch-up starts on Monday"},
    ),
    # --- the feed, API clients, audit ---
    "GET /v1/events": row(
        "§4: each caller's feed holds its scope's events", EVERYONE, scope=COLLECTION
    ),
    "GET /v1/api-clients": row("§4 platform_admin: API clients", {ADMIN}, scope=COLLECTION),
    "POST /v1/api-clients": row(
        "§4 platform_admin: API clients",
        {ADMIN},
        lambda s: {"name": "Arbor sync", "role": "mis_integration", "school_id": s.school["id"]},
        scope=COLLECTION,
    ),
    "DELETE /v1/api-clients/{client_id}": row(
        "§4 platform_admin: API clients (no scope: 403 for every other role, whatever the id)",
        {ADMIN},
        scope=UNSCOPED,
    ),
    "POST /v1/oauth/token": row(
        "§4 client credentials only: a bearer token of any role gets no token",
        frozenset(),
        scope=NO_BEARER,
    ),
    "GET /v1/audit": row("§6 audit trail: senco, platform_admin", {SENCO, ADMIN}, scope=COLLECTION),
    # --- specialists: §3.4 the SENCO records involvements, a parent records consent ---
    "POST /v1/pupils/{pupil_id}/specialist-involvements": row(
        "§4 senco: everything for its pupils", {SENCO}, _involvement
    ),
    "GET /v1/pupils/{pupil_id}/specialist-involvements": row(
        "read with the plans: all but the MIS (§4 'nothing else about plans')", PLAN_READERS
    ),
    "PATCH /v1/specialist-involvements/{involvement_id}": row(
        "§3.4/§4 parent records consent; senco",
        {SENCO, PARENT},
        lambda s: {"parental_consent": True},
    ),
    # --- plans and cycles: §4 senco everything; teacher writes assessment, delivery logs and
    # views; parent reads and adds views; LA reads; MIS gets 403 ---
    "POST /v1/pupils/{pupil_id}/support-plans": row(
        "§4 senco: plans (409 here: the pupil's plan is active)",
        {SENCO},
        lambda s: {"class_teacher": "Ms Patel"},
    ),
    "GET /v1/pupils/{pupil_id}/support-plans": row("§4 plan readers", PLAN_READERS),
    "GET /v1/support-plans/{plan_id}": row("§4 plan readers", PLAN_READERS),
    "POST /v1/support-plans/{plan_id}/close": row(
        "§4 senco: plans", {SENCO}, lambda s: {"close_reason": "Needs now met in class"}
    ),
    "GET /v1/support-plans/{plan_id}/cycles": row("§4 plan readers", PLAN_READERS),
    "GET /v1/cycles/{cycle_id}": row("§4 plan readers", PLAN_READERS),
    "PUT /v1/cycles/{cycle_id}/assessment": row(
        "§4 teacher writes the assessment; senco (409 here: the cycle is in do)",
        {SENCO, TEACHER},
        lambda s: FULL_ASSESSMENT,
    ),
    "PUT /v1/cycles/{cycle_id}/plan": row(
        "§4 senco (409 here: the cycle is in do)", {SENCO}, lambda s: full_plan()
    ),
    "PUT /v1/cycles/{cycle_id}/review": row(
        "§4 senco (409 here: the cycle is in do)", {SENCO}, lambda s: {"pupil_views": "Better"}
    ),
    "POST /v1/cycles/{cycle_id}/views": row(
        "§4 teacher and parent add views; senco (409 here: no views in do)",
        {SENCO, TEACHER, PARENT},
        lambda s: {"author": "parent", "text": "Reading together every evening"},
    ),
    "POST /v1/cycles/{cycle_id}/delivery-logs": row(
        "§4 teacher writes delivery logs; senco", {SENCO, TEACHER}, _delivery_log
    ),
    "GET /v1/cycles/{cycle_id}/delivery-logs": row("§4 plan readers", PLAN_READERS),
    "GET /v1/cycles/{cycle_id}/checks": row(
        "§4 plan readers may see what a move needs", PLAN_READERS, query={"to": "review"}
    ),
    "POST /v1/cycles/{cycle_id}/transitions": row(
        "§4 senco: transitions (an MIS 'gets 403' by name)",
        {SENCO},
        lambda s: {"to": "review", "departures": [EARLY]},
    ),
    # --- reviews: §6 'the reviews resource school staff, MIS integrations and (per pupil in
    # scope) LA officers read'; parents read their children's reviews ---
    "GET /v1/pupils/{pupil_id}/reviews": row("§4/§6 every role, per pupil in scope", EVERYONE),
    "GET /v1/schools/{school_id}/reviews": row(
        "§6 the school's reviews, filtered to the caller's pupils", EVERYONE
    ),
    "GET /v1/schools/{school_id}/reviews-due": row(
        "§4 teacher and MIS read reviews-due; senco; admin reads everything",
        {SENCO, TEACHER, MIS, ADMIN},
    ),
    "GET /v1/rules": row("the public rule catalogue", EVERYONE, scope=COLLECTION),
    # --- EHC requests: §3.5 ---
    "POST /v1/pupils/{pupil_id}/ehc-requests": row(
        "§3.5 senco and parent create requests", {SENCO, PARENT}, lambda s: {"reason": "Needs"}
    ),
    "GET /v1/ehc-requests": row(
        "§4 requests are read by all but the MIS", EVERYONE - {MIS}, scope=COLLECTION
    ),
    "GET /v1/ehc-requests/{request_id}": row(
        "§4 requests are read by all but the MIS", EVERYONE - {MIS}
    ),
    "POST /v1/ehc-requests/{request_id}/transitions": Row(
        "§3.5 only the request's LA decides; the senco (or the parent, for a parent's "
        "request) withdraws",
        (
            Variant(frozenset({LA}), lambda s: {"to": "assessing"}, note="decide"),
            Variant(frozenset({SENCO}), lambda s: {"to": "withdrawn"}, note="withdraw"),
        ),
    ),
    "GET /v1/ehc-requests/{request_id}/evidence": row(
        "§4 the school's senco and teacher, the request's LA and the platform admin (who "
        "reads everything); 403 for the rest",
        {ADMIN, SENCO, TEACHER, LA},
    ),
    "GET /v1/ehc-requests/{request_id}/evidence.pdf": row(
        "the same bundle as a PDF, so the same readers as the JSON bundle: the school's senco "
        "and teacher, the request's LA and the platform admin; 403 for the rest",
        {ADMIN, SENCO, TEACHER, LA},
    ),
    # --- funding: §3.6 ---
    "GET /v1/funding-thresholds": row(
        "thresholds are public to callers", EVERYONE, scope=COLLECTION
    ),
    "PUT /v1/funding-thresholds/{period}": row(
        "§4 platform_admin: funding thresholds",
        {ADMIN},
        lambda s: {"amount": "6000.00"},
        scope=SINGLETON,
    ),
    "POST /v1/pupils/{pupil_id}/funding-claims": row(
        "§4 senco: claims", {SENCO}, lambda s: {"period": "2027-28"}
    ),
    "GET /v1/funding-claims": row(
        "§4 claims: senco, teacher, LA, admin (not the MIS, not parents)",
        {SENCO, TEACHER, LA, ADMIN},
        scope=COLLECTION,
    ),
    "GET /v1/funding-claims/{claim_id}": row(
        "§4 claims: senco, teacher, LA, admin", {SENCO, TEACHER, LA, ADMIN}
    ),
    "POST /v1/funding-claims/{claim_id}/transitions": Row(
        "§3.6 only the claim's LA decides; only the senco withdraws (README)",
        (
            Variant(frozenset({LA}), lambda s: {"to": "approved"}, note="decide"),
            Variant(frozenset({SENCO}), lambda s: {"to": "withdrawn"}, note="withdraw"),
        ),
    ),
    # --- school reports ---
    "GET /v1/schools/{school_id}/sen-register": Row(
        "§4 teacher and MIS read sen-register; senco; admin (as JSON, and as the CSV export)",
        (
            Variant(frozenset({SENCO, TEACHER, MIS, ADMIN})),
            Variant(frozenset({SENCO, TEACHER, MIS, ADMIN}), headers={"Accept": "text/csv"}),
        ),
    ),
    "GET /v1/schools/{school_id}/sen-register.csv": row(
        "the CSV export of the register, so its readers: §4 teacher and MIS read sen-register; "
        "senco; admin",
        {SENCO, TEACHER, MIS, ADMIN},
    ),
    "GET /v1/schools/{school_id}/provision-costs": row(
        "§4 senco: reports; admin reads", {SENCO, ADMIN}, query={"period": PERIOD}
    ),
    "PUT /v1/schools/{school_id}/notional-sen-budget/{period}": row(
        "§4 senco: notional budget", {SENCO}, lambda s: {"amount": "48000.00"}
    ),
    "GET /v1/schools/{school_id}/notional-sen-budget/{period}": row(
        "§4 senco: notional budget; admin reads", {SENCO, ADMIN}
    ),
    "GET /v1/schools/{school_id}/census": row(
        "§4 MIS reads census; senco; admin",
        {SENCO, MIS, ADMIN},
        query={"date": today_london().isoformat()},
    ),
    # --- data protection (issue 7): the school answers subject-access requests ---
    "GET /v1/pupils/{pupil_id}/export": row(
        "subject-access export: the school's senco and admin", {SENCO, ADMIN}
    ),
    "GET /v1/pupils/{pupil_id}/legal-hold": row("legal holds: senco and admin", {SENCO, ADMIN}),
    "PUT /v1/pupils/{pupil_id}/legal-hold": row(
        "legal holds: senco and admin",
        {SENCO, ADMIN},
        lambda s: {"reason": "Tribunal appeal pending"},
    ),
    "DELETE /v1/pupils/{pupil_id}/legal-hold": row(
        "legal holds: senco and admin", {SENCO, ADMIN}, prepare=_set_legal_hold
    ),
    # --- the Local Offer: §2 everyone reads it; only that LA's officer and admins write it,
    # everyone else is outside the scope (404) ---
    "GET /v1/local-offer": row("§2 every caller reads the Local Offer", EVERYONE, scope=COLLECTION),
    "POST /v1/local-offer": row(
        "§2 that LA's officer and admins publish; 404 for everyone else",
        {LA, ADMIN},
        _local_offer,
        scope=COLLECTION,
        denied=404,
    ),
    "GET /v1/local-offer/{service_id}": row(
        "§2 every caller reads every LA's entries", EVERYONE, scope=PUBLIC
    ),
    "PATCH /v1/local-offer/{service_id}": row(
        "§2 that LA's officer and admins; 404 for everyone else",
        {LA, ADMIN},
        lambda s: {"description": "Term-time only"},
        denied=404,
    ),
    # --- specialist waits (§6): aggregates only ---
    "GET /v1/local-authorities/{la_code}/specialist-waits": row(
        "§2/§6 that LA's officer and admins; 404 for everyone else", {LA, ADMIN}, denied=404
    ),
    "GET /v1/schools/{school_id}/specialist-waits": row(
        "§6 that school's senco and admins; 403 for others who see the school", {SENCO, ADMIN}
    ),
}


def test_every_operation_has_a_row() -> None:
    missing = [operation for operation in OPERATIONS if operation not in TABLE]
    assert not missing, (
        "operations in the OpenAPI document without a row in TABLE (say who may call them, "
        f"per SPEC.md §4): {missing}"
    )
    assert len(OPERATIONS) >= 50


# --- calling an operation ---------------------------------------------------------------


@dataclass
class Call:
    operation: str
    role: str
    case: str
    response: httpx.Response

    @property
    def problem(self) -> tuple[Any, ...]:
        body = self.response.json()
        return (self.response.status_code, body.get("code"), body.get("title"), body.get("detail"))

    def describe(self) -> str:
        answer = f"{self.response.status_code} {self.response.text[:300]}"
        return f"{self.operation} as {self.role} on {self.case}: {answer}"


def _path(template: str, ids: dict[str, str]) -> str:
    path = template
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no id for a parameter of {template}"
    return path


async def call(
    world: World,
    operation: str,
    variant: Variant,
    role: str,
    case: str,
    ids: dict[str, str],
    body_side: Side,
) -> Call:
    method, template = operation.split(" ", 1)
    headers = {**world.headers(role), **variant.headers}
    kwargs: dict[str, Any] = {"params": variant.query, "headers": headers}
    if variant.body is not None:
        kwargs["json"] = variant.body(body_side)
    response = await world.api.http.request(method, _path(template, ids), **kwargs)
    result = Call(operation, role, case, response)
    assert response.status_code < 500, result.describe()
    # Every answer, refusals included, is one the contract declares for the operation.
    assert response.status_code in declared_statuses(operation), result.describe()
    assert_headers_declared(result)
    return result


# Response headers a generated client reads: each one an answer carries is declared for it.
CONTRACT_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed")


def assert_headers_declared(result: Call) -> None:
    answer = documented(result.operation)["responses"][str(result.response.status_code)]
    declared = set(answer.get("headers", {}))
    sent = {name for name in CONTRACT_HEADERS if name in result.response.headers}
    assert sent <= declared, f"undeclared {sorted(sent - declared)}: {result.describe()}"


def assert_allowed(result: Call) -> None:
    status = result.response.status_code
    if result.operation.startswith("GET "):
        assert status == 200, result.describe()
    else:
        # A write the role may make succeeds, or meets the record's state (409): never 401,
        # 403, 404 or 422 (the bodies here are valid).
        assert 200 <= status < 300 or status == 409, result.describe()


def assert_problem(result: Call, status: int, code: str) -> None:
    assert result.response.status_code == status, result.describe()
    assert result.response.headers["content-type"].startswith("application/problem+json")
    assert result.response.json()["code"] == code, result.describe()


def assert_no_leak(result: Call, world: World) -> None:
    """Nothing of side B, and for a parent or an LA officer nothing of the classmate outside
    its scope, in any answer to a caller scoped to side A."""
    if result.role == ADMIN or not 200 <= result.response.status_code < 300:
        return
    text = result.response.text
    forbidden = set(world.b.markers)
    if result.role in (PARENT, LA):
        forbidden |= world.a.classmate_markers
    leaked = sorted(marker for marker in forbidden if marker in text)
    assert not leaked, f"{result.describe()}\nleaked {leaked}"
    if result.role == MIS and result.operation == "GET /v1/events":
        # §4: plans and cycles are not an MIS's business, in the feed either.
        assert {item["resource"] for item in result.response.json()["items"]} <= {"pupil"}


async def snapshot(world: World, side: Side) -> dict[str, Any]:
    """Everything about a side, read back as a platform admin."""
    http, admin = world.api.http, world.headers(ADMIN)
    reads = {
        "school": f"/v1/schools/{side.school['id']}",
        "pupil": f"/v1/pupils/{side.pupil['id']}",
        "classmate": f"/v1/pupils/{side.classmate['id']}",
        "plans": f"/v1/pupils/{side.pupil['id']}/support-plans",
        "cycles": f"/v1/support-plans/{side.plan['id']}/cycles",
        "logs": f"/v1/cycles/{side.cycle['id']}/delivery-logs",
        "concerns": f"/v1/pupils/{side.pupil['id']}/concerns",
        "involvements": f"/v1/pupils/{side.pupil['id']}/specialist-involvements",
        "request": f"/v1/ehc-requests/{side.ehc_request['id']}",
        "draft": f"/v1/ehc-requests/{side.classmate_draft['id']}",
        "claim": f"/v1/funding-claims/{side.claim['id']}",
        "budget": f"/v1/schools/{side.school['id']}/notional-sen-budget/{PERIOD}",
        "pupils": f"/v1/schools/{side.school['id']}/pupils",
    }
    state: dict[str, Any] = {}
    for name, path in reads.items():
        response = await http.get(path, headers=admin)
        assert response.status_code == 200, response.text
        state[name] = response.json()
    return state


def _other_expectation(row: Row, variant: Variant, role: str) -> str:
    """What a role scoped to side A gets on side B's record."""
    if row.scope == PUBLIC:
        return "allow" if role in variant.allowed else str(row.denied)
    if role == ADMIN:
        return "allow" if ADMIN in variant.allowed else "403"
    return "404"


async def check_role(world: World, operation: str, variant: Variant, role: str) -> int:
    """Calls `operation` as `role` (scoped to side A) on every case and checks each answer;
    returns the number of calls made."""
    row = TABLE[operation]
    if row.scope == NO_BEARER:
        await check_token_endpoint(world, role)
        return 1
    if variant.prepare is not None:
        await variant.prepare(world)
    own_ids = {**world.a.ids, "client_id": world.api_client_id}
    own = await call(world, operation, variant, role, "own", own_ids, world.a)
    if role in variant.allowed:
        assert_allowed(own)
    elif row.denied == 404:
        assert_problem(own, 404, "not_found")
    else:
        assert_problem(own, 403, "forbidden")
    assert_no_leak(own, world)

    if row.scope in (COLLECTION, SINGLETON):
        if row.denied != 404 or variant.body is None:
            return 1
        # A write whose scope is in its body (the Local Offer): side B's LA instead.
        other = await call(world, operation, variant, role, "other", {}, world.b)
        if role == ADMIN:
            assert_allowed(other)
        else:
            assert_problem(other, 404, "not_found")
        return 2

    target = _first_parameter(operation)
    missing = await call(
        world,
        operation,
        variant,
        role,
        "nonexistent",
        {**own_ids, target: nonexistent_ids()[target]},
        world.a,
    )
    if row.scope == UNSCOPED and role not in variant.allowed:
        assert_problem(missing, 403, "forbidden")
    elif target == "la_code" and role == ADMIN:
        # LA codes are not records: an admin may ask about any LA.
        assert_allowed(missing)
    else:
        assert_problem(missing, 404, "not_found")
        if role not in variant.allowed and row.denied == 404:
            # Outside the role's scope even on its own side: read exactly as nonexistent.
            assert own.problem == missing.problem, (own.describe(), missing.describe())
    if row.scope == UNSCOPED:
        return 2

    other = await call(
        world, operation, variant, role, "other", {**own_ids, target: world.b.ids[target]}, world.b
    )
    expected = _other_expectation(row, variant, role)
    if expected == "allow":
        assert_allowed(other)
    elif expected == "403":
        assert_problem(other, 403, "forbidden")
    else:
        assert_problem(other, 404, "not_found")
        # No existence leak: out of scope reads exactly as nonexistent.
        assert other.problem == missing.problem, (other.describe(), missing.describe())
    assert_no_leak(other, world)
    return 3


async def check_token_endpoint(world: World, role: str) -> None:
    response = await world.api.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": str(uuid.uuid4()),
            "client_secret": "sencs_not-a-secret",
        },
        headers=world.headers(role),
    )
    # A bearer token is not client authentication (RFC 6749 §2.3): no role gets a token.
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def _first_parameter(operation: str) -> str:
    template = operation.split(" ", 1)[1]
    return template.split("{", 1)[1].split("}", 1)[0]


@pytest.fixture
async def world(api: Api) -> World:
    return await build_world(api.http, api.settings)


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_operation_answers_every_role_as_section_4_says(world: World, operation: str) -> None:
    if operation not in TABLE:
        pytest.fail(f"{operation} has no row in TABLE")
    calls = 0
    for variant in TABLE[operation].variants:
        before = await snapshot(world, world.b)
        for role in ROLES:
            if role != ADMIN:
                calls += await check_role(world, operation, variant, role)
        # Whatever side A's callers did, side B is as it was (a platform admin, last, may
        # change it).
        assert await snapshot(world, world.b) == before
        calls += await check_role(world, operation, variant, ADMIN)
    assert calls >= len(ROLES)


# --- mass assignment ----------------------------------------------------------------------

# Fields the service owns: never written by a client, except where an operation takes one as
# its input (then it is a property of that operation's request body and is not sent here:
# `la_code` of a new school, `school_id` of a new API client, `decided_amount` of a claim
# decision).
SERVER_OWNED = {
    "id": str(uuid.uuid4()),
    "version": 99,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "sen_status": "E",
    "status": "approved",
    "school_id": str(uuid.uuid4()),
    "pupil_id": str(uuid.uuid4()),
    "la_code": "999",
    "decided_amount": "1000000.00",
    "requested_amount": "1000000.00",
    "provision_cost": "1000000.00",
    "threshold": "0.01",
    "decided_by": "la_officer-forged",
    "submitted_on": "2020-01-01",
    "annual_cost": "0.01",
    "current_cycle_id": str(uuid.uuid4()),
    "stage": "complete",
}


def _json_body_operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield f"{method.upper()} {path}", content["application/json"]["schema"]


def _properties(schema: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = DOCUMENT["components"]["schemas"][name]
    return set(schema.get("properties", {}))


def test_every_json_body_has_a_valid_example() -> None:
    without = [
        operation
        for operation, _ in _json_body_operations()
        if operation not in TABLE or TABLE[operation].variants[0].body is None
    ]
    assert not without, f"JSON-body operations without a body in TABLE: {without}"


async def test_server_owned_fields_are_refused_and_never_change(world: World) -> None:
    before = await snapshot(world, world.a)
    attempts = 0
    for operation, schema in _json_body_operations():
        variant = TABLE[operation].variants[0]
        assert variant.body is not None
        role = sorted(variant.allowed, key=ROLES.index)[0]
        method, template = operation.split(" ", 1)
        inputs = _properties(schema)
        for name, forged in SERVER_OWNED.items():
            if name in inputs:
                continue
            body = variant.body(world.a)
            if operation.endswith("/pupils/batch"):
                # Items are validated one by one: the forged field makes its item an error.
                body = {"items": [{"upn": world.a.pupil["upn"], name: forged}]}
            else:
                body = {**body, name: forged}
            response = await world.api.http.request(
                method,
                _path(template, {**world.a.ids, "client_id": world.api_client_id}),
                json=body,
                params=variant.query,
                headers=world.headers(role),
            )
            attempts += 1
            if operation.endswith("/pupils/batch"):
                assert response.status_code == 200, response.text
                (result,) = response.json()["results"]
                assert result["status"] == "error", (name, result)
                assert [e["field"] for e in result["errors"]] == [name], (name, result)
                continue
            assert response.status_code == 422, (operation, name, response.text)
            fields = [error["field"] for error in response.json()["errors"]]
            assert name in fields, (operation, name, fields)
    # Nested: a provision's computed cost, a contact's or an outcome's server-side fields.
    nested = [
        (
            "PUT",
            f"/v1/cycles/{world.a.cycle['id']}/plan",
            full_plan(provisions=[{**full_plan()["provisions"][0], "annual_cost": "0.01"}]),
            "provisions.0.annual_cost",
        ),
        (
            "PATCH",
            f"/v1/pupils/{world.a.pupil['id']}",
            {"contacts": [{"name": "Mum", "relationship": "mother", "created_at": "2020-01-01"}]},
            "contacts.0.created_at",
        ),
    ]
    for method, path, body, field_name in nested:
        response = await world.api.http.request(
            method, path, json=body, headers=world.headers(SENCO)
        )
        attempts += 1
        assert response.status_code == 422, response.text
        assert field_name in [error["field"] for error in response.json()["errors"]]
    assert attempts > 100
    assert await snapshot(world, world.a) == before
