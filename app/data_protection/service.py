"""Data protection (DOMAIN.md §5): the subject-access export, legal holds and the retention
purge.

The export and the purge both answer "what does the service hold about this pupil?". Each
names its tables here explicitly, and tests/data_protection check these lists against the
SQLAlchemy metadata, so a table added later that refers to pupils fails the tests until it is
exported and purged (or a reason is written down why not). The statements that read and
delete those rows are in `repository.py`; the lists, the retention dates and who may act stay
here.
"""

import hashlib
import hmac
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from app.audit.schemas import AuditEntryOut
from app.concerns.schemas import ConcernOut
from app.core.audit import Touched, record_access
from app.core.clock import today_london, utcnow
from app.core.config import Settings
from app.core.db import DbSession
from app.core.errors import NotFound, StaleVersion
from app.core.http import check_if_match
from app.core.scope import get_pupil_in_scope
from app.core.security import Principal, Role
from app.cycles.schemas import DeliveryLogOut, cycle_out
from app.data_protection import repository
from app.data_protection.schemas import (
    ExportCycle,
    ExportSchool,
    LegalHoldOut,
    PupilExport,
    RetentionInfo,
)
from app.ehc_requests.service import request_out
from app.events.schemas import EventOut
from app.funding.schemas import claim_out
from app.models import LegalHold, Pupil
from app.models.enums import AuditAction
from app.pupils.schemas import PupilOut
from app.pupils.service import touched
from app.specialists.schemas import SpecialistInvolvementOut
from app.support_plans.schemas import SupportPlanOut

# The school is the controller and answers subject-access requests (a parent's on the child's
# behalf included); a platform admin acts for it. Nobody else reads a whole record at once.
EXPORT_READERS = (Role.SENCO, Role.PLATFORM_ADMIN)
HOLD_KEEPERS = (Role.SENCO, Role.PLATFORM_ADMIN)

# Every table that refers to a pupil -> the section of PupilExport that shows its rows.
EXPORT_SECTIONS: dict[str, str] = {
    "pupils": "pupil",
    "legal_holds": "legal_hold",
    "concerns": "concerns",
    "support_plans": "support_plans",
    "cycles": "cycles",
    "delivery_logs": "delivery_logs",
    "specialist_involvements": "specialist_involvements",
    "ehc_requests": "ehc_requests",
    "funding_claims": "funding_claims",
    "events": "events",
    "audit_entries": "audit_entries",
}
NOT_EXPORTED: dict[str, str] = {
    "retention_purges": "written only when the pupil's records, the pupil row included, have "
    "been deleted: no export of that pupil can follow",
}
# Columns an export section shows under another name, or that repeat a value shown elsewhere.
COLUMNS_SHOWN_ELSEWHERE: dict[tuple[str, str], str] = {
    ("cycles", "school_id"): "pupil.school_id",
    ("cycles", "review_date"): "cycles[].plan.review_date (a copy kept for indexing)",
    ("cycles", "review_held_on"): "cycles[].review.held_on (a copy kept for indexing)",
    ("audit_entries", "actor_sub"): "audit_entries[].actor.sub",
    ("audit_entries", "actor_role"): "audit_entries[].actor.role",
    ("audit_entries", "school_id"): "pupil.school_id",
}

# Deleted by the purge, in this order (children before parents), each row counted.
PURGED_TABLES = (
    "delivery_logs",
    "cycles",
    "support_plans",
    "concerns",
    "specialist_involvements",
    "ehc_requests",
    "funding_claims",
    "events",
    "pupils",
)
KEPT_BY_PURGE: dict[str, str] = {
    "audit_entries": "the audit trail outlives the records it describes (append-only, no FKs)",
    "retention_purges": "the record of what the purge removed",
    "legal_holds": "a pupil under a legal hold is not purged, so has none of its rows removed",
}


# --- Retention dates ------------------------------------------------------------------------


