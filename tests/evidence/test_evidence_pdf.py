"""The evidence bundle PDF: built from bundles made here, read back with pypdf. No database."""

import io
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pypdf import PdfReader

from app.cycles.schemas import (
    AssessmentRecord,
    Need,
    Outcome,
    OutcomeProgress,
    PlanRecord,
    Provision,
    ReviewRecord,
    ViewEntry,
)
from app.evidence.pdf import FOOTER_NOTICE, render_evidence_pdf
from app.evidence.schemas import (
    BundleClaim,
    BundleConcern,
    BundleCycle,
    BundleDeparture,
    BundleLocalOfferService,
    BundlePlan,
    BundlePupil,
    BundleRequest,
    BundleSchool,
    BundleSpecialist,
    BundleSummary,
    CycleProgress,
    DeliveryTotals,
    EvidenceBundle,
    OutcomeProgressPoint,
    ProvisionDelivery,
    TimelineEntry,
)

HOSTILE = "<b>not markup</b> & <script>alert(1)</script> AT&amp;T"
SECTION_HEADINGS = [
    "Support timeline",
    "Progress across cycles",
    "1. Nature of the need",
    "2. Attainment and progress",
    "3. Action taken and extra support given",
    "4. Health and social needs: specialist involvement",
    "5. Pupil and parent views",
    "6. Concerns and responses",
    "7. Accepted departures from guidance",
    "8. Funding claims",
    "9. Chronology",
]


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def provision(
    description: str,
    *,
    kind: str = "intervention",
    delivered_by: str = "teaching_assistant",
    group_size: int = 1,
    sessions: int | None = None,
    minutes: int | None = None,
    weeks: int | None = None,
    rate: str | None = None,
    fixed: str | None = None,
) -> Provision:
    cost = Decimal(fixed or "0")
    if rate is not None and sessions and minutes and weeks:
        cost += Decimal(rate) * minutes / 60 * sessions * weeks / group_size
    return Provision(
        id=uuid.uuid4(),
        kind=kind,
        description=description,
        delivered_by=delivered_by,
        group_size=group_size,
        sessions_per_week=sessions,
        minutes_per_session=minutes,
        weeks_per_year=weeks,
        hourly_rate=rate,
        fixed_annual_cost=fixed,
        annual_cost=f"{cost.quantize(Decimal('0.01'), ROUND_HALF_UP):f}",
    )


def plan_record(
    outcomes: list[Outcome], provisions: list[Provision], review_date: date
) -> PlanRecord:
    total = sum((Decimal(p.annual_cost) for p in provisions), Decimal(0))
    return PlanRecord(
        outcomes=outcomes,
        provisions=provisions,
        review_date=review_date,
        parents_notified_on=review_date - timedelta(days=80),
        notification_method="letter",
        parents_consulted_on=review_date - timedelta(days=84),
        pupil_consulted_on=review_date - timedelta(days=84),
        staff_informed_on=review_date - timedelta(days=79),
        annual_cost=f"{total:.2f}",
    )


def outcome(description: str, target: date, criteria: str | None = None) -> Outcome:
    return Outcome(
        id=uuid.uuid4(), description=description, success_criteria=criteria, target_date=target
    )


def delivery(provisions: list[Provision], first: date, weeks: int) -> DeliveryTotals:
    rows = [
        ProvisionDelivery(
            provision_id=p.id,
            description=p.description,
            sessions=(p.sessions_per_week or 0) * weeks,
            sessions_attended=(p.sessions_per_week or 0) * weeks - 2,
            minutes=(p.sessions_per_week or 0) * weeks * (p.minutes_per_session or 0),
        )
        for p in provisions
        if p.sessions_per_week
    ]
    return DeliveryTotals(
        sessions=sum(r.sessions for r in rows),
        sessions_attended=sum(r.sessions_attended for r in rows),
        minutes=sum(r.minutes for r in rows),
        first_delivered_on=first if rows else None,
        last_delivered_on=first + timedelta(weeks=weeks) if rows else None,
        by_provision=rows,
    )


