"""The retention purge, through the service function: what goes, what stays, what is recorded,
legal holds, dry runs, and a hold set while a purge waits."""

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import pytest

from app.core.security import Principal, Role
from app.data_protection.service import (
    KEPT_BY_PURGE,
    PURGED_TABLES,
    PurgedPupil,
    PurgeReport,
    purge_expired_records,
    set_legal_hold,
    upn_hash,
)
from tests.data_protection.helpers import REASON, row_counts, seed_every_record

KEY = b"retention-test-key"
# Pupils are born on 2016-03-14 (the factories' default): due on 2047-03-14 at 31 years.
DUE_DAY = date(2047, 3, 14)


async def purge(app: Any, today: date = DUE_DAY, **options: Any) -> PurgeReport:
    async with app.state.database.sessionmaker() as session, session.begin():
        return await purge_expired_records(
            session,
            today=today,
            retention_years=options.pop("retention_years", 31),
            purged_by="test purge",
            hash_key=KEY,
            **options,
        )


async def counts_of(app: Any, *pupils: dict[str, Any]) -> dict[str, dict[str, int]]:
    async with app.state.database.sessionmaker() as session:
        return {p["id"]: await row_counts(session, uuid.UUID(p["id"])) for p in pupils}


@dataclass
class Pupils:
    school: dict[str, Any]
    due: dict[str, Any]
    held: dict[str, Any]
    not_yet: dict[str, Any]


async def three_pupils(api: Any) -> Pupils:
    """Born on the last day that is due, the same day but held, and the next day."""
    school = await api.create_school()
    due, _ = await seed_every_record(api, school, hold=False, date_of_birth="2016-03-14")
    held, _ = await seed_every_record(api, school, hold=True, date_of_birth="2016-01-01")
    not_yet, _ = await seed_every_record(api, school, hold=False, date_of_birth="2016-03-15")
    return Pupils(school, due, held, not_yet)


async def test_a_dry_run_reports_what_would_go_and_changes_nothing(api, app, db):
    world = await three_pupils(api)
    before = await counts_of(app, world.due, world.held, world.not_yet)

    report = await purge(app, dry_run=True)

    due = before[world.due["id"]]
    assert report.purged == [
        PurgedPupil(
            pupil_id=uuid.UUID(world.due["id"]),
            school_id=uuid.UUID(world.school["id"]),
            counts={table: due[table] for table in PURGED_TABLES},
        )
    ]
    assert report.held == [uuid.UUID(world.held["id"])]
    assert report.born_on_or_before == date(2016, 3, 14)
    assert await counts_of(app, world.due, world.held, world.not_yet) == before
    assert await db.fetchval("select count(*) from retention_purges") == 0


async def test_the_purge_removes_a_due_pupils_records_and_records_it(api, app, db):
    world = await three_pupils(api)
    before = await counts_of(app, world.due, world.held, world.not_yet)
    due_id = uuid.UUID(world.due["id"])
    audit_before = before[world.due["id"]]["audit_entries"]
    assert audit_before > 0
    assert all(before[world.due["id"]][table] >= 1 for table in PURGED_TABLES)

    report = await purge(app)

    removed = {table: before[world.due["id"]][table] for table in PURGED_TABLES}
    assert [p.counts for p in report.purged] == [removed]
    assert report.totals() == removed
    after = (await counts_of(app, world.due))[world.due["id"]]
    assert {table: after[table] for table in PURGED_TABLES} == dict.fromkeys(PURGED_TABLES, 0)
    # The audit trail survives; the purge is recorded; nothing else is left.
    assert after["audit_entries"] == audit_before
    assert after["retention_purges"] == 1
    assert set(after) - set(PURGED_TABLES) == set(KEPT_BY_PURGE)

    record = await db.fetchrow("select * from retention_purges where pupil_id = $1", due_id)
    assert record["school_id"] == uuid.UUID(world.school["id"])
    assert record["upn_hash"] == upn_hash(KEY, world.due["upn"])
    assert world.due["upn"] not in str(dict(record))
    assert record["retention_years"] == 31
    assert record["as_of"] == DUE_DAY
    assert record["purged_by"] == "test purge"
    assert record["purged_at"] is not None
    assert json.loads(record["counts"]) == removed

    # The held pupil and the one born a day later are untouched.
    untouched = await counts_of(app, world.held, world.not_yet)
    assert untouched == {k: before[k] for k in untouched}

    # Through the API: the pupil is gone, its audit trail still readable by its school.
    senco = api.senco(world.school)
    gone = await api.http.get(f"/v1/pupils/{due_id}", headers=senco)
    assert gone.status_code == 404
    trail = await api.http.get("/v1/audit", params={"pupil_id": str(due_id)}, headers=senco)
    assert len(trail.json()["items"]) == min(audit_before, 50)

    # Nothing more is due; the record of the purge cannot be changed.
    again = await purge(app)
    assert (again.purged, again.held) == ([], [uuid.UUID(world.held["id"])])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("update retention_purges set purged_by = 'someone else'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("delete from retention_purges")


async def test_lifting_the_hold_lets_the_next_purge_remove_the_records(api, app):
    school = await api.create_school()
    pupil, _ = await seed_every_record(api, school, hold=True)
    assert (await purge(app)).purged == []
    lifted = await api.http.delete(
        f"/v1/pupils/{pupil['id']}/legal-hold", headers=api.senco(school)
    )
    assert lifted.status_code == 204
    report = await purge(app)
    assert [p.pupil_id for p in report.purged] == [uuid.UUID(pupil["id"])]


async def test_nothing_is_due_before_the_day(api, app):
    school = await api.create_school()
    await seed_every_record(api, school, hold=False)
    report = await purge(app, today=date(2047, 3, 13))
    assert (report.purged, report.held) == ([], [])


async def test_the_retention_period_is_a_parameter(api, app):
    school = await api.create_school()
    pupil, _ = await seed_every_record(api, school, hold=False)
    assert (await purge(app, today=date(2041, 3, 14))).purged == []
    report = await purge(app, today=date(2041, 3, 14), retention_years=25)
    assert [p.pupil_id for p in report.purged] == [uuid.UUID(pupil["id"])]


async def test_a_real_run_needs_a_hash_key(app):
    async with app.state.database.sessionmaker() as session, session.begin():
        with pytest.raises(ValueError, match="SEN_RETENTION_HASH_KEY"):
            await purge_expired_records(
                session, today=DUE_DAY, retention_years=31, purged_by="t", hash_key=None
            )


async def test_a_hold_set_while_the_purge_waits_for_the_pupil_is_honoured(api, app):
    school = await api.create_school()
    pupil, _ = await seed_every_record(api, school, hold=False)
    admin = Principal(sub="dpo", role=Role.PLATFORM_ADMIN)
    sessions = app.state.database.sessionmaker
    async with sessions() as session:
        async with session.begin():
            # The hold's transaction locks the pupil first; the purge has to wait for it.
            await set_legal_hold(session, admin, uuid.UUID(pupil["id"]), REASON, None)
            purging = asyncio.create_task(purge(app))
            await asyncio.sleep(0.5)
            assert not purging.done()
        report = await asyncio.wait_for(purging, 10)
    assert report.purged == []
    assert report.held == [uuid.UUID(pupil["id"])]
