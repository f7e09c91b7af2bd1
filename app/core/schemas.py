"""Shared Pydantic building blocks for request and response bodies."""

import re
import types
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo

from app.core.clock import today_london
from app.core.errors import FieldError, ValidationFailed

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def iso_date_text(value: Any) -> Any:
    """Dates come as `YYYY-MM-DD` text, as the contract says. Pydantic alone would also take a
    number (or numeric text) as a Unix time, so `"left_on": 0` would quietly mean 1970."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("A date is written YYYY-MM-DD")


def rfc3339_text(value: Any) -> Any:
    """Timestamps come as RFC 3339 text with an offset (`2026-01-31T09:00:00Z`)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise ValueError("A timestamp is written in RFC 3339 with an offset, e.g. 2026-01-31T09:00:00Z")


IsoDate = Annotated[date, BeforeValidator(iso_date_text)]
Rfc3339DateTime = Annotated[datetime, BeforeValidator(rfc3339_text)]


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: Any) -> Any:
    """PostgreSQL cannot store a NUL character, nor UTF-8 a lone surrogate (JSON can carry both
    as escapes): refused here as invalid input rather than failing in the database."""
    if isinstance(value, str) and _UNSTORABLE.search(value):
        raise ValueError("Must not contain NUL characters or unpaired surrogates")
    return value


SearchText = Annotated[str, BeforeValidator(storable_text)]
"""Free text from a query string that reaches SQL as a parameter."""


def json_boolean(value: Any) -> Any:
    """Only `true` and `false`: Pydantic alone would also take 0, 1, "yes" or "off"."""
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("Must be true or false")


def json_integer(value: Any) -> Any:
    """Only JSON numbers without a fraction: Pydantic alone would also take "5" or true."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return value
    raise ValueError("Must be a whole number")


def _json_type_check(annotation: Any) -> Any:
    """The check that holds a field to the JSON type its schema publishes, or None."""
    if get_origin(annotation) is Annotated:
        return _json_type_check(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        checks = {_json_type_check(arg) for arg in get_args(annotation) if arg is not type(None)}
        # A union of several kinds (none here) is left to Pydantic.
        return checks.pop() if len(checks) == 1 else None
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, bool):
        return json_boolean
    if issubclass(annotation, int):
        return json_integer
    if issubclass(annotation, datetime):
        return rfc3339_text
    if issubclass(annotation, date):
        return iso_date_text
    return None


def _text_constraints(annotation: Any, metadata: list[Any]) -> tuple[int | None, str | None]:
    """The maximum length and pattern a text field publishes, wherever they are declared."""
    items, types_left = list(metadata), [annotation]
    while types_left:
        kind = types_left.pop()
        if get_origin(kind) is Annotated:
            types_left.append(get_args(kind)[0])
            items.extend(get_args(kind)[1:])
        elif get_origin(kind) in (Union, types.UnionType):
            types_left.extend(get_args(kind))
    max_length: int | None = None
    pattern: str | None = None
    for item in items:
        if isinstance(item, FieldInfo):
            items.extend(item.metadata)
        max_length = getattr(item, "max_length", None) or max_length
        pattern = getattr(item, "pattern", None) or pattern
    return max_length, pattern


def _published_text(max_length: int | None, pattern: str | None) -> Any:
    """Surrounding whitespace is stripped before Pydantic's checks, which would let a value
    one space over the published maximum, or a pattern with a space around it, through: the
    text as sent is held to them first."""
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any) -> Any:
        value = storable_text(value)
        if isinstance(value, str) and value != value.strip():
            if max_length is not None and len(value) > max_length:
                raise ValueError(f"At most {max_length} characters")
            if compiled is not None and not compiled.search(value):
                raise ValueError(f"Must match {pattern}")
        return value

    return check


def _field_check(model: type[BaseModel], name: str) -> Any:
    field = model.model_fields.get(name)
    if field is None:
        return storable_text
    check = _json_type_check(field.annotation)
    if check is not None:
        return check
    max_length, pattern = _text_constraints(field.annotation, field.metadata)
    if max_length is None and pattern is None:
        return storable_text
    return _published_text(max_length, pattern)


_FIELD_CHECKS: dict[tuple[type, str], Any] = {}


STORED: dict[str, bool] = {"stored": True}
"""Validation context for records read back from our own database (stage records kept as
JSON): they met the request checks when written, so the checks of text as sent are skipped,
which were a third of the CPU of an evidence bundle."""


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo or a server-owned field never
    passes silently; booleans, whole numbers, dates and timestamps are accepted only in the
    JSON type and form the contract publishes (no numeric text, no Unix times), text is held
    to its published length and pattern as sent, and no text holds a NUL character."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_published(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context is STORED:
            return value
        key = (cls, info.field_name or "")
        if key not in _FIELD_CHECKS:
            _FIELD_CHECKS[key] = _field_check(cls, key[1])
        return _FIELD_CHECKS[key](value)

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
