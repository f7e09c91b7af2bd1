"""The OpenAPI document the app publishes, built once without a database."""

from typing import Any

from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://unused/unused", jwt_secret=SecretStr("x")
    )
    return create_app(settings).openapi()


DOCUMENT = _document()
# "METHOD /path" of every operation under /v1, sorted.
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in DOCUMENT["paths"].items()
    if path.startswith("/v1/")
    for method in item
    if method in HTTP_METHODS
)


def operation(key: str) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    found: dict[str, Any] = DOCUMENT["paths"][path][method.lower()]
    return found


def declared_statuses(key: str) -> set[int]:
    return {int(code) for code in operation(key)["responses"] if code.isdigit()}
