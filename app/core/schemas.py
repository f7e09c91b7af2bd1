"""Shared Pydantic building blocks for request and response bodies."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from app.core.clock import today_london
from app.core.errors import FieldError, ValidationFailed


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo or a server-owned field never
    passes silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def refuse_nulls(self, *fields: str) -> None:
        """Refuse an explicit null for fields a PATCH may leave out but may not clear."""
        errors = [
            FieldError(field=name, message="May not be null")
            for name in fields
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if errors:
            raise ValidationFailed(errors)


class ResourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def _not_future(value: date) -> date:
    if value > today_london():
        raise ValueError("Cannot be in the future")
    return value


PastDate = Annotated[date, AfterValidator(_not_future)]
"""A date something happened on: today (Europe/London) or earlier."""

LaCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


def changed_fields(model: StrictModel) -> dict[str, Any]:
    """The fields a client actually sent, as plain values."""
    return model.model_dump(include=model.model_fields_set, mode="python")
