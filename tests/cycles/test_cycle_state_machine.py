"""Random sequences of edits and transitions of one pupil's SEN support, against a model.

The model is written from SPEC.md §3 (not from `app.rules`): it predicts, for every request,
whether the service accepts or refuses it and which rules stand in the way, and it keeps the
stage, cycle numbers, accepted departures, views and the pupil's `sen_status` that the service
must show after each step.

Hypothesis drives a synchronous state machine; each step runs its requests on an event loop
the machine owns, through its own app and engine, and each run works in a school of its own.
"""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import httpx
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.core.clock import today_london
from app.core.config import Settings
from app.main import create_app
from tests.factories import Api

STAGES = ("assess", "plan", "do", "review", "complete")
NEXT = dict(pairwise(STAGES))
SHOULD = frozenset(
    {
        "assessment.teacher_assessment",
        "assessment.parent_views",
        "assessment.pupil_views",
        "assessment.concerns_considered",
        "plan.outcomes_set",
        "plan.parents_consulted",
        "plan.pupil_consulted",
        "plan.staff_informed",
        "specialist.little_or_no_progress",
        "review.on_agreed_date",
        "review.pupil_views",
        "review.parent_views",
        "review.parents_informed",
    }
)
MUST = frozenset(
    {
        "cycle.next_stage",
        "assessment.needs_identified",
        "plan.parents_notified",
        "plan.provision_set",
        "plan.review_date_set",
        "review.all_outcomes_rated",
        "review.decision_recorded",
    }
)
CYCLE_RULES = sorted(SHOULD | MUST)
PROGRESS = ("good", "expected", "little_or_none")
RATINGS = ("achieved", "partially_achieved", "not_achieved")
MISSING = (None, "rating", "progress", "entry")
DECISIONS = ("continue", "involve_specialist", "close_support", "request_ehc_assessment")
REASON = "Agreed with the parents at the meeting"

ASSESSMENT_FIELDS = ("needs", "teacher", "parent", "pupil")
ASSESSMENT = st.fixed_dictionaries({name: st.booleans() for name in ASSESSMENT_FIELDS})
PLAN = st.fixed_dictionaries(
    {
        "outcomes": st.lists(st.booleans(), max_size=2),  # each: has success criteria
        "provisions": st.integers(0, 2),
        "review_in": st.sampled_from([None, -1, 0, 1, 14]),  # days from today
        "notified": st.booleans(),
        "parents": st.booleans(),
        "pupil": st.booleans(),
        "staff": st.booleans(),
        "keep": st.booleans(),  # resend the first outcome and provision with their ids
    }
)
REVIEW = st.fixed_dictionaries(
    {
        "progress": st.lists(st.sampled_from(PROGRESS), min_size=2, max_size=2),
        "ratings": st.lists(st.sampled_from(RATINGS), min_size=2, max_size=2),
        "missing": st.lists(st.sampled_from(MISSING), min_size=2, max_size=2),
        "decision": st.sampled_from([*DECISIONS, None]),
        "pupil": st.booleans(),
        "parent": st.booleans(),
        "informed": st.booleans(),
        "held_days_ago": st.integers(0, 3),
    }
)


def today() -> date:
    return today_london()


@dataclass
class CycleModel:
    id: str
    number: int
    version: int = 1
    stage: str = "assess"
    # assessment
    needs: bool = False
    teacher_assessment: bool = False
    parent_views: bool = False
    pupil_views: bool = False
    # plan
    outcomes: dict[str, bool] = field(default_factory=dict)  # id -> has success criteria
    provisions: list[str] = field(default_factory=list)
    review_date: date | None = None
    parents_notified: bool = False
    parents_consulted: bool = False
    pupil_consulted: bool = False
    staff_informed: bool = False
    # review
    progress: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    decision: str | None = None
    review_pupil_views: bool = False
    review_parent_views: bool = False
    parents_informed: bool = False
    held_on: date | None = None
    # the cycle's own log
    departures: list[tuple[str, str, str]] = field(default_factory=list)
    views: int = 0


@dataclass(frozen=True)
class Completed:
    outcomes: int
    little_or_none: int
    decision: str
    held_on: date


