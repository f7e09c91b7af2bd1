"""GET and the list write pupils from database rows with orjson; the JSON is PupilOut's."""

import orjson
from sqlalchemy import select

from app.models import Pupil
from app.pupils.schemas import PupilOut


async def test_direct_json_is_pupil_out_json(api, app):
    school = await api.create_school()
    contacts = [
        {"name": "Zoë Ł. O'Brien 🙂", "relationship": "mother", "email": "z@example.org"},
        {"name": "Sam", "relationship": "carer", "has_parental_responsibility": True},
    ]
    plain = await api.create_pupil(school)
    full = await api.create_pupil(
        school,
        contacts=contacts,
        primary_need="SPLD",
        secondary_need="SLCN",
        pupil_premium=True,
        left_on="2026-07-20",
    )
    async with app.state.database.sessionmaker() as session:
        pupils = {p.id: p for p in await session.scalars(select(Pupil))}
    listed = await api.http.get(f"/v1/schools/{school['id']}/pupils", headers=api.senco(school))
    by_id = {item["id"]: item for item in listed.json()["items"]}
    for created in (plain, full):
        expected = orjson.loads(
            PupilOut.__pydantic_serializer__.to_json(
                PupilOut.model_validate(pupils[next(k for k in pupils if str(k) == created["id"])])
            )
        )
        read = await api.http.get(f"/v1/pupils/{created['id']}", headers=api.senco(school))
        assert read.headers["content-type"] == "application/json"
        assert read.json() == expected == by_id[created["id"]]
        assert read.headers["etag"] == f'"{expected["version"]}"'
        # Same fields in the same order as the model declares them.
        assert list(read.json()) == list(PupilOut.model_fields)