def review(
    held_on: date | None,
    outcomes: list[Outcome],
    progress: list[str | None],
    decision: str | None,
    impact: str | None,
) -> ReviewRecord:
    return ReviewRecord(
        held_on=held_on,
        outcome_progress=[
            OutcomeProgress(
                outcome_id=o.id,
                rating={"good": "achieved", "expected": "partially_achieved"}.get(
                    p, "not_achieved"
                ),
                progress=p,
                comment=f"Reviewed against: {o.success_criteria or o.description}",
            )
            for o, p in zip(outcomes, progress, strict=True)
            if p is not None
        ],
        pupil_views="I like the small group but the words still get muddled." if held_on else None,
        parent_views="Homework still ends in tears most evenings." if held_on else None,
        impact_summary=impact,
        parents_informed_on=held_on,
        decision=decision,
    )


def cycle(
    number: int,
    started: date,
    completed: date | None,
    *,
    stage: str = "complete",
    needs: list[tuple[str, str]],
    outcomes: list[Outcome],
    provisions: list[Provision],
    review_record: ReviewRecord,
    departures: list[dict[str, str]] | None = None,
) -> BundleCycle:
    views = []
    if review_record.held_on:
        views.append(
            ViewEntry(
                author="parent",
                text="Homework still ends in tears most evenings.",
                stage="review",
                recorded_at=at(review_record.held_on, 15),
                recorded_by="senco-1",
            )
        )
    return BundleCycle(
        id=uuid.uuid4(),
        number=number,
        stage=stage,
        started_at=at(started),
        stage_entered_at=at(completed or started + timedelta(days=30)),
        completed_at=at(completed, 16) if completed else None,
        assessment=AssessmentRecord(
            summary="Reading age 18 months behind chronological age; slow processing speed.",
            needs=[Need(area=a, description=d) for a, d in needs],
            strengths="Strong oral vocabulary, enjoys practical maths and art.",
            sources=["teacher_assessment", "attainment_and_progress_data", "parent_views"],
            parent_views="She is anxious about reading aloud in class.",
            pupil_views="Reading makes my head hurt.",
            external_advice=None,
        ),
        plan=plan_record(outcomes, provisions, started + timedelta(days=84)),
        delivery=delivery(provisions, started + timedelta(days=10), 10),
        review=review_record,
        departures=departures or [],
        views_log=views,
    )


def departure(rule: str, reason: str, transition: str, day: date) -> dict[str, str]:
    return {
        "rule": rule,
        "reason": reason,
        "transition": transition,
        "recorded_at": at(day).isoformat().replace("+00:00", "Z"),
        "recorded_by": "senco-1",
    }