@dataclass
class Model:
    plan_id: str
    cycle: CycleModel
    plan_active: bool = True
    cycle_numbers: list[int] = field(default_factory=lambda: [1])
    completed: list[Completed] = field(default_factory=list)
    involvements: list[tuple[bool, date]] = field(default_factory=list)
    open_concerns: list[str] = field(default_factory=list)

    def editable(self, stage: str) -> bool:
        return self.plan_active and self.cycle.stage == stage

    def specialist_expected(self) -> bool:
        """SPEC §3.2 `specialist.little_or_no_progress`, over the completed cycles in order."""
        if not self.completed:
            return False
        latest = self.completed[-1]
        little = len(self.completed) >= 2 and all(
            2 * c.little_or_none > c.outcomes for c in self.completed[-2:]
        )
        if not (little or latest.decision == "involve_specialist"):
            return False
        return not any(
            consent and requested_on >= latest.held_on
            for consent, requested_on in self.involvements
        )

    def violations(self, to: str) -> list[str]:
        """The rules SPEC §3 says stand in the way of moving the current cycle to `to`."""
        c = self.cycle
        if NEXT.get(c.stage) != to:
            return ["cycle.next_stage"]
        checks: list[tuple[str, bool]] = []
        if to == "plan":
            checks = [
                ("assessment.needs_identified", not c.needs),
                ("assessment.teacher_assessment", not c.teacher_assessment),
                ("assessment.parent_views", not c.parent_views),
                ("assessment.pupil_views", not c.pupil_views),
                ("assessment.concerns_considered", bool(self.open_concerns)),
            ]
        elif to == "do":
            checks = [
                ("plan.parents_notified", not c.parents_notified),
                ("plan.provision_set", not c.provisions),
                ("plan.review_date_set", c.review_date is None or c.review_date <= today()),
                ("plan.outcomes_set", not c.outcomes or not all(c.outcomes.values())),
                ("plan.parents_consulted", not c.parents_consulted),
                ("plan.pupil_consulted", not c.pupil_consulted),
                ("plan.staff_informed", not c.staff_informed),
                ("specialist.little_or_no_progress", self.specialist_expected()),
            ]
        elif to == "review":
            checks = [
                ("review.on_agreed_date", c.review_date is not None and today() < c.review_date)
            ]
        elif to == "complete":
            rated = {
                outcome_id
                for outcome_id, (rating, progress) in c.progress.items()
                if rating is not None and progress is not None
            }
            checks = [
                ("review.all_outcomes_rated", not set(c.outcomes) <= rated),
                ("review.decision_recorded", c.decision is None),
                ("review.pupil_views", not c.review_pupil_views),
                ("review.parent_views", not c.review_parent_views),
                ("review.parents_informed", not c.parents_informed),
            ]
        return [rule_id for rule_id, broken in checks if broken]


