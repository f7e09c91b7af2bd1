"""A world of two schools in two LAs, each with one pupil carrying every kind of record.

Built through the API alone, so that every id is one the service itself handed out: school A
(LA 801) and school B (LA 802), a pupil at each whose home LA is its school's, each with an
active plan whose current cycle is in `do` (with a delivery log), a concern, a specialist
involvement, an EHC request and a top-up claim both submitted to the home LA, and a notional
SEN budget. The contract tests use side A as "own" and side B as "another school's or LA's".
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.core.config import Settings
from app.core.security import Role
from tests.cycles.helpers import Cycles, today
from tests.factories import Api

PERIOD = "2026-27"
# 21.00 x 1 x 10 x 38 + 500.00 = 8480.00: above the default threshold, so a claim can go in.
EXPENSIVE_PROVISION = {
    "kind": "support",
    "description": "1:1 teaching assistant support",
    "delivered_by": "teaching_assistant",
    "group_size": 1,
    "sessions_per_week": 10,
    "minutes_per_session": 60,
    "weeks_per_year": 38,
    "hourly_rate": "21.00",
    "fixed_annual_cost": "500.00",
}
NO_COMPLETED_CYCLE = {
    "rule": "ehc.evidence_of_sen_support",
    "reason": "Needs are severe enough that the LA asked us not to wait",
}


@dataclass
class Side:
    """One school, its LA, one pupil and one of each of the pupil's records."""

    la_code: str
    school: dict[str, Any]
    pupil: dict[str, Any]
    # A second pupil of the school, outside a parent's and the LA's scope: its only EHC request
    # is a draft, which the LA must never see.
    classmate: dict[str, Any]
    classmate_draft: dict[str, Any]
    plan: dict[str, Any]
    cycle: dict[str, Any]
    delivery_log: dict[str, Any]
    concern: dict[str, Any]
    involvement: dict[str, Any]
    ehc_request: dict[str, Any]
    claim: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> dict[str, str]:
        """Path parameter name -> this side's id for it."""
        return {
            "school_id": self.school["id"],
            "pupil_id": self.pupil["id"],
            "plan_id": self.plan["id"],
            "cycle_id": self.cycle["id"],
            "concern_id": self.concern["id"],
            "involvement_id": self.involvement["id"],
            "request_id": self.ehc_request["id"],
            "claim_id": self.claim["id"],
            "la_code": self.la_code,
            "period": PERIOD,
            **{name: value for name, value in self.extra.items() if isinstance(value, str)},
        }

    @property
    def markers(self) -> set[str]:
        """Text that identifies this side's records: none may appear in an answer to a caller
        scoped to the other side."""
        return {
            value
            for name, value in self.ids.items()
            # LA codes, periods and the Local Offer are public.
            if name not in ("la_code", "period", "service_id")
        } | {
            self.pupil["upn"],
            self.pupil["last_name"],
            *self.classmate_markers,
        }

    @property
    def classmate_markers(self) -> set[str]:
        """The classmate's records: in its school's scope, outside a parent's and the LA's."""
        return {
            self.classmate["id"],
            self.classmate["upn"],
            self.classmate["last_name"],
            self.classmate_draft["id"],
        }


@dataclass
class World:
    api: Api
    a: Side
    b: Side
    api_client_id: str

    def headers(self, role: Role | str, side: Side | None = None) -> dict[str, str]:
        """A bearer token for `role`, scoped to `side` (A when not given)."""
        side = side or self.a
        role = Role(role)
        if role is Role.PLATFORM_ADMIN:
            return self.api.admin()
        if role is Role.LA_OFFICER:
            return self.api.headers(role, la_code=side.la_code)
        if role is Role.PARENT:
            return self.api.parent(side.pupil)
        return self.api.staff(role, side.school)


