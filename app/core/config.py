"""Settings: the one place that reads the environment."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "SEN_DATABASE_URL")
    )
    data_dir: Path = Field(default=Path(".data"), validation_alias="SEN_DATA_DIR")

    jwt_secret: SecretStr | None = Field(default=None, validation_alias="SEN_JWT_SECRET")
    jwt_audience: str = Field(default="sen-support-api", validation_alias="SEN_JWT_AUDIENCE")
    jwt_jwks_url: str | None = Field(default=None, validation_alias="SEN_JWT_JWKS_URL")
    # When set, every token's `iss` must equal it; tokens this service mints carry it (or
    # DEFAULT_ISSUER when unset).
    jwt_issuer: str | None = Field(default=None, validation_alias="SEN_JWT_ISSUER")
    # The longest a token may live (`exp - iat`), whoever signed it (SPEC.md §4).
    max_token_seconds: int = Field(default=3600, ge=60, validation_alias="SEN_MAX_TOKEN_SECONDS")

    db_pool_size: int = Field(default=10, ge=1, validation_alias="SEN_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=5, ge=0, validation_alias="SEN_DB_MAX_OVERFLOW")
    # asyncpg's own pool for single-statement reads (app/core/db.py `DirectStatement`), opened
    # on demand: a worker holds at most pool size + overflow + this many connections.
    db_direct_pool_size: int = Field(default=10, ge=1, validation_alias="SEN_DB_DIRECT_POOL_SIZE")
    # How long a request waits for a pooled connection before answering 503.
    db_pool_timeout_seconds: float = Field(
        default=2.0, gt=0, validation_alias="SEN_DB_POOL_TIMEOUT"
    )
    db_statement_timeout_ms: int = Field(
        default=15_000, ge=0, validation_alias="SEN_DB_STATEMENT_TIMEOUT_MS"
    )
    # A role the app's connections take at start (`SET ROLE` as a startup parameter), e.g. the
    # migrations' `sen_app`, when the login is a member of more than that role. Not a boundary
    # by itself: the session may `SET ROLE NONE` back to the login's rights (deploy/README.md).
    db_role: str | None = Field(default=None, validation_alias="SEN_DB_ROLE")

    # Bulk writes (the pupil batch) admitted at once per process; the rest queue, without a
    # database connection, for at most the timeout, then answer 503 with Retry-After.
    bulk_write_concurrency: int = Field(default=4, ge=1, validation_alias="SEN_BULK_WRITES")
    bulk_write_queue_seconds: float = Field(
        default=30.0, gt=0, validation_alias="SEN_BULK_WRITE_QUEUE_SECONDS"
    )

    # POST /v1/oauth/token attempts per client id and per remote address, per process: this
    # many a second on average, in bursts of at most `token_attempt_burst` (SPEC.md §4).
    token_attempts_per_second: float = Field(
        default=10.0, gt=0, validation_alias="SEN_TOKEN_ATTEMPTS_PER_SECOND"
    )
    token_attempt_burst: int = Field(default=20, ge=1, validation_alias="SEN_TOKEN_ATTEMPT_BURST")

    # PDFs rendered at once per process (after their request's transaction has ended), and
    # how long a render waits for its turn before answering 503 (SPEC.md §5).
    pdf_renders: int = Field(default=2, ge=1, validation_alias="SEN_PDF_RENDERS")
    render_wait_seconds: float = Field(
        default=10.0, gt=0, validation_alias="SEN_PDF_RENDER_WAIT_SECONDS"
    )

    max_body_bytes: int = Field(default=1024 * 1024, ge=1, validation_alias="SEN_MAX_BODY_BYTES")
    retry_after_seconds: int = Field(default=2, ge=1, validation_alias="SEN_RETRY_AFTER_SECONDS")

    # SEN records are due for deletion at date of birth + this many years (IRMS: 31).
    retention_years: int = Field(default=31, ge=1, le=100, validation_alias="SEN_RETENTION_YEARS")
    # Keys the UPN hash kept in `retention_purges` (falls back to SEN_JWT_SECRET). A UPN is
    # guessable within one school, so a plain hash of it would be as good as the UPN.
    retention_hash_key: SecretStr | None = Field(
        default=None, validation_alias="SEN_RETENTION_HASH_KEY"
    )

    # Slow and oversized requests (SPEC.md §5 "Limits"). Header fields over this many bytes in
    # all answer 431, complete ones from the app and incomplete ones from the server
    # (app/core/protocol.py), which is what bounds their memory.
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, validation_alias="SEN_MAX_HEADER_BYTES"
    )
    # A head not complete this long after its first byte (after the connection opened, for its
    # first request) is answered 408 and closed; so is a body not complete this long after its
    # head. Enforced by the server for heads, by the app (and the server, as a backstop) for
    # bodies.
    request_read_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="SEN_REQUEST_READ_TIMEOUT"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