class CycleMachine(RuleBasedStateMachine):
    app_settings: Settings  # set by the test, from the session's test database

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.app = create_app(self.app_settings)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )
        self.api = Api(self.http, self.app_settings)
        self.school = self.run(self.api.create_school())
        self.senco = self.api.senco(self.school)
        self.senco_sub = self.api.last_sub
        self.pupil = self.run(self.api.create_pupil(self.school))
        plan = self.expect(self.call("POST", self.plans_url, json={}), 201)
        self.model = Model(plan_id=plan["id"], cycle=CycleModel(plan["current_cycle_id"], 1))

    def teardown(self) -> None:
        try:
            self.run(self.http.aclose())
            self.run(self.app.state.database.dispose())
        finally:
            self.loop.close()

    # --- plumbing ---------------------------------------------------------------------------

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.run(
            self.http.request(method, url, headers=self.senco, **kwargs)
        )
        return response

    def expect(self, response: httpx.Response, status: int, code: str | None = None) -> Any:
        assert response.status_code == status, (status, code, response.text)
        body = response.json()
        if code is not None:
            assert body["code"] == code, body
        return body

    def checks(self, to: str) -> dict[str, Any]:
        response = self.call("GET", f"{self.cycle_url}/checks", params={"to": to})
        body: dict[str, Any] = self.expect(response, 200)
        return body

    @property
    def plans_url(self) -> str:
        return f"/v1/pupils/{self.pupil['id']}/support-plans"

    @property
    def cycle_url(self) -> str:
        return f"/v1/cycles/{self.model.cycle.id}"

    def written(self, response: httpx.Response) -> dict[str, Any]:
        """A successful write of the current cycle: a newer version, the whole cycle."""
        body: dict[str, Any] = self.expect(response, 200)
        assert body["id"] == self.model.cycle.id
        # A PUT that changes nothing may keep the version; a version never goes back.
        assert body["version"] >= self.model.cycle.version
        self.model.cycle.version = body["version"]
        return body

    # --- the stage records -------------------------------------------------------------------

    @rule(good=st.booleans(), given=ASSESSMENT)
    def put_assessment(self, good: bool, given: dict[str, bool]) -> None:
        fields = dict.fromkeys(given, True) if good else given
        body = {
            "summary": "Decoding is slow",
            "needs": [{"area": "cognition_and_learning", "description": "Decoding"}]
            if fields["needs"]
            else [],
            "sources": ["behaviour_data", *(["teacher_assessment"] if fields["teacher"] else [])],
            "parent_views": "Homework takes hours" if fields["parent"] else None,
            "pupil_views": "Words jump about" if fields["pupil"] else None,
        }
        response = self.call("PUT", f"{self.cycle_url}/assessment", json=body)
        if not self.model.editable("assess"):
            self.expect(response, 409, "stage_locked")
            return
        self.written(response)
        c = self.model.cycle
        c.needs, c.teacher_assessment = fields["needs"], fields["teacher"]
        c.parent_views, c.pupil_views = fields["parent"], fields["pupil"]

    @rule(author=st.sampled_from(["parent", "pupil"]))
    def add_view(self, author: str) -> None:
        response = self.call(
            "POST", f"{self.cycle_url}/views", json={"author": author, "text": f"{author} says"}
        )
        c = self.model.cycle
        if not self.model.plan_active or c.stage in ("do", "complete"):
            self.expect(response, 409, "stage_locked")
            return
        body = self.written(response)
        c.views += 1
        entry = body["views_log"][-1]
        assert (entry["author"], entry["stage"], entry["recorded_by"]) == (
            author,
            c.stage,
            self.senco_sub,
        )
        if c.stage == "assess":
            setattr(c, f"{author}_views", True)
            assert f"{author} says" in body["assessment"][f"{author}_views"]
        elif c.stage == "plan":
            consulted = "parents_consulted_on" if author == "parent" else "pupil_consulted_on"
            assert body["plan"][consulted] == today().isoformat()
            setattr(c, "parents_consulted" if author == "parent" else "pupil_consulted", True)
        else:
            setattr(c, f"review_{author}_views", True)
            assert f"{author} says" in body["review"][f"{author}_views"]

    @rule(good=st.booleans(), given=PLAN)
    def put_plan(self, good: bool, given: dict[str, Any]) -> None:
        c = self.model.cycle
        outcomes: list[bool] = given["outcomes"]
        provisions: int = given["provisions"]
        review_in: int | None = given["review_in"]
        flags = {name: given[name] for name in ("notified", "parents", "pupil", "staff")}
        if good:
            outcomes = [True] * max(1, len(outcomes))
            provisions = max(1, provisions)
            review_in = 14
            flags = dict.fromkeys(flags, True)
        kept_outcome = next(iter(c.outcomes), None) if given["keep"] and outcomes else None
        kept_provision = c.provisions[0] if given["keep"] and c.provisions and provisions else None
        outcome_items: list[dict[str, Any]] = [
            {"description": f"Outcome {i}", "success_criteria": "Reads 40 words" if ok else None}
            for i, ok in enumerate(outcomes)
        ]
        provision_items: list[dict[str, Any]] = [
            {
                "kind": "intervention",
                "description": f"Provision {i}",
                "delivered_by": "teaching_assistant",
                "fixed_annual_cost": "100.00",
            }
            for i in range(provisions)
        ]
        if kept_outcome is not None:
            outcome_items[0]["id"] = kept_outcome
        if kept_provision is not None:
            provision_items[0]["id"] = kept_provision
        on = today().isoformat()
        review_date = None if review_in is None else today() + timedelta(days=review_in)
        body = {
            "outcomes": outcome_items,
            "provisions": provision_items,
            "review_date": review_date.isoformat() if review_date else None,
            "parents_notified_on": on if flags["notified"] else None,
            "notification_method": "letter" if flags["notified"] else None,
            "parents_consulted_on": on if flags["parents"] else None,
            "pupil_consulted_on": on if flags["pupil"] else None,
            "staff_informed_on": on if flags["staff"] else None,
        }
        response = self.call("PUT", f"{self.cycle_url}/plan", json=body)
        if not self.model.editable("plan"):
            self.expect(response, 409, "stage_locked")
            return
        plan = self.written(response)["plan"]
        returned_outcomes = [o["id"] for o in plan["outcomes"]]
        returned_provisions = [p["id"] for p in plan["provisions"]]
        assert len(returned_outcomes) == len(outcomes)
        assert len(returned_provisions) == provisions
        old = set(c.outcomes) | set(c.provisions)
        pairs = ((kept_outcome, returned_outcomes), (kept_provision, returned_provisions))
        for kept, returned in pairs:
            if kept is not None:
                assert returned[0] == kept, "a resent id is kept"
                returned = returned[1:]
            assert not old & set(returned), "new items get new ids"
        c.outcomes = dict(zip(returned_outcomes, outcomes, strict=True))
        c.provisions = returned_provisions
        c.review_date = review_date
        c.parents_notified, c.parents_consulted = flags["notified"], flags["parents"]
        c.pupil_consulted, c.staff_informed = flags["pupil"], flags["staff"]

    @precondition(lambda self: bool(self.model.cycle.provisions))
    @rule()
    def add_delivery_log(self) -> None:
        body = {
            "provision_id": self.model.cycle.provisions[0],
            "delivered_on": today().isoformat(),
            "minutes": 30,
        }
        response = self.call("POST", f"{self.cycle_url}/delivery-logs", json=body)
        if not self.model.editable("do"):
            self.expect(response, 409, "stage_locked")
            return
        assert self.expect(response, 201)["provision_id"] == body["provision_id"]

    @rule(good=st.booleans(), given=REVIEW)
    def put_review(self, good: bool, given: dict[str, Any]) -> None:
        c = self.model.cycle
        entries: dict[str, tuple[str | None, str | None]] = {}
        for index, outcome_id in enumerate(c.outcomes):
            rating: str | None = given["ratings"][index]
            progress: str | None = given["progress"][index]
            missing = None if good else given["missing"][index]
            if missing == "entry":
                continue
            entries[outcome_id] = (
                None if missing == "rating" else rating,
                None if missing == "progress" else progress,
            )
        decision = (given["decision"] or "continue") if good else given["decision"]
        flags = {name: good or given[name] for name in ("pupil", "parent", "informed")}
        held_on = today() - timedelta(days=given["held_days_ago"])
        body = {
            "held_on": held_on.isoformat(),
            "outcome_progress": [
                {"outcome_id": outcome_id, "rating": rating, "progress": progress}
                for outcome_id, (rating, progress) in entries.items()
            ],
            "pupil_views": "It helps" if flags["pupil"] else None,
            "parent_views": "Calmer at home" if flags["parent"] else None,
            "impact_summary": "Some progress",
            "parents_informed_on": today().isoformat() if flags["informed"] else None,
            "decision": decision,
        }
        response = self.call("PUT", f"{self.cycle_url}/review", json=body)
        if not self.model.editable("review"):
            self.expect(response, 409, "stage_locked")
            return
        self.written(response)
        c.progress, c.decision, c.held_on = entries, decision, held_on
        c.review_pupil_views, c.review_parent_views = flags["pupil"], flags["parent"]
        c.parents_informed = flags["informed"]

    @precondition(lambda self: self.model.editable("review"))
    @rule()
    def put_review_rating_an_unknown_outcome(self) -> None:
        body = {"outcome_progress": [{"outcome_id": str(uuid.uuid4()), "rating": "achieved"}]}
        self.expect(self.call("PUT", f"{self.cycle_url}/review", json=body), 422)

    # --- transitions --------------------------------------------------------------------------

    @rule(
        goal=st.sampled_from(["next", "next", "next", *STAGES]),
        cover=st.sampled_from(["all", "all", "some", "none"]),
        extra=st.lists(st.sampled_from(CYCLE_RULES), unique=True, max_size=2),
        bad=st.sampled_from([None] * 8 + ["short", "unknown"]),
    )
    def transition(self, goal: str, cover: str, extra: list[str], bad: str | None) -> None:
        """Asks for a stage, with departures for all, some or none of the should rules the
        model expects in the way, plus a couple of arbitrary ones (or an invalid one)."""
        c = self.model.cycle
        to = (NEXT.get(c.stage) or "assess") if goal == "next" else goal
        self.move(to, cover, extra, bad)

    @rule(stages=st.integers(1, 4), plan=PLAN, review=REVIEW)
    def advance(self, stages: int, plan: dict[str, Any], review: dict[str, Any]) -> None:
        """A SENCO working through the cycle: the current stage's record made good, then the
        next stage, with a departure for each should rule still in the way."""
        for _ in range(stages):
            c = self.model.cycle
            if not self.model.plan_active or c.stage == "complete":
                return
            if c.stage == "assess":
                self.put_assessment(True, dict.fromkeys(ASSESSMENT_FIELDS, True))
            elif c.stage == "plan":
                self.put_plan(True, plan)
            elif c.stage == "review":
                self.put_review(True, review)
            self.move(NEXT[c.stage], "all", [], None)

    def move(self, to: str, cover: str, extra: list[str], bad: str | None) -> None:
        c = self.model.cycle
        expected = self.model.violations(to)
        shoulds = [rule_id for rule_id in expected if rule_id in SHOULD]
        named = {"all": shoulds, "some": shoulds[::2], "none": []}[cover]
        named = list(dict.fromkeys([*named, *extra]))
        departures = [{"rule": rule_id, "reason": REASON} for rule_id in named]
        if bad == "short":
            departures.append({"rule": "plan.staff_informed", "reason": "Too short"})
        elif bad == "unknown":
            departures.append({"rule": "plan.no_such_rule", "reason": REASON})

        if self.model.plan_active and to != NEXT.get(c.stage):
            # (the next stage is checked after every step)
            check = self.checks(to)
            assert check["to"] == to
            assert (check["allowed"], [v["rule"] for v in check["violations"]]) == (
                False,
                ["cycle.next_stage"],
            )

        response = self.call(
            "POST", f"{self.cycle_url}/transitions", json={"to": to, "departures": departures}
        )
        if bad is not None:
            self.expect(response, 422, "validation_error")
            return
        if not self.model.plan_active:
            # SPEC names no code for a closed plan's cycle: it is locked, so some 409.
            self.expect(response, 409)
            return
        standing = [r for r in expected if not (r in SHOULD and r in named)]
        event(f"{'refused' if standing else 'allowed'}: {to}")
        if standing:
            code = "invalid_transition" if expected == ["cycle.next_stage"] else "rule_violation"
            body = self.expect(response, 409, code)
            assert sorted(v["rule"] for v in body["violations"]) == sorted(standing)
            for item in body["violations"]:
                severity = "must" if item["rule"] in MUST else "should"
                assert item["severity"] == severity, item
            return
        moved = self.written(response)
        from_stage = c.stage
        c.stage = to
        c.departures += [(r, f"{from_stage}->{to}", REASON) for r in expected]
        assert moved["stage"] == to
        assert sorted(self.departures_of(moved)) == sorted(c.departures)
        if to == "complete":
            self.completed()

    def departures_of(self, cycle: dict[str, Any]) -> list[tuple[str, str, str]]:
        for d in cycle["departures"]:
            assert d["recorded_by"] == self.senco_sub, d
            assert d["recorded_at"], d
        return [(d["rule"], d["transition"], d["reason"]) for d in cycle["departures"]]

    def completed(self) -> None:
        """Completing applies the decision (SPEC §3.3)."""
        c = self.model.cycle
        assert c.decision is not None and c.held_on is not None
        little = sum(progress == "little_or_none" for _, progress in c.progress.values())
        self.model.completed.append(Completed(len(c.outcomes), little, c.decision, c.held_on))
        plan = self.expect(self.call("GET", f"/v1/support-plans/{self.model.plan_id}"), 200)
        if c.decision == "close_support":
            self.model.plan_active = False
            assert (plan["status"], plan["close_reason"]) == ("closed", "review_decision")
            return
        assert plan["status"] == "active"
        assert plan["current_cycle_id"] != c.id
        number = c.number + 1
        self.model.cycle = CycleModel(plan["current_cycle_id"], number)
        self.model.cycle_numbers.append(number)

    # --- plans, concerns, specialists -----------------------------------------------------------

    @rule()
    def open_plan(self):
        response = self.call("POST", self.plans_url, json={})
        if self.model.plan_active:
            self.expect(response, 409, "active_plan_exists")
            return
        plan = self.expect(response, 201)
        assert plan["status"] == "active"
        self.model.plan_id = plan["id"]
        self.model.plan_active = True
        self.model.cycle = CycleModel(plan["current_cycle_id"], 1)
        self.model.cycle_numbers = [1]

    @rule()
    def close_plan(self):
        response = self.call(
            "POST",
            f"/v1/support-plans/{self.model.plan_id}/close",
            json={"close_reason": "Needs met by quality-first teaching"},
        )
        if not self.model.plan_active:
            self.expect(response, 409)
            return
        closed = self.expect(response, 200)
        assert (closed["status"], closed["current_cycle_id"]) == ("closed", self.model.cycle.id)
        self.model.plan_active = False

    @rule()
    def raise_concern(self):
        body = {"raised_by": "teacher", "description": "Falling behind in phonics"}
        concern = self.expect(
            self.call("POST", f"/v1/pupils/{self.pupil['id']}/concerns", json=body), 201
        )
        self.model.open_concerns.append(concern["id"])

    @precondition(lambda self: bool(self.model.open_concerns))
    @rule()
    def respond_to_concerns(self):
        for concern_id in self.model.open_concerns:
            body = {"response": "Discussed with the class teacher"}
            self.expect(self.call("PATCH", f"/v1/concerns/{concern_id}", json=body), 200)
        self.model.open_concerns = []

    @rule(consent=st.booleans(), days_ago=st.integers(0, 3))
    def request_specialist(self, consent, days_ago):
        requested_on = today() - timedelta(days=days_ago)
        body = {
            "service": "educational_psychologist",
            "parents_involved_on": requested_on.isoformat(),
            "parental_consent": consent,
            "requested_on": requested_on.isoformat(),
        }
        url = f"/v1/pupils/{self.pupil['id']}/specialist-involvements"
        self.expect(self.call("POST", url, json=body), 201)
        self.model.involvements.append((consent, requested_on))

    # --- what must hold after every step -------------------------------------------------------

    @invariant()
    def service_matches_the_model(self) -> None:
        c = self.model.cycle
        url = f"/v1/support-plans/{self.model.plan_id}/cycles"
        cycles = self.expect(self.call("GET", url), 200)["items"]
        assert [item["number"] for item in cycles] == self.model.cycle_numbers
        cycle = cycles[-1]
        assert cycle["id"] == c.id
        assert (cycle["stage"], cycle["number"], cycle["version"]) == (c.stage, c.number, c.version)
        assert sorted(self.departures_of(cycle)) == sorted(c.departures)
        assert len(cycle["views_log"]) == c.views

        pupil = self.expect(self.call("GET", f"/v1/pupils/{self.pupil['id']}"), 200)
        assert pupil["sen_status"] == ("K" if self.model.plan_active else "N")

        # Which move is allowed now: the next stage, as the model sees it.
        if self.model.plan_active and c.stage in NEXT:
            to = NEXT[c.stage]
            expected = self.model.violations(to)
            check = self.checks(to)
            assert check["to"] == to
            assert (check["allowed"], sorted(v["rule"] for v in check["violations"])) == (
                not expected,
                sorted(expected),
            )


def test_random_edits_and_transitions_follow_the_rules(settings, clean_tables):
    machine = type("Machine", (CycleMachine,), {"app_settings": settings})
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