def make_bundle() -> EvidenceBundle:
    """Two plans and five cycles: support closed after progress, then reopened, a specialist
    involved, and an EHC request made from the latest review; cycle 5 is still in Do."""
    reading = outcome(
        "Read a Year 3 book aloud with 95% accuracy",
        date(2024, 12, 6),
        "Running record at 95% on two occasions",
    )
    spelling = outcome("Spell the 100 high-frequency words", date(2024, 12, 6), "90/100 in a test")
    phonics = provision(
        "Daily phonics catch-up (Read Write Inc. Fresh Start)",
        group_size=3,
        sessions=5,
        minutes=20,
        weeks=33,
        rate="17.85",
    )
    overlay = provision(
        "Coloured overlay and enlarged print",
        kind="adjustment",
        delivered_by="class_teacher",
        fixed="35.00",
    )
    precision = provision(
        "Precision teaching of spellings",
        sessions=3,
        minutes=10,
        weeks=33,
        rate="17.85",
    )
    p1c1 = cycle(
        1,
        date(2024, 9, 9),
        date(2024, 12, 13),
        needs=[("cognition_and_learning", "Decoding and spelling well below age-related")],
        outcomes=[reading, spelling],
        provisions=[phonics, overlay],
        review_record=review(
            date(2024, 12, 12),
            [reading, spelling],
            ["expected", "little_or_none"],
            "continue",
            "Decoding improving; spelling unchanged.",
        ),
    )
    reading2 = outcome("Read a Year 3 book aloud with 95% accuracy", date(2025, 3, 21))
    spelling2 = outcome("Spell the 100 high-frequency words", date(2025, 3, 21))
    p1c2 = cycle(
        2,
        date(2024, 12, 13),
        date(2025, 4, 4),
        needs=[("cognition_and_learning", "Spelling remains the main barrier")],
        outcomes=[reading2, spelling2],
        provisions=[phonics, precision, overlay],
        review_record=review(
            date(2025, 4, 3),
            [reading2, spelling2],
            ["good", "good"],
            "close_support",
            "Both outcomes met; support closed with monitoring by the class teacher.",
        ),
    )
    plan1 = BundlePlan(
        id=uuid.uuid4(),
        status="closed",
        opened_on=date(2024, 9, 9),
        closed_on=date(2025, 4, 4),
        close_reason="review_decision",
        class_teacher="Mr J. Patel",
        senco="Mrs K. Lowe",
        areas_of_need=["cognition_and_learning"],
        cycles=[p1c1, p1c2],
    )

    comprehension = outcome(
        "Answer inference questions about a short text",
        date(2025, 12, 5),
        "4 of 5 inference questions correct, twice",
    )
    anxiety = outcome(
        "Use a calm-down plan when frustrated in literacy lessons",
        date(2025, 12, 5),
        "Fewer than two exits from class a week",
    )
    writing = outcome("Write three linked sentences independently", date(2025, 12, 5))
    elsa = provision(
        "ELSA sessions (emotional literacy support)",
        kind="support",
        sessions=1,
        minutes=45,
        weeks=30,
        rate="19.40",
    )
    specialist_teacher = provision(
        "Specialist teacher for SpLD: structured literacy programme",
        delivered_by="specialist_teacher",
        sessions=2,
        minutes=45,
        weeks=36,
        rate="42.00",
    )
    one_to_one = provision(
        "1:1 teaching assistant support in literacy and maths lessons",
        kind="support",
        sessions=10,
        minutes=55,
        weeks=38,
        rate="16.50",
    )
    p2c1 = cycle(
        1,
        date(2025, 9, 15),
        date(2025, 12, 12),
        needs=[
            ("cognition_and_learning", "Reading comprehension and written recording"),
            ("social_emotional_and_mental_health", "Anxiety and avoidance in literacy lessons"),
        ],
        outcomes=[comprehension, anxiety, writing],
        provisions=[elsa, phonics, overlay],
        review_record=review(
            date(2025, 12, 11),
            [comprehension, anxiety, writing],
            ["little_or_none", "little_or_none", "expected"],
            "involve_specialist",
            "Little progress despite two interventions; educational psychologist to be asked.",
        ),
    )
    p2c2 = cycle(
        2,
        date(2025, 12, 12),
        date(2026, 7, 10),
        needs=[
            ("cognition_and_learning", "Severe difficulties with decoding, per EP report"),
            ("social_emotional_and_mental_health", "School-based anxiety"),
        ],
        outcomes=[comprehension, anxiety, writing],
        provisions=[elsa, specialist_teacher, one_to_one, overlay],
        review_record=review(
            date(2026, 7, 9),
            [comprehension, anxiety, writing],
            ["little_or_none", "expected", "little_or_none"],
            "request_ehc_assessment",
            HOSTILE,
        ),
        departures=[
            departure(
                "review.on_agreed_date",
                "Review delayed a week so that the educational psychologist could attend.",
                "do->review",
                date(2026, 7, 2),
            )
        ],
    )
    p2c3 = cycle(
        3,
        date(2026, 7, 10),
        None,
        stage="do",
        needs=[("cognition_and_learning", "As cycle 2, with the EP's recommendations")],
        outcomes=[comprehension, writing],
        provisions=[elsa, specialist_teacher, one_to_one, overlay],
        review_record=review(None, [comprehension, writing], [None, None], None, None),
    )
    plan2 = BundlePlan(
        id=uuid.uuid4(),
        status="active",
        opened_on=date(2025, 9, 15),
        closed_on=None,
        close_reason=None,
        class_teacher="Ms R. Ahmed",
        senco="Mrs K. Lowe",
        areas_of_need=["cognition_and_learning", "social_emotional_and_mental_health"],
        cycles=[p2c1, p2c2, p2c3],
    )

    def progress_of(plan: BundlePlan, c: BundleCycle) -> CycleProgress:
        by_id = {e.outcome_id: e for e in c.review.outcome_progress}
        counts = {"good": 0, "expected": 0, "little_or_none": 0, "not_rated": 0}
        points = []
        for o in c.plan.outcomes:
            entry = by_id.get(o.id)
            counts[entry.progress if entry and entry.progress else "not_rated"] += 1
            points.append(
                OutcomeProgressPoint(
                    description=o.description,
                    rating=entry.rating if entry else None,
                    progress=entry.progress if entry else None,
                )
            )
        return CycleProgress(
            plan_id=plan.id,
            cycle_number=c.number,
            held_on=c.review.held_on,
            decision=c.review.decision,
            outcomes=points,
            **counts,
        )

    ep_departure = departure(
        "specialist.parents_involved",
        "Mother consulted by phone on the day; meeting booked for the following week.",
        "create",
        date(2025, 12, 15),
    )
    specialists = [
        BundleSpecialist(
            id=uuid.uuid4(),
            service="educational_psychologist",
            parents_involved_on=date(2025, 12, 22),
            parental_consent=True,
            requested_on=date(2025, 12, 15),
            advice_received_on=date(2026, 3, 2),
            advice_summary=(
                "Cognitive profile shows a significant weakness in phonological processing and "
                "working memory. Recommends a structured multisensory literacy programme "
                "delivered by a specialist teacher."
            ),
            waiting_days=77,
            departures=[ep_departure],
        ),
        BundleSpecialist(
            id=uuid.uuid4(),
            service="camhs",
            parents_involved_on=date(2026, 7, 13),
            parental_consent=True,
            requested_on=date(2026, 7, 14),
            advice_received_on=None,
            advice_summary=None,
            waiting_days=129,
            local_offer_service=BundleLocalOfferService(
                id=uuid.uuid4(),
                la_code="873",
                name="Cambridgeshire CAMHS <Getting Help>",
                target_days=84,
            ),
            departures=[],
        ),
    ]
    concerns = [
        BundleConcern(
            id=uuid.uuid4(),
            raised_by="parent",
            raised_on=date(2025, 6, 20),
            description="Reading seems to be slipping again since support ended.",
            status="responded",
            response="Class teacher assessment arranged; new plan opened in September.",
            responded_on=date(2025, 7, 1),
        ),
        BundleConcern(
            id=uuid.uuid4(),
            raised_by="teacher",
            raised_on=date(2026, 10, 1),
            description="Refusing to come into class on Mondays.",
            status="open",
            response=None,
            responded_on=None,
        ),
    ]
    claim = BundleClaim(
        id=uuid.uuid4(),
        period="2026-27",
        status="submitted",
        la_code="873",
        threshold="6000.00",
        provision_cost="6471.50",
        requested_amount="471.50",
        decided_amount=None,
        decided_at=None,
    )
    departures = [
        BundleDeparture(where="specialist involvement", **ep_departure),
        BundleDeparture(where="plan 2025-09-15, cycle 2", **p2c2.departures[0].model_dump()),
    ]
    timeline = [
        TimelineEntry(on=date(2024, 9, 9), kind="plan_opened", summary="Plan 1 opened"),
        TimelineEntry(on=date(2024, 12, 12), kind="review", summary="Plan 1 cycle 1: continue"),
        TimelineEntry(on=date(2025, 4, 3), kind="review", summary="Plan 1 cycle 2: close"),
        TimelineEntry(on=date(2025, 6, 20), kind="concern", summary="Concern raised by parent"),
        TimelineEntry(on=date(2025, 9, 15), kind="plan_opened", summary="Plan 2 opened"),
        TimelineEntry(on=date(2025, 12, 15), kind="specialist", summary="EP requested"),
        TimelineEntry(on=date(2026, 7, 9), kind="review", summary=HOSTILE),
        TimelineEntry(on=date(2026, 9, 21), kind="ehc_request", summary="EHC request submitted"),
        TimelineEntry(on=date(2026, 10, 5), kind="claim", summary="Top-up claim submitted"),
    ]
    return EvidenceBundle(
        generated_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
        request=BundleRequest(
            id=uuid.uuid4(),
            status="submitted",
            requested_by="school",
            reason="Little progress over two cycles despite specialist teaching.",
            la_code="873",
            submitted_on=date(2026, 9, 21),
            decision_due_on=date(2026, 11, 2),
            issue_decision_due_on=date(2027, 1, 11),
            final_plan_due_on=date(2027, 2, 8),
            decided_on=None,
            decision_note=None,
            departures=[],
        ),
        pupil=BundlePupil(
            id=uuid.uuid4(),
            upn="A801200001023",
            first_name="Amara",
            last_name="Okafor",
            date_of_birth=date(2017, 5, 14),
            year_group="4",
            home_la_code="873",
            pupil_premium=True,
            sen_status="K",
            primary_need="SPLD",
            secondary_need="SEMH",
        ),
        school=BundleSchool(
            id=uuid.uuid4(),
            urn="110123",
            name="Fenland Road Primary School",
            la_code="873",
            establishment_type="maintained",
        ),
        summary=BundleSummary(
            support_since=date(2024, 9, 9),
            plans=2,
            cycles_completed=4,
            latest_annual_provision_cost=p2c3.plan.annual_cost,
            specialist_involvements=2,
            open_referrals=1,
            longest_open_referral_days=129,
            open_concerns=1,
        ),
        support_plans=[plan1, plan2],
        progress=[progress_of(plan1, c) for c in plan1.cycles]
        + [progress_of(plan2, c) for c in plan2.cycles if c.completed_at],
        specialist_involvements=specialists,
        concerns=concerns,
        funding_claims=[claim],
        departures=departures,
        timeline=timeline,
    )