async def _json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def unique_surname(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def build_side(api: Api, la_code: str, paths: set[str]) -> Side:
    school = await api.create_school(la_code=la_code)
    pupil = await api.create_pupil(
        school, home_la_code=la_code, primary_need="SPLD", last_name=unique_surname("Okafor")
    )
    classmate = await api.create_pupil(
        school, home_la_code=la_code, last_name=unique_surname("Nowak")
    )
    senco = api.senco(school)
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    cycle = await cycles.to_do(plan["current_cycle_id"], provisions=[EXPENSIVE_PROVISION])
    http = api.http
    delivery_log = await _json(
        await http.post(
            f"/v1/cycles/{cycle['id']}/delivery-logs",
            json={
                "provision_id": cycle["plan"]["provisions"][0]["id"],
                "delivered_on": today(),
                "minutes": 60,
            },
            headers=senco,
        ),
        201,
    )
    concern = await _json(
        await http.post(
            f"/v1/pupils/{pupil['id']}/concerns",
            json={"raised_by": "teacher", "description": "Falling behind in phonics"},
            headers=senco,
        ),
        201,
    )
    involvement = await _json(
        await http.post(
            f"/v1/pupils/{pupil['id']}/specialist-involvements",
            json={
                "service": "educational_psychologist",
                "parents_involved_on": today(),
                "parental_consent": True,
                "requested_on": today(),
            },
            headers=senco,
        ),
        201,
    )
    draft = await _json(
        await http.post(
            f"/v1/pupils/{pupil['id']}/ehc-requests",
            json={"reason": "Little progress despite targeted support"},
            headers=senco,
        ),
        201,
    )
    ehc_request = await _json(
        await http.post(
            f"/v1/ehc-requests/{draft['id']}/transitions",
            json={"to": "submitted", "departures": [NO_COMPLETED_CYCLE]},
            headers=senco,
        )
    )
    claim_draft = await _json(
        await http.post(
            f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": PERIOD}, headers=senco
        ),
        201,
    )
    claim = await _json(
        await http.post(
            f"/v1/funding-claims/{claim_draft['id']}/transitions",
            json={"to": "submitted"},
            headers=senco,
        )
    )
    await _json(
        await http.put(
            f"/v1/schools/{school['id']}/notional-sen-budget/{PERIOD}",
            json={"amount": "45000.00"},
            headers=senco,
        )
    )
    classmate_draft = await _json(
        await http.post(
            f"/v1/pupils/{classmate['id']}/ehc-requests",
            json={"reason": "Drafted, never sent"},
            headers=senco,
        ),
        201,
    )
    extra: dict[str, Any] = {}
    if "/v1/local-offer" in paths:
        entry = await _json(
            await http.post(
                "/v1/local-offer",
                json={
                    "la_code": la_code,
                    "name": f"Educational psychology service {la_code}",
                    "service": "educational_psychologist",
                    "how_to_access": "Referral by the school's SENCO",
                    "target_days": 42,
                },
                headers=api.admin(),
            ),
            201,
        )
        extra["service_id"] = entry["id"]
    if "/v1/pupils/{pupil_id}/legal-hold" in paths:
        await _json(
            await http.put(
                f"/v1/pupils/{pupil['id']}/legal-hold",
                json={"reason": "Tribunal appeal pending"},
                headers=senco,
            )
        )
    plan = await _json(await http.get(f"/v1/support-plans/{plan['id']}", headers=senco))
    return Side(
        la_code=la_code,
        school=school,
        pupil=pupil,
        classmate=classmate,
        classmate_draft=classmate_draft,
        plan=plan,
        cycle=cycle,
        delivery_log=delivery_log,
        concern=concern,
        involvement=involvement,
        ehc_request=ehc_request,
        claim=claim,
        extra=extra,
    )


async def build_world(http: httpx.AsyncClient, settings: Settings) -> World:
    api = Api(http, settings)
    paths = set((await _json(await http.get("/openapi.json")))["paths"])
    a = await build_side(api, "801", paths)
    b = await build_side(api, "802", paths)
    client = await _json(
        await http.post(
            "/v1/api-clients",
            json={"name": "Contract MIS", "role": "mis_integration", "school_id": a.school["id"]},
            headers=api.admin(),
        ),
        201,
    )
    await _json(
        await http.put(
            f"/v1/funding-thresholds/{PERIOD}", json={"amount": "6000.00"}, headers=api.admin()
        )
    )
    return World(api=api, a=a, b=b, api_client_id=client["client_id"])


def nonexistent_ids() -> dict[str, str]:
    """Well-formed ids that name nothing."""
    return {
        name: str(uuid.uuid4())
        for name in (
            "school_id",
            "pupil_id",
            "plan_id",
            "cycle_id",
            "concern_id",
            "involvement_id",
            "request_id",
            "claim_id",
            "client_id",
            "service_id",
        )
    } | {"la_code": "999", "period": PERIOD}
