"""Factories: each test builds the data it needs through the API, nothing is shared."""

import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.config import Settings
from app.core.security import Role, mint_token
from app.pupils.upn import upn_check_letter

_random = random.Random()


def make_upn(la: str = "801", temporary: bool = False) -> str:
    serial = f"{_random.randrange(100):02d}" + (
        _random.choice("ABCDEFGHJKLMNPQRTUVWXYZ") if temporary else str(_random.randrange(10))
    )
    tail = f"{la}{_random.randrange(10_000):04d}{_random.randrange(100):02d}{serial}"
    return upn_check_letter(tail) + tail


def make_urn() -> str:
    return f"{_random.randrange(100_000, 1_000_000)}"


def school_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "urn": make_urn(),
        "name": "Hillside Primary School",
        "la_code": "801",
        "establishment_type": "maintained",
    }
    body.update(overrides)
    return body


def pupil_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "upn": make_upn(),
        "first_name": "Amara",
        "last_name": f"Okafor-{_random.randrange(10_000)}",
        "date_of_birth": "2016-03-14",
        "year_group": "5",
        "home_la_code": "801",
        "pupil_premium": False,
        "primary_need": None,
        "secondary_need": None,
        "contacts": [],
    }
    body.update(overrides)
    return body


@dataclass
class Api:
    """A thin client that mints tokens for any role and builds resources through the API."""

    http: httpx.AsyncClient
    settings: Settings
    last_sub: str = ""

    def token(self, role: Role | str, **scope: Any) -> str:
        role = Role(role)
        self.last_sub = f"{role.value}-{uuid.uuid4().hex[:6]}"
        return mint_token(self.settings, sub=self.last_sub, role=role, **scope)

    def headers(self, role: Role | str, **scope: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **scope)}"}

    def admin(self) -> dict[str, str]:
        return self.headers(Role.PLATFORM_ADMIN)

    def staff(self, role: Role | str, school: dict[str, Any]) -> dict[str, str]:
        return self.headers(role, school_id=uuid.UUID(school["id"]))

    def senco(self, school: dict[str, Any]) -> dict[str, str]:
        return self.staff(Role.SENCO, school)

    def parent(self, *pupils: dict[str, Any]) -> dict[str, str]:
        return self.headers(Role.PARENT, pupil_ids=[uuid.UUID(p["id"]) for p in pupils])

    async def create_school(self, **overrides: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/schools", json=school_body(**overrides), headers=self.admin()
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def create_pupil(self, school: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/schools/{school['id']}/pupils",
            json=pupil_body(**overrides),
            headers=self.senco(school),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())