def make_empty_bundle() -> EvidenceBundle:
    """A request drafted by a parent while the pupil's first cycle is still at assess."""
    opened = date(2026, 10, 5)
    only_cycle = BundleCycle(
        id=uuid.uuid4(),
        number=1,
        stage="assess",
        started_at=at(opened),
        stage_entered_at=at(opened),
        completed_at=None,
        assessment=AssessmentRecord(),
        plan=PlanRecord(
            outcomes=[],
            provisions=[],
            review_date=None,
            parents_notified_on=None,
            notification_method=None,
            parents_consulted_on=None,
            pupil_consulted_on=None,
            staff_informed_on=None,
            annual_cost="0.00",
        ),
        delivery=DeliveryTotals(
            sessions=0,
            sessions_attended=0,
            minutes=0,
            first_delivered_on=None,
            last_delivered_on=None,
            by_provision=[],
        ),
        review=ReviewRecord(),
        departures=[],
        views_log=[],
    )
    return EvidenceBundle(
        generated_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
        request=BundleRequest(
            id=uuid.uuid4(),
            status="draft",
            requested_by="parent",
            reason=None,
            la_code=None,
            submitted_on=None,
            decision_due_on=None,
            issue_decision_due_on=None,
            final_plan_due_on=None,
            decided_on=None,
            decision_note=None,
            departures=[],
        ),
        pupil=BundlePupil(
            id=uuid.uuid4(),
            upn="B801200002034",
            first_name="Leo",
            last_name="Marsh",
            date_of_birth=date(2019, 2, 1),
            year_group="2",
            home_la_code="873",
            pupil_premium=False,
            sen_status="K",
            primary_need=None,
            secondary_need=None,
        ),
        school=BundleSchool(
            id=uuid.uuid4(),
            urn="110124",
            name="Marsh Lane Infants",
            la_code="873",
            establishment_type="academy",
        ),
        summary=BundleSummary(
            support_since=opened,
            plans=1,
            cycles_completed=0,
            latest_annual_provision_cost="0.00",
            specialist_involvements=0,
            open_referrals=0,
            longest_open_referral_days=None,
            open_concerns=0,
        ),
        support_plans=[
            BundlePlan(
                id=uuid.uuid4(),
                status="active",
                opened_on=opened,
                closed_on=None,
                close_reason=None,
                class_teacher=None,
                senco=None,
                areas_of_need=[],
                cycles=[only_cycle],
            )
        ],
        progress=[],
        specialist_involvements=[],
        concerns=[],
        funding_claims=[],
        departures=[],
        timeline=[TimelineEntry(on=opened, kind="plan_opened", summary="Plan 1 opened")],
    )


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with whitespace collapsed, so wrapped phrases still match."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_renders_a_pdf_with_every_section_and_the_evidence() -> None:
    pdf = render_evidence_pdf(make_bundle())

    assert pdf.startswith(b"%PDF-")
    pages = page_texts(pdf)
    assert 4 <= len(pages) <= 14
    text = " ".join(pages)
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    assert "A801200001023" in text
    assert "Fenland Road Primary School" in text
    assert "Amara Okafor" in pages[0]
    assert "Specialist teacher for SpLD: structured literacy programme" in text
    assert "Review delayed a week so that the educational psychologist could attend." in text
    assert "£471.50" in text  # the claim's requested amount
    assert "£6,000.00" in text  # thousands separated
    assert "Plan 2 · Cycle 3" in text
    assert "Good progress" in text  # the chart's legend
    assert "weakness in phonological processing" in text  # specialist advice


