import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import LaCode, ShortText, StrictModel
from app.models.api_client import ApiClient, ApiClientRole


class ApiClientCreate(StrictModel):
    name: ShortText
    role: ApiClientRole
    school_id: uuid.UUID | None = Field(
        default=None, description="Required for mis_integration, senco and teacher; else absent"
    )
    la_code: LaCode | None = Field(default=None, description="Required for la_officer; else absent")


class ApiClientOut(BaseModel):
    client_id: uuid.UUID = Field(description="The client's id: its OAuth client_id and `sub`")
    name: str
    role: ApiClientRole
    school_id: uuid.UUID | None
    la_code: str | None
    active: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, client: ApiClient) -> "ApiClientOut":
        return cls(
            client_id=client.id,
            name=client.name,
            role=ApiClientRole(client.role),
            school_id=client.school_id,
            la_code=client.la_code,
            active=client.active,
            created_at=client.created_at,
            revoked_at=client.revoked_at,
        )


class ApiClientCreated(ApiClientOut):
    client_secret: str = Field(description="Shown only in this answer: store it now")

    @classmethod
    def with_secret(cls, client: ApiClient, secret: str) -> "ApiClientCreated":
        return cls(**ApiClientOut.of(client).model_dump(), client_secret=secret)


class TokenRequest(BaseModel):
    """The token request body (RFC 6749 §4.4), documented only: the route reads the form
    itself so that every malformed request answers an RFC 6749 error, not problem+json."""

    grant_type: Literal["client_credentials"]
    client_id: str | None = Field(default=None, description="Unless sent by HTTP Basic")
    client_secret: str | None = Field(default=None, description="Unless sent by HTTP Basic")
    scope: str | None = Field(
        default=None, description="Ignored: a token's scope is the client's registered scope"
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires (at most 3600)")


OAuthErrorCode = Literal["invalid_request", "invalid_client", "unsupported_grant_type", "slow_down"]


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error body: the one answer in this API that is not problem+json."""

    error: OAuthErrorCode
    error_description: str
