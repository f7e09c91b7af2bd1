"""The append-only tables hold against their owner's TRUNCATE, and the application's role
(`sen_app`, made by the migrations) may only read and append to them: the attack the security
review described, refused, and the API served as that role doing its ordinary work."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.idempotency import purge_expired
from app.data_protection.service import purge_expired_records
from app.main import create_app
from tests.conftest import _plain_dsn
from tests.data_protection.helpers import seed_every_record
from tests.factories import Api

APP_ROLE = "sen_app"
APPEND_ONLY_TABLES = ("audit_entries", "retention_purges")
# Pupils are born on 2016-03-14 (the factories' default): due on 2047-03-14 at 31 years.
PURGE_DAY = date(2047, 3, 14)


async def insert_row(connection: asyncpg.Connection, table: str) -> None:
    if table == "audit_entries":
        await connection.execute(
            "insert into audit_entries (actor_sub, actor_role, action, resource, resource_id, "
            "pupil_id, school_id, request_id) "
            "values ('senco-1', 'senco', 'read', 'pupil', $1, $1, $2, 'req-1')",
            uuid.uuid4(),
            uuid.uuid4(),
        )
    else:
        await connection.execute(
            "insert into retention_purges (id, pupil_id, school_id, upn_hash, counts, "
            "retention_years, as_of, purged_by) "
            "values ($1, $2, $3, $4, '{}', 31, current_date, 'test')",
            uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            "0" * 64,
        )


async def count(connection: asyncpg.Connection, table: str) -> int:
    return int(await connection.fetchval(f"select count(*) from {table}"))


@pytest.fixture
async def app_role(database_url: str, clean_tables: None) -> AsyncIterator[asyncpg.Connection]:
    """A connection that took the application's role at start, as `SEN_DB_ROLE` makes the app's
    own connections do (the login is the suite's superuser; the role's rights are what count)."""
    connection = await asyncpg.connect(_plain_dsn(database_url), server_settings={"role": APP_ROLE})
    assert await connection.fetchval("select current_user") == APP_ROLE
    yield connection
    await connection.close()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_owner_cannot_truncate_an_append_only_table(db, clean_tables, table):
    await insert_row(db, table)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute(f"truncate {table}")
    assert await count(db, table) == 1


async def test_truncating_every_table_at_once_spares_the_audit_trail_and_everything_else(api, db):
    """The one-statement wipe: the trigger refuses the whole TRUNCATE, so nothing is emptied."""
    school = await api.create_school()
    await api.create_pupil(school)
    audited = await count(db, "audit_entries")
    assert audited >= 1
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="audit entries are append-only"):
        await db.execute("truncate audit_entries, pupils, schools restart identity cascade")
    assert (await count(db, "audit_entries"), await count(db, "pupils")) == (audited, 1)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_app_role_may_read_and_append_but_not_change_or_empty(db, app_role, table):
    await insert_row(app_role, table)
    assert await count(app_role, table) == 1
    for statement in (
        f"truncate {table}",
        f"update {table} set school_id = school_id",
        f"delete from {table}",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await app_role.execute(statement)
    assert await count(db, table) == 1


class RolledBack(Exception):
    pass


@pytest.mark.parametrize(
    "statement",
    [
        "alter table audit_entries disable trigger audit_entries_no_truncate",
        "alter table audit_entries disable trigger all",
        "drop trigger audit_entries_append_only on audit_entries",
        "drop table audit_entries",
        "alter table audit_entries owner to sen_app",
        pytest.param(
            "create trigger x before insert on audit_entries "
            "for each statement execute function audit_entries_refuse_change()",
            id="create trigger",
        ),
        # The harness's own way past the trigger: a superuser's setting.
        "set session_replication_role = replica",
        # No TRUNCATE anywhere, not only on the append-only tables.
        "truncate pupils cascade",
        "truncate idempotency_keys",
    ],
)
async def test_the_app_role_cannot_remove_or_bypass_the_guards(db, app_role, statement):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_role.execute(statement)
    # The control: each is a valid statement the owner's side may run (here rolled back).
    with pytest.raises(RolledBack):
        async with db.transaction():
            await db.execute(statement)
            raise RolledBack


async def test_the_app_role_holds_exactly_the_promised_privileges(db):
    """Every table's privileges for the role, as the migrations leave them. A later migration
    that adds a table gets the role's default grants; one that adds an append-only table (a
    `<table>_append_only` trigger) fails here until it revokes UPDATE and DELETE and adds the
    `<table>_no_truncate` trigger."""
    rows = await db.fetch(
        """
        select c.relname,
               array(select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE',
                       'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
                     where has_table_privilege($1, c.oid, p)) as privileges,
               array(select t.tgname::text from pg_trigger t
                     where t.tgrelid = c.oid and not t.tgisinternal order by 1) as triggers
        from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        """,
        APP_ROLE,
    )
    append_only = {
        row["relname"] for row in rows if f"{row['relname']}_append_only" in row["triggers"]
    }
    assert append_only == set(APPEND_ONLY_TABLES)
    for row in rows:
        table = row["relname"]
        expected: list[str]
        if table == "alembic_version":
            expected = []
        elif table in append_only:
            expected = ["SELECT", "INSERT"]
            assert f"{table}_no_truncate" in row["triggers"], table
        else:
            expected = ["SELECT", "INSERT", "UPDATE", "DELETE"]
        assert row["privileges"] == expected, table
    owned = await db.fetchval(
        "select count(*) from pg_class where relowner = $1::regrole", APP_ROLE
    )
    assert owned == 0
    assert not await db.fetchval(
        "select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls from pg_roles "
        "where rolname = $1",
        APP_ROLE,
    )


@pytest.fixture
async def app_as_app_role(settings: Settings, clean_tables: None) -> AsyncIterator[Any]:
    application = create_app(settings.model_copy(update={"db_role": APP_ROLE}))
    yield application
    await application.state.database.dispose()


async def test_the_api_served_as_the_app_role_does_its_work_and_writes_its_audit(
    app_as_app_role, settings, db
):
    database = app_as_app_role.state.database
    async with database.engine.connect() as connection:
        assert (await connection.exec_driver_sql("select current_user")).scalar() == APP_ROLE
    rows = await database.statement_rows(select(func.current_user().label("user")), {})
    assert rows[0]["user"] == APP_ROLE

    transport = httpx.ASGITransport(app=app_as_app_role)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http, settings)
        school = await api.create_school()
        senco = api.senco(school)
        # A row in every pupil table, through the API, a legal hold included.
        kept, _ = await seed_every_record(api, school, hold=True, date_of_birth="2016-01-01")
        due, _ = await seed_every_record(api, school, hold=False)
        read = await http.get(f"/v1/pupils/{kept['id']}", headers=senco)
        assert read.status_code == 200, read.text
        batch = await http.post(
            f"/v1/schools/{school['id']}/pupils/batch",
            json={"items": [{"upn": kept["upn"], "first_name": "Renamed"}]},
            headers=senco,
        )
        assert batch.status_code == 200, batch.text
        for path in (
            f"/v1/schools/{school['id']}/pupils",
            f"/v1/pupils/{kept['id']}/export",
            "/v1/events",
        ):
            response = await http.get(path, headers=senco if "events" not in path else api.admin())
            assert response.status_code == 200, (path, response.text)
        trail = await http.get("/v1/audit", params={"pupil_id": kept["id"]}, headers=senco)
        assert trail.status_code == 200, trail.text
        assert {"create", "read", "update", "export"} <= {
            item["action"] for item in trail.json()["items"]
        }

    # The maintenance jobs run as the same role: the purge deletes and records, keeps the trail.
    async with database.sessionmaker() as session, session.begin():
        report = await purge_expired_records(
            session,
            today=PURGE_DAY,
            retention_years=31,
            purged_by="test purge",
            hash_key=b"key",
        )
        await purge_expired(session)
    assert [p.pupil_id for p in report.purged] == [uuid.UUID(due["id"])]
    assert report.held == [uuid.UUID(kept["id"])]
    record = await db.fetchrow("select counts from retention_purges")
    assert json.loads(record["counts"])["pupils"] == 1
    assert await db.fetchval(
        "select count(*) from audit_entries where pupil_id = $1", uuid.UUID(due["id"])
    )
