"""The EHC evidence bundle (JSON, and PDF as its own operation or by Accept): contents, who may
read it, and a fixed query count."""

import io

import pytest
from pypdf import PdfReader

from app.main import api_routes
from tests.core.test_errors import assert_problem
from tests.cycles.helpers import Cycles
from tests.local_offer.helpers import publish, refer
from tests.sql import counted_statements


async def submitted_request(api, school, pupil, completed_cycles):
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    for _ in range(completed_cycles):
        plan_now = (
            await api.http.get(f"/v1/support-plans/{plan['id']}", headers=cycles.senco)
        ).json()
        await cycles.complete(plan_now["current_cycle_id"])
    created = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests",
        json={"reason": "Gap widening"},
        headers=cycles.senco,
    )
    request = created.json()
    submitted = await api.http.post(
        f"/v1/ehc-requests/{request['id']}/transitions",
        json={"to": "submitted"},
        headers=cycles.senco,
    )
    assert submitted.status_code == 200, submitted.text
    return request


async def test_bundle_holds_the_history_in_order(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    senco = api.senco(school)
    concern = await api.http.post(
        f"/v1/pupils/{pupil['id']}/concerns",
        json={
            "raised_by": "parent",
            "description": "Not reading at home",
            "raised_on": "2026-09-01",
        },
        headers=senco,
    )
    await api.http.patch(
        f"/v1/concerns/{concern.json()['id']}",
        json={"response": "Phonics assessment arranged"},
        headers=senco,
    )
    request = await submitted_request(api, school, pupil, completed_cycles=2)
    officer = api.headers("la_officer", la_code="331")
    response = await api.http.get(f"/v1/ehc-requests/{request['id']}/evidence", headers=officer)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["pupil"]["upn"] == pupil["upn"]
    assert bundle["school"]["id"] == school["id"]
    assert bundle["request"]["status"] == "submitted"
    [plan] = bundle["support_plans"]
    assert [c["number"] for c in plan["cycles"]] == [1, 2, 3]
    first = plan["cycles"][0]
    assert first["plan"]["provisions"][0]["annual_cost"] == "471.50"
    assert first["assessment"]["needs"][0]["area"] == "cognition_and_learning"
    assert [p["cycle_number"] for p in bundle["progress"]] == [1, 2]
    assert bundle["progress"][0]["expected"] == 1
    assert {d["rule"] for d in bundle["departures"]} == {"review.on_agreed_date"}
    assert bundle["concerns"][0]["description"] == "Not reading at home"
    assert bundle["summary"]["cycles_completed"] == 2
    dates = [entry["on"] for entry in bundle["timeline"]]
    assert dates == sorted(dates)
    assert {"plan_opened", "review", "concern", "ehc_request"} <= {
        e["kind"] for e in bundle["timeline"]
    }


# The JSON bundle, and the PDF as its own operation (GET .../evidence.pdf).
BUNDLE_PATHS = pytest.mark.parametrize("representation", ["evidence", "evidence.pdf"])


@BUNDLE_PATHS
async def test_only_the_school_the_requests_la_and_the_admin_read_the_bundle(api, representation):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    url = f"/v1/ehc-requests/{request['id']}/{representation}"
    for headers in (
        api.senco(school),
        api.staff("teacher", school),
        api.headers("la_officer", la_code="331"),
        # SPEC.md §4: the platform admin reads everything, evidence bundles included.
        api.admin(),
    ):
        assert (await api.http.get(url, headers=headers)).status_code == 200
    for headers in (api.parent(pupil), api.staff("mis_integration", school)):
        assert_problem(await api.http.get(url, headers=headers), 403, "forbidden")
    other = await api.create_school()
    for headers in (api.headers("la_officer", la_code="330"), api.senco(other)):
        assert_problem(await api.http.get(url, headers=headers), 404, "not_found")
    assert_problem(await api.http.get(url), 401, "unauthorized")
    missing = f"/v1/ehc-requests/00000000-0000-0000-0000-000000000000/{representation}"
    assert_problem(await api.http.get(missing, headers=api.admin()), 404, "not_found")


@BUNDLE_PATHS
async def test_draft_requests_have_no_bundle_for_the_la(api, representation):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    draft = (
        await api.http.post(
            f"/v1/pupils/{pupil['id']}/ehc-requests", json={}, headers=api.senco(school)
        )
    ).json()
    response = await api.http.get(
        f"/v1/ehc-requests/{draft['id']}/{representation}",
        headers=api.headers("la_officer", la_code="331"),
    )
    assert_problem(response, 404, "not_found")


async def test_the_number_of_queries_does_not_grow_with_the_history(api, app):
    school = await api.create_school()
    short = await api.create_pupil(school)
    long = await api.create_pupil(school)
    short_request = await submitted_request(api, school, short, completed_cycles=1)
    long_request = await submitted_request(api, school, long, completed_cycles=4)
    senco = api.senco(school)
    with counted_statements(app) as short_statements:
        assert (
            await api.http.get(f"/v1/ehc-requests/{short_request['id']}/evidence", headers=senco)
        ).status_code == 200
    with counted_statements(app) as long_statements:
        assert (
            await api.http.get(f"/v1/ehc-requests/{long_request['id']}/evidence", headers=senco)
        ).status_code == 200
    assert len(long_statements) == len(short_statements)
    assert len(short_statements) <= 12


async def test_the_bundle_as_a_pdf(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    url = f"/v1/ehc-requests/{request['id']}/evidence"
    officer = api.headers("la_officer", la_code="331")
    pdf = await api.http.get(url, headers={**officer, "Accept": "application/pdf"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.headers["cache-control"] == "no-store"
    for accept in ("application/json", "*/*", "application/pdf;q=0.5, application/json"):
        response = await api.http.get(url, headers={**officer, "Accept": accept})
        assert response.headers["content-type"] == "application/json", accept


async def test_the_pdf_is_its_own_operation_rendered_and_audited_as_the_negotiated_one(api, db):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    officer = api.headers("la_officer", la_code="331")
    url = f"/v1/ehc-requests/{request['id']}/evidence"
    audited = (
        "select count(*) from audit_entries where resource = 'ehc_evidence' and action = 'export'"
    )
    before = await db.fetchval(audited)
    # No Accept needed, and whatever Accept says (a generated client sends its own).
    for accept in (None, "application/json", "*/*"):
        headers = officer if accept is None else {**officer, "Accept": accept}
        pdf = await api.http.get(f"{url}.pdf", headers=headers)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-length"] == str(len(pdf.content))
        assert pdf.headers["cache-control"] == "no-store"
        assert pdf.headers["content-disposition"] == (
            f'inline; filename="ehc-evidence-{request["id"]}.pdf"'
        )
        text = " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
        assert pupil["upn"] in text
    negotiated = await api.http.get(url, headers={**officer, "Accept": "application/pdf"})
    assert negotiated.headers["content-type"] == "application/pdf"
    assert negotiated.headers["content-disposition"] == pdf.headers["content-disposition"]
    # Each read of the bundle, in either representation, is audited as an export.
    assert await db.fetchval(audited) == before + 4


async def test_evidence_pdf_is_not_read_as_part_of_the_request_id(api, app):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    senco = api.senco(school)
    routed = {
        route.path: route.name
        for route in api_routes()
        if "/ehc-requests/{request_id}" in route.path
    }
    assert routed["/v1/ehc-requests/{request_id}/evidence.pdf"] == "get_ehc_evidence_pdf"
    assert routed["/v1/ehc-requests/{request_id}/evidence"] == "get_ehc_evidence"
    base = f"/v1/ehc-requests/{request['id']}"
    assert (await api.http.get(f"{base}/evidence", headers=senco)).headers[
        "content-type"
    ] == "application/json"
    assert (await api.http.get(f"{base}/evidence.pdf", headers=senco)).headers[
        "content-type"
    ] == "application/pdf"
    # Neither `.pdf` nor anything else glued to the id or the path makes another route match.
    for path in (f"{base}.pdf/evidence", f"{base}/evidence.json", f"{base}/evidence.pdf/x"):
        response = await api.http.get(path, headers=senco)
        assert response.status_code in (404, 422), path
        assert response.headers["content-type"].startswith("application/problem+json"), path


async def test_the_bundle_shows_open_referrals_and_how_long_they_have_waited(api):
    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    eps = await publish(api, "331", target_days=21)
    open_late = await refer(api, school, pupil, requested=30, local_offer=eps)
    open_unlinked = await refer(api, school, pupil, service="camhs", requested=5)
    answered = await refer(api, school, pupil, requested=40, answered=30, local_offer=eps)
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    officer = api.headers("la_officer", la_code="331")
    url = f"/v1/ehc-requests/{request['id']}/evidence"

    bundle = (await api.http.get(url, headers=officer)).json()
    assert bundle["summary"]["specialist_involvements"] == 3
    assert bundle["summary"]["open_referrals"] == 2
    assert bundle["summary"]["longest_open_referral_days"] == 30
    shown = {s["id"]: s for s in bundle["specialist_involvements"]}
    late = shown[open_late["id"]]
    assert (late["waiting_days"], late["still_waiting"], late["over_target"]) == (30, True, True)
    assert late["local_offer_service"] == {
        "id": eps["id"],
        "la_code": "331",
        "name": eps["name"],
        "target_days": 21,
    }
    unlinked = shown[open_unlinked["id"]]
    assert (unlinked["waiting_days"], unlinked["still_waiting"]) == (5, True)
    assert (unlinked["local_offer_service"], unlinked["over_target"]) == (None, None)
    done = shown[answered["id"]]
    assert (done["waiting_days"], done["still_waiting"], done["over_target"]) == (10, False, False)

    pdf = await api.http.get(url, headers={**officer, "Accept": "application/pdf"})
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Still waiting for advice (2)" in text
    assert "waiting 30 days so far against a Local Offer target of 21 days" in text


async def test_an_las_bundle_leaves_out_draft_claims(api):
    from tests.funding.test_claims_api import EXPENSIVE, pupil_in_do

    school = await api.create_school()
    pupil = await pupil_in_do(api, school, [EXPENSIVE])
    senco = api.senco(school)
    submitted = await api.http.post(
        f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": "2026-27"}, headers=senco
    )
    await api.http.post(
        f"/v1/funding-claims/{submitted.json()['id']}/transitions",
        json={"to": "submitted"},
        headers=senco,
    )
    draft = await api.http.post(
        f"/v1/pupils/{pupil['id']}/funding-claims", json={"period": "2027-28"}, headers=senco
    )
    request = await api.http.post(
        f"/v1/pupils/{pupil['id']}/ehc-requests", json={"reason": "Gap widening"}, headers=senco
    )
    await api.http.post(
        f"/v1/ehc-requests/{request.json()['id']}/transitions",
        json={
            "to": "submitted",
            "departures": [
                {"rule": "ehc.evidence_of_sen_support", "reason": "Cycle still running in do"}
            ],
        },
        headers=senco,
    )
    url = f"/v1/ehc-requests/{request.json()['id']}/evidence"
    officer = api.headers("la_officer", la_code="331")
    la_claims = (await api.http.get(url, headers=officer)).json()["funding_claims"]
    assert [c["id"] for c in la_claims] == [submitted.json()["id"]]
    school_claims = (await api.http.get(url, headers=senco)).json()["funding_claims"]
    assert {c["id"] for c in school_claims} == {submitted.json()["id"], draft.json()["id"]}
    pdf = await api.http.get(url, headers={**officer, "Accept": "application/pdf"})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2027-28" not in text and "2026-27" in text


@pytest.mark.parametrize(
    ("representation", "accept"),
    [("evidence", {"Accept": "application/pdf"}), ("evidence.pdf", {})],
    ids=["negotiated", "pdf_operation"],
)
async def test_the_pdf_renders_after_the_commit_with_no_connection_and_a_few_at_a_time(
    api, settings, monkeypatch, representation, accept
):
    """The review's attack: 16 concurrent renders each held a transaction open ("idle in
    transaction") while rendering, starved the pool, and every session-using endpoint answered
    503. Now the bundle is built and committed first, the render holds no connection, at most
    SEN_PDF_RENDERS run at once, and one that cannot start in time answers 503."""
    import asyncio
    import threading

    import httpx

    from app.evidence import pdf as evidence_pdf
    from app.main import create_app

    school = await api.create_school()
    pupil = await api.create_pupil(school, home_la_code="331")
    request = await submitted_request(api, school, pupil, completed_cycles=1)
    teacher = api.staff("teacher", school)
    url = f"/v1/ehc-requests/{request['id']}/evidence"
    pdf_url = f"/v1/ehc-requests/{request['id']}/{representation}"

    release = threading.Event()
    started = threading.Event()
    real_render = evidence_pdf.render_evidence_pdf

    def slow_render(bundle):
        started.set()
        release.wait(10)
        return real_render(bundle)

    monkeypatch.setattr(evidence_pdf, "render_evidence_pdf", slow_render)
    application = create_app(
        settings.model_copy(
            update={"pdf_renders": 1, "render_wait_seconds": 0.5, "db_pool_size": 1}
        )
    )
    database = application.state.database
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            pdf_headers = {**teacher, **accept}
            first = asyncio.create_task(http.get(pdf_url, headers=pdf_headers))
            await asyncio.to_thread(started.wait, 10)
            # Rendering: the request's transaction is over and its connection is back.
            assert database.engine.pool.checkedout() == 0
            # With a pool of one, a render holding its connection would starve this read.
            json_read = await http.get(url, headers=teacher)
            assert json_read.status_code == 200, json_read.text
            # The one render slot is taken: the next render answers 503 after the wait.
            busy = await http.get(pdf_url, headers=pdf_headers)
            body = assert_problem(busy, 503, "service_busy")
            assert busy.headers["retry-after"] == str(settings.retry_after_seconds)
            assert "rendered" in body["detail"]
            release.set()
            done = await first
            assert done.status_code == 200
            assert done.headers["content-type"] == "application/pdf"
            assert done.headers["content-length"] == str(len(done.content))
            assert done.content.startswith(b"%PDF")
            # The slot is free again.
            again = await http.get(pdf_url, headers=pdf_headers)
            assert again.status_code == 200
    finally:
        release.set()
        await database.dispose()
