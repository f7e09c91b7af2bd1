"""A Python client generated from the served document by `openapi-python-client` drives a real
flow through its typed API only: a contract change that breaks generation, a generated model or
a typed call fails here.

The client is generated into a temporary folder on every run (nothing cached) and imported from
there; its `AuthenticatedClient` talks to the app in process (httpx.ASGITransport). The one
setting given to the generator, `content_type_overrides`, reads the two file answers as binary:
openapi-python-client 0.29 knows no `application/pdf` (it would drop that answer with a warning)
and reads a `text/csv` answer of `format: binary` with `BytesIO(response.text)`, a TypeError."""

import datetime
import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.security import Role
from tests.factories import Api, make_upn, make_urn

PACKAGE = "sen_generated_client"
CONFIG = {
    "post_hooks": [],
    "content_type_overrides": {
        "application/pdf": "application/octet-stream",
        "text/csv": "application/octet-stream",
    },
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, app: Any) -> Iterator[Any]:
    """The generated package, imported from a temporary folder; unloaded afterwards."""
    folder = tmp_path_factory.mktemp("generated-client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(app.openapi()), encoding="utf-8")
    config = folder / "config.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # A warning means some operation or answer was left out of the client.
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


class Generated:
    """The generated client's modules and one authenticated client per token."""

    def __init__(self, app: Any, api: Api) -> None:
        self.app = app
        self.api = api
        self.models = _module("models")
        self.open: list[Any] = []

    def client(self, role: Role | str, **scope: Any) -> Any:
        token = self.api.token(role, **scope)
        authenticated = _module("client").AuthenticatedClient(
            base_url="http://test",
            token=token,
            raise_on_unexpected_status=True,
            httpx_args={"transport": httpx.ASGITransport(app=self.app)},
        )
        self.open.append(authenticated)
        return authenticated

    async def close(self) -> None:
        for authenticated in self.open:
            await authenticated.get_async_httpx_client().aclose()


def op(name: str) -> Any:
    """An operation module, e.g. op("pupils.list_pupils")."""
    return _module(f"api.{name}")


async def test_a_generated_client_drives_the_api_through_its_typed_calls(
    generated: Any, app: Any, api: Api
) -> None:
    g = Generated(app, api)
    m = g.models
    try:
        await _flow(g, m)
    finally:
        await g.close()


async def _flow(g: Generated, m: Any) -> None:
    types = _module("types")
    admin = g.client(Role.PLATFORM_ADMIN)

    # A school, registered by the platform admin.
    created = await op("schools.create_school").asyncio_detailed(
        client=admin,
        body=m.SchoolCreate(
            urn=make_urn(),
            name="Hillside Primary School",
            la_code="801",
            establishment_type=m.EstablishmentType.MAINTAINED,
        ),
    )
    assert created.status_code == 201
    school = created.parsed
    assert isinstance(school, m.SchoolOut)
    senco = g.client(Role.SENCO, school_id=school.id)

    # Typed batch items, sent with an Idempotency-Key and replayed.
    batch = m.PupilBatch(
        items=[
            m.PupilBatchItem(
                upn=make_upn(),
                first_name="Amara",
                last_name=f"Okafor-{n}",
                date_of_birth=datetime.date(2016, 3, 14),
                year_group=m.YearGroup.Y5,
                home_la_code="801",
                pupil_premium=False,
            )
            for n in range(2)
        ]
    )
    key = str(uuid.uuid4())
    upsert = op("pupils.batch_upsert_pupils")
    first = await upsert.asyncio_detailed(
        school_id=school.id, client=senco, body=batch, idempotency_key=key
    )
    assert first.status_code == 200
    assert isinstance(first.parsed, m.PupilBatchResult)
    assert [r.status for r in first.parsed.results] == [m.BatchItemStatus.CREATED] * 2
    replay = await upsert.asyncio_detailed(
        school_id=school.id, client=senco, body=batch, idempotency_key=key
    )
    assert replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert [r.id for r in replay.parsed.results] == [r.id for r in first.parsed.results]

    # The pupils, one per page, following next_cursor.
    seen: list[Any] = []
    cursor: Any = None
    while True:
        kwargs: dict[str, Any] = {"school_id": school.id, "client": senco, "limit": 1}
        if cursor is not None:
            kwargs["cursor"] = cursor
        page = await op("pupils.list_pupils").asyncio_detailed(**kwargs)
        assert page.status_code == 200
        assert isinstance(page.parsed, m.PagePupilOut)
        assert len(page.parsed.items) <= 1
        seen += [p.id for p in page.parsed.items]
        cursor = page.parsed.next_cursor
        if cursor is None:
            break
        assert len(seen) <= 2
    assert sorted(map(str, seen)) == sorted(str(r.id) for r in first.parsed.results)
    pupil_id = seen[0]

    # A support plan opened; its cycle cannot move to plan with an empty assessment, and the
    # 409 reads as a typed Problem with its violations.
    opened = await op("support_plans.open_support_plan").asyncio_detailed(
        pupil_id=pupil_id, client=senco, body=m.SupportPlanOpen()
    )
    assert opened.status_code == 201
    assert isinstance(opened.parsed, m.SupportPlanOut)
    cycle_id = opened.parsed.current_cycle_id
    assert cycle_id is not None
    refused = await op("cycles.transition_cycle").asyncio_detailed(
        cycle_id=cycle_id, client=senco, body=m.TransitionIn(to=m.Stage.PLAN)
    )
    assert refused.status_code == 409
    problem = refused.parsed
    assert isinstance(problem, m.Problem)
    assert problem.code == m.ProblemCode.RULE_VIOLATION
    assert isinstance(problem.violations, list) and problem.violations
    assert all(isinstance(v, m.RuleViolationItem) for v in problem.violations)

    # The change feed, read from the start and then after its next_cursor.
    events = op("events.list_events")
    feed = await events.asyncio_detailed(client=admin, limit=1)
    assert feed.status_code == 200
    assert isinstance(feed.parsed, m.EventPage)
    assert len(feed.parsed.items) == 1 and feed.parsed.next_cursor is not None
    after = await events.asyncio_detailed(client=admin, after=feed.parsed.next_cursor, limit=50)
    assert after.status_code == 200
    assert after.parsed.items
    assert feed.parsed.items[0].seq not in {e.seq for e in after.parsed.items}

    # The SEN register as CSV bytes.
    csv = await op("reports.get_sen_register_csv").asyncio_detailed(
        school_id=school.id, client=senco
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert isinstance(csv.parsed, types.File)
    assert csv.parsed.payload.read().decode("utf-8").startswith("upn,first_name,last_name")

    # An EHC request, submitted with a departure from ehc.evidence_of_sen_support, and its
    # evidence bundle as PDF bytes.
    request = await op("ehc_requests.create_ehc_request").asyncio_detailed(
        pupil_id=pupil_id, client=senco, body=m.EhcRequestCreate(reason="Gap widening")
    )
    assert request.status_code == 201
    assert isinstance(request.parsed, m.EhcRequestOut)
    submitted = await op("ehc_requests.transition_ehc_request").asyncio_detailed(
        request_id=request.parsed.id,
        client=senco,
        body=m.EhcTransitionIn(
            to=m.EhcRequestStatus.SUBMITTED,
            departures=[
                m.DepartureIn(
                    rule="ehc.evidence_of_sen_support", reason="Cycle still running in assess"
                )
            ],
        ),
    )
    assert submitted.status_code == 200
    assert submitted.parsed.status == m.EhcRequestStatus.SUBMITTED
    pdf = await op("ehc_requests.get_ehc_evidence_pdf").asyncio_detailed(
        request_id=request.parsed.id, client=senco
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert isinstance(pdf.parsed, types.File)
    assert pdf.parsed.payload.read().startswith(b"%PDF")

    # A funding claim drafted for the pupil and read back.
    claim = await op("funding.create_funding_claim").asyncio_detailed(
        pupil_id=pupil_id, client=senco, body=m.ClaimCreate(period="2026-27")
    )
    assert claim.status_code == 201
    assert isinstance(claim.parsed, m.ClaimOut)
    assert claim.parsed.status == m.ClaimStatus.DRAFT
    read = await op("funding.get_funding_claim").asyncio_detailed(
        claim_id=claim.parsed.id, client=senco
    )
    assert read.status_code == 200
    assert isinstance(read.parsed, m.ClaimOut)
    assert (read.parsed.id, read.parsed.pupil_id) == (claim.parsed.id, pupil_id)