def test_open_referrals_show_how_long_they_have_waited_against_the_target() -> None:
    bundle = make_bundle()
    [_answered, camhs] = bundle.specialist_involvements
    assert camhs.still_waiting and camhs.over_target

    text = " ".join(page_texts(render_evidence_pdf(bundle)))

    assert "Open referrals 1 (longest waiting 129 days)" in text  # the summary card
    assert "Still waiting for advice (1)" in text
    assert (
        "CAMHS: referred 14 Jul 2026, waiting 129 days so far against a Local Offer target of "
        "84 days (Cambridgeshire CAMHS <Getting Help>, LA 873): target exceeded."
    ) in text
    assert "129 (still waiting)" in text
    assert "84 (exceeded)" in text


def test_a_bundle_without_open_referrals_says_so() -> None:
    bundle = make_bundle()
    camhs = bundle.specialist_involvements[1]
    camhs.advice_received_on = date(2026, 9, 1)
    camhs.waiting_days = 49
    bundle.summary.open_referrals = 0
    bundle.summary.longest_open_referral_days = None

    text = " ".join(page_texts(render_evidence_pdf(bundle)))

    assert "No referral is waiting for advice." in text
    assert "Open referrals None" in text
    assert "49 (still waiting)" not in text and "84 (exceeded)" not in text


