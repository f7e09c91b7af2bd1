"""Nothing about a pupil can be forgotten: every table that refers to pupils, found in the
SQLAlchemy metadata, is exported (every column of it) and purged, or has a written reason why
not. A table or column added later fails here until someone decides."""

import types
import typing
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Column, ForeignKey, MetaData, Table, Text, Uuid

from app.data_protection.schemas import PupilExport
from app.data_protection.service import (
    COLUMNS_SHOWN_ELSEWHERE,
    EXPORT_SECTIONS,
    KEPT_BY_PURGE,
    NOT_EXPORTED,
    PURGED_TABLES,
)
from app.models import Base
from tests.data_protection.helpers import pupil_tables


def section_model(section: str) -> type[BaseModel]:
    """The item model of an export section: `list[X]`, `X | None` or `X`."""
    annotation: Any = PupilExport.model_fields[section].annotation
    while typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel), section
    return annotation


def export_gaps(metadata: MetaData) -> list[str]:
    gaps = []
    for name, table in pupil_tables(metadata).items():
        if name in NOT_EXPORTED:
            continue
        section = EXPORT_SECTIONS.get(name)
        if section is None:
            gaps.append(f"table {name} is in no export section")
            continue
        if section not in PupilExport.model_fields:
            gaps.append(f"table {name}: PupilExport has no section {section}")
            continue
        shown = set(section_model(section).model_fields)
        gaps += [
            f"column {name}.{column.name} is not in the export"
            for column in table.columns
            if column.name not in shown and (name, column.name) not in COLUMNS_SHOWN_ELSEWHERE
        ]
    return gaps


def purge_gaps(metadata: MetaData) -> list[str]:
    return [
        f"table {name} is neither purged nor kept for a reason"
        for name in pupil_tables(metadata)
        if name not in PURGED_TABLES and name not in KEPT_BY_PURGE
    ]


def test_the_metadata_search_finds_the_pupil_tables():
    found = set(pupil_tables())
    # Directly by pupil_id (with or without a foreign key), and through a cycle.
    assert {
        "pupils",
        "concerns",
        "support_plans",
        "cycles",
        "delivery_logs",
        "specialist_involvements",
        "ehc_requests",
        "funding_claims",
        "events",
        "audit_entries",
        "legal_holds",
        "retention_purges",
    } <= found
    assert not {"schools", "funding_thresholds", "api_clients", "idempotency_keys"} & found


def test_every_pupil_table_and_column_is_in_the_export():
    assert export_gaps(Base.metadata) == []


def test_every_pupil_table_is_purged_or_kept_for_a_reason():
    assert purge_gaps(Base.metadata) == []


def test_the_lists_name_only_pupil_tables_and_no_table_twice():
    tables = set(pupil_tables())
    assert set(EXPORT_SECTIONS) | set(NOT_EXPORTED) <= tables
    assert not set(EXPORT_SECTIONS) & set(NOT_EXPORTED)
    assert set(PURGED_TABLES) | set(KEPT_BY_PURGE) <= tables
    assert not set(PURGED_TABLES) & set(KEPT_BY_PURGE)
    assert {table for table, _ in COLUMNS_SHOWN_ELSEWHERE} <= set(EXPORT_SECTIONS)
    for table, column in COLUMNS_SHOWN_ELSEWHERE:
        assert column in Base.metadata.tables[table].c, (table, column)


def test_the_purge_deletes_children_before_their_parents():
    order = {name: index for index, name in enumerate(PURGED_TABLES)}
    for name in PURGED_TABLES:
        for fk in Base.metadata.tables[name].foreign_keys:
            parent = fk.column.table.name
            if parent in order:
                assert order[name] < order[parent], f"{name} must go before {parent}"


def test_a_new_table_or_column_about_pupils_is_caught():
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table(
        "pupil_notes",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("about", Uuid, ForeignKey("pupils.id")),
    )
    Table(
        "note_attachments",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("note_id", Uuid, ForeignKey("pupil_notes.id")),
    )
    metadata.tables["concerns"].append_column(Column("nickname", Text))
    assert sorted(export_gaps(metadata)) == [
        "column concerns.nickname is not in the export",
        "table note_attachments is in no export section",
        "table pupil_notes is in no export section",
    ]
    assert sorted(purge_gaps(metadata)) == [
        "table note_attachments is neither purged nor kept for a reason",
        "table pupil_notes is neither purged nor kept for a reason",
    ]
