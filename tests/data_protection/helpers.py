"""A pupil with a row in every table that refers to pupils, and the metadata's view of those
tables."""

import uuid
from typing import Any

from sqlalchemy import MetaData, Select, Table, func, select

from app.models import Base
from tests.cycles.helpers import EARLY, FULL_ASSESSMENT, Cycles, full_plan, today
from tests.factories import Api

REASON = "Parents' claim against the school is before the tribunal"


def pupil_tables(metadata: MetaData = Base.metadata) -> dict[str, Table]:
    """Every table holding rows about a pupil: `pupils`, tables with a `pupil_id` column or a
    foreign key to `pupils`, and tables with a foreign key to any of those (a cycle's delivery
    logs), to any depth."""
    found: dict[str, Table] = {"pupils": metadata.tables["pupils"]}
    grew = True
    while grew:
        grew = False
        for table in metadata.tables.values():
            if table.name in found:
                continue
            refers = "pupil_id" in table.c or any(
                fk.column.table.name in found for fk in table.foreign_keys
            )
            if refers:
                found[table.name] = table
                grew = True
    return found


def rows_of_pupil(table: Table, pupil_id: uuid.UUID, tables: dict[str, Table]) -> Select[Any]:
    """The rows of `table` about the pupil, following foreign keys back to `pupils`."""
    if table.name == "pupils":
        return select(table).where(table.c.id == pupil_id)
    for fk in table.foreign_keys:
        if fk.column.table.name == "pupils":
            return select(table).where(fk.parent == pupil_id)
    if "pupil_id" in table.c:
        return select(table).where(table.c.pupil_id == pupil_id)
    for fk in table.foreign_keys:
        parent = fk.column.table
        if parent.name in tables:
            owners = rows_of_pupil(parent, pupil_id, tables).with_only_columns(fk.column)
            return select(table).where(fk.parent.in_(owners))
    raise AssertionError(f"{table.name} does not lead back to a pupil")


async def row_counts(session: Any, pupil_id: uuid.UUID) -> dict[str, int]:
    """Rows about the pupil in every pupil table, by table."""
    tables = pupil_tables()
    counts = {}
    for name, table in tables.items():
        query = rows_of_pupil(table, pupil_id, tables).subquery()
        counts[name] = await session.scalar(select(func.count()).select_from(query))
    return counts


async def primary_keys(session: Any, pupil_id: uuid.UUID) -> dict[str, set[str]]:
    """The primary key (as text) of every row about the pupil, by table."""
    tables = pupil_tables()
    keys = {}
    for name, table in tables.items():
        (column,) = table.primary_key.columns
        query = rows_of_pupil(table, pupil_id, tables).with_only_columns(column)
        keys[name] = {str(value) for value in await session.scalars(query)}
    return keys


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


async def seed_every_record(
    api: Api, school: dict[str, Any], hold: bool = True, **pupil_fields: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A pupil with one of everything (a legal hold too, unless `hold` is false), through the
    API; the id of one row per table."""
    pupil = await api.create_pupil(school, **pupil_fields)
    senco = api.senco(school)
    http = api.http
    pid = pupil["id"]
    cycles = Cycles(api, school)
    plan = await cycles.open_plan(pupil)
    cycle_id = plan["current_cycle_id"]
    await cycles.put(cycle_id, "assessment", FULL_ASSESSMENT)
    await cycles.advance(cycle_id, "plan")
    cycle = await cycles.put(cycle_id, "plan", full_plan())
    _ok(
        await http.post(
            f"/v1/cycles/{cycle_id}/views",
            json={"author": "pupil", "text": "I want help with reading"},
            headers=senco,
        )
    )
    await cycles.advance(cycle_id, "do")
    log = _ok(
        await http.post(
            f"/v1/cycles/{cycle_id}/delivery-logs",
            json={
                "provision_id": cycle["plan"]["provisions"][0]["id"],
                "delivered_on": today(),
                "minutes": 30,
                "note": "Worked on CVC words",
            },
            headers=senco,
        ),
        201,
    )
    await cycles.advance(cycle_id, "review", [EARLY])
    # Raised after the assessment: an open concern would hold the cycle in assess.
    concern = _ok(
        await http.post(
            f"/v1/pupils/{pid}/concerns",
            json={"raised_by": "parent", "description": "Not reading at home"},
            headers=senco,
        ),
        201,
    )
    involvement = _ok(
        await http.post(
            f"/v1/pupils/{pid}/specialist-involvements",
            json={
                "service": "speech_and_language_therapy",
                "parents_involved_on": today(),
                "parental_consent": True,
                "requested_on": today(),
            },
            headers=senco,
        ),
        201,
    )
    request = _ok(
        await http.post(
            f"/v1/pupils/{pid}/ehc-requests", json={"reason": "Gap widening"}, headers=senco
        ),
        201,
    )
    claim = _ok(
        await http.post(
            f"/v1/pupils/{pid}/funding-claims", json={"period": "2026-27"}, headers=senco
        ),
        201,
    )
    if hold:
        _ok(await http.put(f"/v1/pupils/{pid}/legal-hold", json={"reason": REASON}, headers=senco))
    ids = {
        "pupils": pid,
        "concerns": concern["id"],
        "support_plans": plan["id"],
        "cycles": cycle_id,
        "delivery_logs": log["id"],
        "specialist_involvements": involvement["id"],
        "ehc_requests": request["id"],
        "funding_claims": claim["id"],
    }
    if hold:
        ids["legal_holds"] = pid
    return pupil, ids
