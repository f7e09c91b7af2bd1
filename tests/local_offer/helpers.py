"""Publishing Local Offer services and referring pupils to them, through the API."""

from datetime import timedelta
from typing import Any

from app.core.clock import today_london


def days_ago(days: int) -> str:
    return (today_london() - timedelta(days=days)).isoformat()


def offer_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Educational Psychology Service",
        "service": "educational_psychologist",
        "description": "Assessment and consultation for children with complex learning needs",
        "how_to_access": "The school's SENCO refers through the LA portal, with parental consent",
        "eligibility": "Pupils at SEN support whose progress is a concern after two cycles",
        "contact": "EPS duty line 01632 960123, eps@la.example",
        "target_days": 42,
    } | overrides


def officer(api: Any, la_code: str) -> dict[str, str]:
    return dict(api.headers("la_officer", la_code=la_code))


async def publish(api: Any, la_code: str = "801", **overrides: Any) -> dict[str, Any]:
    response = await api.http.post(
        "/v1/local-offer", json=offer_body(**overrides), headers=officer(api, la_code)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def refer(
    api: Any,
    school: dict[str, Any],
    pupil: dict[str, Any],
    *,
    service: str = "educational_psychologist",
    requested: int | None = 30,
    answered: int | None = None,
    local_offer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A referral made `requested` days ago, answered `answered` days ago (None: waiting)."""
    body: dict[str, Any] = {
        "service": service,
        "parents_involved_on": days_ago(400),
        "parental_consent": True,
        "requested_on": None if requested is None else days_ago(requested),
        "advice_received_on": None if answered is None else days_ago(answered),
    }
    if local_offer is not None:
        body["local_offer_service_id"] = local_offer["id"]
    response = await api.http.post(
        f"/v1/pupils/{pupil['id']}/specialist-involvements", json=body, headers=api.senco(school)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
