"""The feed's hand-built page is the JSON `EventPage` would write for the same rows."""

import orjson
from sqlalchemy import select

from app.events.schemas import EventOut, EventPage
from app.models.event import Event
from tests.cycles.helpers import Cycles


async def test_the_page_is_what_event_page_would_write(api, app):
    school = await api.create_school()
    pupil = await api.create_pupil(school)
    await api.http.patch(
        f"/v1/pupils/{pupil['id']}", json={"first_name": "Zoë 🙂"}, headers=api.senco(school)
    )
    await Cycles(api, school).open_plan(pupil)
    async with app.state.database.sessionmaker() as session:
        rows = (await session.scalars(select(Event).order_by(Event.seq))).all()
    expected = EventPage(
        items=[EventOut.model_validate(row) for row in rows],
        next_cursor=str(rows[-1].seq),
    )
    for role_headers in (api.admin(), api.senco(school), api.parent(pupil)):
        response = await api.http.get("/v1/events?limit=1000", headers=role_headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        got = orjson.loads(response.content)
        want = orjson.loads(EventPage.__pydantic_serializer__.to_json(expected))
        assert got == want
    # The MIS sees the pupil's own events only, not the plan's.
    mis = await api.http.get("/v1/events", headers=api.staff("mis_integration", school))
    assert {e["resource"] for e in mis.json()["items"]} == {"pupil"}