def test_hostile_text_is_shown_literally_not_as_markup() -> None:
    text = " ".join(page_texts(render_evidence_pdf(make_bundle())))

    assert "<b>not markup</b> & <script>alert(1)</script> AT&amp;T" in text


def test_hostile_names_and_school_do_not_break_the_title_block_or_footer() -> None:
    bundle = make_empty_bundle()
    bundle.pupil.first_name = "<i>Zoë"
    bundle.pupil.last_name = "O'Brien & <br/>"
    bundle.school.name = "St Mary & St John <CE> Primary"

    pages = page_texts(render_evidence_pdf(bundle))

    assert "<i>Zoë O'Brien & <br/>" in pages[0]
    assert "St Mary & St John <CE> Primary" in pages[0]
    assert "<.O." in pages[0]  # initials in the footer, taken literally


def test_every_page_has_the_footer_with_initials_and_upn_but_not_the_name() -> None:
    pages = page_texts(render_evidence_pdf(make_bundle()))

    for number, page in enumerate(pages, start=1):
        assert FOOTER_NOTICE in page
        assert "A.O." in page and "UPN A801200001023" in page
        assert f"Page {number} of {len(pages)}" in page
    assert all("Okafor" not in page for page in pages[1:])


def test_nearly_empty_bundle_says_what_is_missing() -> None:
    pdf = render_evidence_pdf(make_empty_bundle())

    pages = page_texts(pdf)
    assert pdf.startswith(b"%PDF-")
    assert 1 <= len(pages) <= 4
    text = " ".join(pages)
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    for sentence in [
        "No completed cycles recorded",
        "No assessment recorded for this cycle.",
        "No reviews recorded.",
        "No provision recorded.",
        "No specialist involvement recorded.",
        "No pupil or parent views recorded.",
        "No concerns recorded.",
        "No departures from guidance recorded.",
        "No funding claims recorded.",
    ]:
        assert sentence in text, sentence


