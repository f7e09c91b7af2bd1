"""`sen-api purge-expired-records`, run as an operator would, and the retention settings."""

import asyncio
import os
import sys
import uuid
from datetime import date

from hypothesis import example, given
from hypothesis import strategies as st

from app.core.config import Settings
from app.data_protection.service import due_for_deletion_on, latest_birth_date_due
from tests.data_protection.helpers import seed_every_record


async def sen_api(
    database_url: str, *args: str, unset: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env={**environment, "DATABASE_URL": database_url, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_dry_runs_then_purges_with_the_configured_period(api, db, database_url):
    school = await api.create_school()
    pupil, _ = await seed_every_record(api, school, hold=False)
    pupil_id = uuid.UUID(pupil["id"])
    env = {"SEN_RETENTION_YEARS": "25", "SEN_RETENTION_HASH_KEY": "cli-test-key"}

    code, out, err = await sen_api(
        database_url, "purge-expired-records", "--dry-run", "--today", "2041-03-14", env=env
    )
    assert code == 0, err
    assert f"would remove pupil {pupil_id}" in out
    assert "date of birth + 25 years" in out
    assert "dry run" in err
    assert await db.fetchval("select count(*) from pupils where id = $1", pupil_id) == 1

    code, out, err = await sen_api(
        database_url, "purge-expired-records", "--today", "2041-03-14", env=env
    )
    assert code == 0, err
    assert f"removed pupil {pupil_id}" in out
    assert pupil["upn"] not in out + err
    assert await db.fetchval("select count(*) from pupils where id = $1", pupil_id) == 0
    record = await db.fetchrow("select * from retention_purges where pupil_id = $1", pupil_id)
    assert record["retention_years"] == 25
    assert record["purged_by"].startswith("sen-api purge-expired-records")


async def test_without_a_key_only_a_dry_run_is_possible(database_url):
    for env in ({"SEN_RETENTION_HASH_KEY": "", "SEN_JWT_SECRET": ""}, {}):
        unset = ("SEN_RETENTION_HASH_KEY", "SEN_JWT_SECRET")
        code, _, err = await sen_api(database_url, "purge-expired-records", unset=unset, env=env)
        assert code == 2
        assert "SEN_RETENTION_HASH_KEY" in err
        code, _, err = await sen_api(
            database_url, "purge-expired-records", "--dry-run", unset=unset, env=env
        )
        assert code == 0, err


def test_the_period_defaults_to_31_years_and_is_configurable(monkeypatch):
    monkeypatch.delenv("SEN_RETENTION_YEARS", raising=False)
    assert Settings().retention_years == 31
    monkeypatch.setenv("SEN_RETENTION_YEARS", "35")
    assert Settings().retention_years == 35


@given(
    born=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
    today=st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    years=st.integers(1, 60),
)
@example(born=date(2016, 2, 29), today=date(2047, 2, 28), years=31)
@example(born=date(2016, 2, 29), today=date(2047, 3, 1), years=31)
@example(born=date(2016, 2, 28), today=date(2048, 2, 29), years=32)
def test_a_pupil_is_due_exactly_when_its_birth_date_is_on_or_before_the_cutoff(born, today, years):
    due = due_for_deletion_on(born, years)
    assert (born <= latest_birth_date_due(today, years)) == (due <= today)


def test_a_29_february_birthday_falls_due_on_1_march_in_other_years():
    assert due_for_deletion_on(date(2016, 2, 29), 31) == date(2047, 3, 1)
    assert due_for_deletion_on(date(2016, 2, 29), 32) == date(2048, 2, 29)
    assert due_for_deletion_on(date(2016, 3, 14), 31) == date(2047, 3, 14)