def due_for_deletion_on(date_of_birth: date, retention_years: int) -> date:
    """Date of birth + `retention_years`; a 29 February birthday falls due on 1 March in a
    year without one (later rather than earlier)."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + retention_years)
    except ValueError:
        return date(date_of_birth.year + retention_years, 3, 1)


def latest_birth_date_due(today: date, retention_years: int) -> date:
    """The latest date of birth whose records are due on `today`: a pupil is due exactly when
    `date_of_birth <= latest_birth_date_due(today, years)`, the condition the purge indexes."""
    try:
        return today.replace(year=today.year - retention_years)
    except ValueError:  # today is 29 February, that year has none
        return date(today.year - retention_years, 2, 28)


def upn_hash(key: bytes, upn: str) -> str:
    """HMAC-SHA256 of the UPN. Keyed, because the UPNs one school hands out in a year differ
    only in a three-digit serial: an unkeyed hash would be reversed by trying them all."""
    return hmac.new(key, upn.encode(), hashlib.sha256).hexdigest()


def retention_hash_key(settings: Settings) -> bytes | None:
    """SEN_RETENTION_HASH_KEY, else SEN_JWT_SECRET; None when neither is set (or is empty)."""
    for secret in (settings.retention_hash_key, settings.jwt_secret):
        if secret is not None and secret.get_secret_value():
            return secret.get_secret_value().encode()
    return None


# --- The subject-access export ---------------------------------------------------------------


async def export_pupil(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, retention_years: int
) -> PupilExport:
    """Everything held about the pupil, in a fixed number of queries whatever its history.
    Audited as an `export` before the trail is read, so the export lists itself."""
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*EXPORT_READERS)
    await record_access(session, principal, AuditAction.EXPORT, "pupil_export", [touched(pupil)])
    today = today_london()
    records = await repository.load_pupil_records(session, pupil)
    hold = records.legal_hold
    return PupilExport(
        generated_at=utcnow(),
        pupil=PupilOut.model_validate(pupil),
        school=ExportSchool.model_validate(records.school),
        retention=RetentionInfo(
            retention_years=retention_years,
            due_for_deletion_on=due_for_deletion_on(pupil.date_of_birth, retention_years),
            legal_hold=hold is not None,
        ),
        legal_hold=None if hold is None else LegalHoldOut.model_validate(hold),
        concerns=[ConcernOut.model_validate(c) for c in records.concerns],
        support_plans=[SupportPlanOut.model_validate(p) for p in records.support_plans],
        cycles=[
            ExportCycle(**dict(cycle_out(c, today)), completed_at=c.completed_at)
            for c in records.cycles
        ],
        delivery_logs=[
            DeliveryLogOut.model_validate(log, from_attributes=True)
            for log in records.delivery_logs
        ],
        specialist_involvements=[
            SpecialistInvolvementOut.of(i, today) for i in records.specialist_involvements
        ],
        ehc_requests=[request_out(r, today) for r in records.ehc_requests],
        funding_claims=[claim_out(c) for c in records.funding_claims],
        events=[EventOut.model_validate(e) for e in records.events],
        audit_entries=[AuditEntryOut.of(e) for e in records.audit_entries],
    )


# --- Legal holds ----------------------------------------------------------------------------


def _hold_touched(pupil: Pupil) -> Touched:
    return Touched(resource_id=pupil.id, pupil_id=pupil.id, school_id=pupil.school_id)


async def read_legal_hold(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID
) -> LegalHold:
    pupil = await get_pupil_in_scope(session, principal, pupil_id)
    principal.require(*HOLD_KEEPERS)
    hold = await repository.get_legal_hold(session, pupil.id)
    if hold is None:
        raise NotFound("This pupil's records are under no legal hold")
    await record_access(session, principal, AuditAction.READ, "legal_hold", [_hold_touched(pupil)])
    return hold


async def set_legal_hold(
    session: DbSession,
    principal: Principal,
    pupil_id: uuid.UUID,
    reason: str,
    if_match: str | None,
) -> LegalHold:
    """Create or replace the hold. The pupil row is locked first: the purge locks it too, so a
    hold and a purge of the same pupil never interleave."""
    pupil = await get_pupil_in_scope(session, principal, pupil_id, for_update=True)
    principal.require(*HOLD_KEEPERS)
    hold = await repository.get_legal_hold(session, pupil.id)
    now = utcnow()
    if hold is None:
        if if_match is not None:
            raise StaleVersion("There is no legal hold on this pupil yet")
        hold = LegalHold(pupil_id=pupil.id, reason=reason, set_by=principal.sub, set_at=now)
        await repository.insert_legal_hold(session, hold)
        action = AuditAction.CREATE
    else:
        check_if_match(if_match, hold.version)
        hold.reason, hold.set_by, hold.set_at = reason, principal.sub, now
        await repository.update_legal_hold(session, hold)
        action = AuditAction.UPDATE
    await record_access(session, principal, action, "legal_hold", [_hold_touched(pupil)])
    return hold


async def lift_legal_hold(
    session: DbSession, principal: Principal, pupil_id: uuid.UUID, if_match: str | None
) -> None:
    pupil = await get_pupil_in_scope(session, principal, pupil_id, for_update=True)
    principal.require(*HOLD_KEEPERS)
    hold = await repository.get_legal_hold(session, pupil.id)
    if hold is None:
        raise NotFound("This pupil's records are under no legal hold")
    check_if_match(if_match, hold.version)
    await repository.delete_legal_hold(session, hold)
    # The audit actions have no "delete": lifting a hold changes the pupil's record.
    await record_access(
        session, principal, AuditAction.UPDATE, "legal_hold", [_hold_touched(pupil)]
    )


# --- The retention purge --------------------------------------------------------------------


@dataclass(frozen=True)
class PurgedPupil:
    pupil_id: uuid.UUID
    school_id: uuid.UUID
    counts: dict[str, int]


@dataclass(frozen=True)
class PurgeReport:
    as_of: date
    retention_years: int
    born_on_or_before: date
    dry_run: bool
    purged: list[PurgedPupil] = field(default_factory=list)
    held: list[uuid.UUID] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for pupil in self.purged:
            total.update(pupil.counts)
        return {table: total[table] for table in PURGED_TABLES}


async def purge_expired_records(
    session: DbSession,
    *,
    today: date,
    retention_years: int,
    purged_by: str,
    hash_key: bytes | None,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete the records of every pupil whose date of birth + `retention_years` has come,
    unless a legal hold stands, and record each pupil's purge in `retention_purges`.

    The pupil row goes too: its general record's own period (DOB + 25) has ended by then, and
    the school's MIS holds that record. Audit entries stay. A dry run does the same work in a
    savepoint and rolls it back, so its counts are exactly what a real run would remove.
    Runs in the caller's transaction; the caller commits.
    """
    if hash_key is None and not dry_run:
        raise ValueError("a key for the UPN hash is needed (SEN_RETENTION_HASH_KEY)")
    cutoff = latest_birth_date_due(today, retention_years)
    report = PurgeReport(
        as_of=today, retention_years=retention_years, born_on_or_before=cutoff, dry_run=dry_run
    )
    # Locked, so no hold can be set on these pupils (set_legal_hold locks them too) and no
    # record added to them until this transaction ends.
    due = await repository.lock_pupils_born_on_or_before(session, cutoff)
    if not due:
        return report
    held = await repository.held_pupil_ids(session, [pupil.id for pupil in due])
    report.held.extend(pupil.id for pupil in due if pupil.id in held)
    targets = [pupil for pupil in due if pupil.id not in held]
    if not targets:
        return report
    savepoint = await session.begin_nested()
    deleted = await repository.delete_pupils_records(
        session, PURGED_TABLES, [pupil.id for pupil in targets]
    )
    for pupil in targets:
        counts = {table: deleted[table][str(pupil.id)] for table in PURGED_TABLES}
        report.purged.append(
            PurgedPupil(pupil_id=pupil.id, school_id=pupil.school_id, counts=counts)
        )
    if dry_run:
        await savepoint.rollback()
        return report
    assert hash_key is not None
    upns = {pupil.id: pupil.upn for pupil in targets}
    await repository.insert_retention_purges(
        session,
        (
            {
                "id": uuid.uuid4(),
                "pupil_id": purged.pupil_id,
                "school_id": purged.school_id,
                "upn_hash": upn_hash(hash_key, upns[purged.pupil_id]),
                "counts": purged.counts,
                "retention_years": retention_years,
                "as_of": today,
                "purged_by": purged_by,
            }
            for purged in report.purged
        ),
    )
    await savepoint.commit()
    return report
