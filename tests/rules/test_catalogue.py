import ast
import dataclasses
import re
import sys
from pathlib import Path

import pytest

import app.rules
from app.rules import CATALOGUE, RULES_BY_ID, Rule
from tests.rules.factories import RuleCase
from tests.rules.test_claim_rules import CLAIM_CASES
from tests.rules.test_cycle_rules import CYCLE_CASES
from tests.rules.test_ehc_rules import EHC_CASES
from tests.rules.test_specialist_rules import SPECIALIST_CASES

# SPEC.md §3, copied by hand: identifiers and severities are public API.
SPEC_RULES = {
    "cycle.next_stage": "must",
    "assessment.needs_identified": "must",
    "assessment.teacher_assessment": "should",
    "assessment.parent_views": "should",
    "assessment.pupil_views": "should",
    "assessment.concerns_considered": "should",
    "plan.parents_notified": "must",
    "plan.provision_set": "must",
    "plan.review_date_set": "must",
    "plan.outcomes_set": "should",
    "plan.parents_consulted": "should",
    "plan.pupil_consulted": "should",
    "plan.staff_informed": "should",
    "specialist.little_or_no_progress": "should",
    "review.on_agreed_date": "should",
    "review.all_outcomes_rated": "must",
    "review.decision_recorded": "must",
    "review.pupil_views": "should",
    "review.parent_views": "should",
    "review.parents_informed": "should",
    "specialist.parents_involved": "should",
    "ehc.evidence_of_sen_support": "should",
    "ehc.single_open_request": "must",
    "claim.exceeds_threshold": "must",
    "claim.support_in_place": "must",
    "claim.single_per_period": "must",
    "claim.decided_amount": "must",
}

EXPECTED_TRANSITIONS = {
    "cycle.next_stage": "*",
    "assessment.": "assess->plan",
    "plan.": "plan->do",
    "specialist.little_or_no_progress": "plan->do",
    "review.on_agreed_date": "do->review",
    "review.all_outcomes_rated": "review->complete",
    "review.decision_recorded": "review->complete",
    "review.pupil_views": "review->complete",
    "review.parent_views": "review->complete",
    "review.parents_informed": "review->complete",
    "specialist.parents_involved": "create",
    "ehc.": "draft->submitted",
    "claim.exceeds_threshold": "draft->submitted",
    "claim.support_in_place": "draft->submitted",
    "claim.single_per_period": "draft->submitted",
    "claim.decided_amount": "submitted->approved|partially_approved",
}

ALL_CASES: list[RuleCase] = CYCLE_CASES + SPECIALIST_CASES + EHC_CASES + CLAIM_CASES
RULES_DIR = Path(app.rules.__file__).parent


def expected_transition(rule_id: str) -> str:
    if rule_id in EXPECTED_TRANSITIONS:
        return EXPECTED_TRANSITIONS[rule_id]
    return EXPECTED_TRANSITIONS[rule_id.split(".")[0] + "."]


def test_catalogue_holds_exactly_the_spec_rules_and_severities() -> None:
    assert {rule.rule: rule.severity for rule in CATALOGUE} == SPEC_RULES
    assert len(CATALOGUE) == len(SPEC_RULES)


def test_rules_by_id_indexes_the_catalogue() -> None:
    assert list(RULES_BY_ID) == [rule.rule for rule in CATALOGUE]
    assert all(RULES_BY_ID[rule.rule] is rule for rule in CATALOGUE)


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda rule: rule.rule)
def test_rule_entry_is_well_formed(rule: Rule) -> None:
    assert rule.transition == expected_transition(rule.rule)
    assert rule.source == "service integrity" or re.fullmatch(
        r"SEND Code of Practice [0-9]+\.[0-9]+", rule.source
    )
    assert len(rule.message) > 40
    assert rule.message.endswith(".")
    assert rule.message == rule.message.strip()


def test_statutory_parent_notification_cites_paragraph_6_48() -> None:
    assert RULES_BY_ID["plan.parents_notified"].source == "SEND Code of Practice 6.48"
    assert RULES_BY_ID["specialist.little_or_no_progress"].source == "SEND Code of Practice 6.59"


def test_rules_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE[0].severity = "should"  # type: ignore[misc]


def test_every_rule_has_an_allowed_and_a_refused_table_row() -> None:
    refused = {case.rule for case in ALL_CASES if case.rule in case.expected}
    allowed = {case.rule for case in ALL_CASES if not case.expected}
    assert refused == set(SPEC_RULES)
    assert allowed == set(SPEC_RULES)


def test_table_rows_only_expect_catalogue_rules() -> None:
    expected = {rule_id for case in ALL_CASES for rule_id in case.expected}
    assert expected <= set(RULES_BY_ID)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.py")), ids=lambda path: path.name)
def test_rules_module_imports_only_the_standard_library(path: Path) -> None:
    for module in _imported_modules(path):
        top = module.split(".")[0]
        assert module.startswith("app.rules") or top in sys.stdlib_module_names, module
        assert top not in {"os", "socket", "time", "io", "pathlib", "zoneinfo"}, module


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.py")), ids=lambda path: path.name)
def test_rules_module_never_reads_the_clock(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert re.search(r"\.(today|now|utcnow)\(", source) is None
    assert "float(" not in source