def test_very_long_text_splits_across_pages() -> None:
    bundle = make_bundle()
    long_advice = " ".join(["The working-memory profile suggests chunked instructions."] * 350)
    bundle.specialist_involvements[0].advice_summary = long_advice
    bundle.concerns[0].description = "Long concern. " * 700

    pages = page_texts(render_evidence_pdf(bundle))

    assert len(pages) > len(page_texts(render_evidence_pdf(make_bundle()))) + 3


def test_same_bundle_gives_same_bytes_and_dates_come_from_the_bundle() -> None:
    bundle = make_bundle()

    first = render_evidence_pdf(bundle)
    time.sleep(1.1)  # a wall-clock timestamp anywhere in the file would now differ
    second = render_evidence_pdf(bundle)

    assert first == second
    info: Any = PdfReader(io.BytesIO(first)).metadata
    assert info.creation_date == bundle.generated_at
    assert "Okafor" not in (info.title or "")


def test_names_beyond_latin_1_are_printed_not_boxed() -> None:
    bundle = make_empty_bundle()
    bundle.pupil.first_name = "Łukasz"
    bundle.pupil.last_name = "Ștefănescu-Öztürk"

    pages = page_texts(render_evidence_pdf(bundle))

    assert "Łukasz Ștefănescu-Öztürk" in pages[0]
    assert "Ł.Ș." in pages[0]


def test_a_long_history_spreads_the_timeline_over_several_drawings() -> None:
    bundle = make_bundle()
    plan = bundle.support_plans[1]
    first = plan.cycles[0]
    plan.cycles = [
        first.model_copy(
            update={
                "number": n,
                "started_at": first.started_at - timedelta(days=30 * (31 - n)),
                "completed_at": first.started_at - timedelta(days=30 * (31 - n) - 28),
            }
        )
        for n in range(1, 31)
    ]

    reader = PdfReader(io.BytesIO(render_evidence_pdf(bundle)))

    timeline_pages = " ".join(page.extract_text() for page in reader.pages[:3])
    assert "Plan 2 · Cycle 1" in timeline_pages and "Plan 2 · Cycle 30" in timeline_pages
    assert "9. Chronology" in reader.pages[-1].extract_text()
