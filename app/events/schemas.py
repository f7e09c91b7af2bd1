import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from app.models.enums import EventType


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Opaque and ordered; pass the last one seen as `after`")
    type: EventType
    resource: str
    resource_id: uuid.UUID
    pupil_id: uuid.UUID | None
    school_id: uuid.UUID | None
    la_code: str | None
    occurred_at: datetime
    data: dict[str, Any]

    @field_serializer("seq")
    def _seq_as_text(self, seq: int) -> str:
        return str(seq)


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="The last item's seq; null on an empty page (poll again with the same after)"
    )
