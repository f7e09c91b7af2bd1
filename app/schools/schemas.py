from typing import Annotated

from pydantic import StringConstraints

from app.core.schemas import LaCode, ResourceOut, ShortText, StrictModel
from app.models.enums import EstablishmentType

Urn = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class SchoolCreate(StrictModel):
    urn: Urn
    name: ShortText
    la_code: LaCode
    establishment_type: EstablishmentType


class SchoolUpdate(StrictModel):
    urn: Urn | None = None
    name: ShortText | None = None
    la_code: LaCode | None = None
    establishment_type: EstablishmentType | None = None


class SchoolOut(ResourceOut):
    urn: str
    name: str
    la_code: str
    establishment_type: EstablishmentType
