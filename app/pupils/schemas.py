import uuid
from datetime import date
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    model_validator,
)

from app.core.clock import today_london
from app.core.schemas import LaCode, ResourceOut, StrictModel
from app.models.enums import BatchItemStatus, SenStatus, SenType, YearGroup
from app.pupils.upn import upn_problem

MAX_CONTACTS = 20
# Nobody on a school roll is older than this; an earlier date is a keying error.
EARLIEST_DATE_OF_BIRTH = date(1990, 1, 1)


def _valid_upn(value: str) -> str:
    upn = value.upper()
    problem = upn_problem(upn)
    if problem:
        raise ValueError(problem)
    return upn


def _valid_date_of_birth(value: date) -> date:
    if value > today_london():
        raise ValueError("A date of birth cannot be in the future")
    if value < EARLIEST_DATE_OF_BIRTH:
        raise ValueError(f"A date of birth before {EARLIEST_DATE_OF_BIRTH} is not plausible")
    return value


Upn = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_valid_upn)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
DateOfBirth = Annotated[date, AfterValidator(_valid_date_of_birth)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(min_length=3, max_length=30, pattern=r"^[0-9+() .-]+$")]


class ContactIn(StrictModel):
    id: uuid.UUID | None = Field(
        default=None, description="Keep the id of an existing contact; omit for a new one"
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    relationship: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    has_parental_responsibility: bool = False
    email: Email | None = None
    phone: Phone | None = None


class ContactOut(BaseModel):
    id: uuid.UUID
    name: str
    relationship: str
    has_parental_responsibility: bool
    email: str | None
    phone: str | None


def needs_problem(primary: str | None, secondary: str | None) -> str | None:
    """Needs are ranked: a secondary need only beside a different primary need."""
    if secondary is not None and primary is None:
        return "secondary_need needs a primary_need"
    if secondary is not None and secondary == primary:
        return "secondary_need must differ from primary_need"
    return None


class PupilFields(StrictModel):
    """Every client-writable pupil field, all optional: PATCH and batch items send a subset."""

    upn: Upn | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    date_of_birth: DateOfBirth | None = None
    year_group: YearGroup | None = None
    home_la_code: LaCode | None = Field(
        default=None, description="The LA where the pupil lives; defaults to the school's LA"
    )
    pupil_premium: bool | None = None
    primary_need: SenType | None = None
    secondary_need: SenType | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=MAX_CONTACTS)
    left_on: date | None = None


REQUIRED_ON_CREATE = ("upn", "first_name", "last_name", "date_of_birth", "year_group")
NOT_NULLABLE = (*REQUIRED_ON_CREATE, "home_la_code", "pupil_premium", "contacts")


class PupilCreate(StrictModel):
    upn: Upn
    first_name: PersonName
    last_name: PersonName
    date_of_birth: DateOfBirth
    year_group: YearGroup
    home_la_code: LaCode | None = Field(
        default=None, description="The LA where the pupil lives; defaults to the school's LA"
    )
    pupil_premium: bool = False
    primary_need: SenType | None = None
    secondary_need: SenType | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)
    left_on: date | None = None

    @model_validator(mode="after")
    def _needs_ranked(self) -> Self:
        problem = needs_problem(self.primary_need, self.secondary_need)
        if problem:
            raise ValueError(problem)
        return self


class PupilUpdate(PupilFields):
    pass


class PupilOut(ResourceOut):
    school_id: uuid.UUID
    upn: str
    first_name: str
    last_name: str
    date_of_birth: date
    year_group: YearGroup
    home_la_code: str
    pupil_premium: bool
    primary_need: SenType | None
    secondary_need: SenType | None
    contacts: list[ContactOut]
    left_on: date | None
    sen_status: SenStatus = Field(description="Derived by the service: N, K or E; read-only")


def _without_defaults(schema: dict[str, Any]) -> None:
    for name, field in schema["properties"].items():
        field.pop("default", None)
        if name in NOT_NULLABLE:
            # null is refused for these (the service's `refuse_nulls`): published as not
            # nullable, so that a generated client's "unset" is an absent field.
            variants = field.pop("anyOf")
            field.update(next(v for v in variants if v.get("type") != "null"))
    # Items are matched by UPN: one without is reported as an error.
    schema["required"] = ["upn"]


class PupilBatchItem(PupilFields):
    """One pupil of a batch, matched by UPN: the fields sent are set, a field left out is left
    unchanged (so no field has a default); a new pupil needs every field PupilCreate needs."""

    model_config = ConfigDict(json_schema_extra=_without_defaults)


def _as_sent(item: Any) -> Any:
    return item


# Each item reaches the service as sent and is validated there on its own (as PupilFields,
# whose checks PupilBatchItem shares): a bad item is reported in its result and never refuses
# the batch, which validating the list here would do. The contract describes an item in full.
RawBatchItem = Annotated[Any, PlainValidator(_as_sent, json_schema_input_type=PupilBatchItem)]


class PupilBatch(BaseModel):
    items: list[RawBatchItem] = Field(description="Up to 1,000 pupils, upserted by UPN")


class BatchItemError(BaseModel):
    field: str
    message: str


class BatchItemResult(BaseModel):
    index: int
    upn: str | None
    status: BatchItemStatus
    id: uuid.UUID | None
    errors: list[BatchItemError]


class PupilBatchResult(BaseModel):
    results: list[BatchItemResult]
