"""Bearer tokens, the caller (principal), roles and scope (SPEC.md §4)."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from app.core.clock import utcnow
from app.core.config import Settings
from app.core.errors import Forbidden, Unauthorized

HS256 = "HS256"
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    SENCO = "senco"
    TEACHER = "teacher"
    MIS_INTEGRATION = "mis_integration"
    LA_OFFICER = "la_officer"
    PARENT = "parent"


SCHOOL_ROLES = frozenset({Role.SENCO, Role.TEACHER, Role.MIS_INTEGRATION})


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    school_id: uuid.UUID | None = None
    la_code: str | None = None
    pupil_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @property
    def is_school_staff(self) -> bool:
        return self.role in SCHOOL_ROLES

    def require(self, *roles: Role) -> None:
        """Refuse with 403 unless the caller has one of `roles` (call after the scope check)."""
        if self.role not in roles:
            raise Forbidden(f"The role {self.role.value} may not do this")


def mint_token(
    settings: Settings,
    *,
    sub: str,
    role: Role,
    school_id: uuid.UUID | None = None,
    la_code: str | None = None,
    pupil_ids: list[uuid.UUID] | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    if settings.jwt_secret is None:
        raise RuntimeError("SEN_JWT_SECRET is not set: cannot mint tokens")
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role.value,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if school_id is not None:
        claims["school_id"] = str(school_id)
    if la_code is not None:
        claims["la_code"] = la_code
    if pupil_ids is not None:
        claims["pupil_ids"] = [str(p) for p in pupil_ids]
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=HS256)


def _uuid_claim(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise Unauthorized("Token scope is malformed")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unauthorized("Token scope is malformed") from None


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized("Token has no subject")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("Token has an unknown role") from None
    school_id: uuid.UUID | None = None
    la_code: str | None = None
    pupil_ids: frozenset[uuid.UUID] = frozenset()
    # A token without the scope its role needs is refused outright rather than read as "no scope".
    if role in SCHOOL_ROLES:
        school_id = _uuid_claim(claims.get("school_id"))
    elif role is Role.LA_OFFICER:
        la_code = claims.get("la_code")
        if not isinstance(la_code, str) or len(la_code) != 3 or not la_code.isdigit():
            raise Unauthorized("Token scope is malformed")
    elif role is Role.PARENT:
        raw = claims.get("pupil_ids")
        if not isinstance(raw, list):
            raise Unauthorized("Token scope is malformed")
        pupil_ids = frozenset(_uuid_claim(p) for p in raw)
    return Principal(sub=sub, role=role, school_id=school_id, la_code=la_code, pupil_ids=pupil_ids)


def decode_token(settings: Settings, token: str) -> Principal:
    if settings.jwt_secret is None:
        raise Unauthorized("This deployment accepts no locally signed tokens")
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            # Pinned: a token naming another algorithm (or "none") is refused.
            algorithms=[HS256],
            audience=settings.jwt_audience,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("The token is for another audience") from None
    except jwt.PyJWTError:
        raise Unauthorized("The token is invalid") from None
    return principal_from_claims(claims)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("A bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return token.strip()


async def current_principal(request: Request) -> Principal:
    settings: Settings = request.app.state.settings
    principal = decode_token(settings, bearer_token(request))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
