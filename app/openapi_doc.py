"""The committed contract: openapi/openapi.yaml is this function's output, checked by a test."""

import yaml
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app


def render_openapi() -> str:
    # The document does not depend on settings; these only let the app be built offline.
    settings = Settings(
        database_url="postgresql+asyncpg://unused/unused", jwt_secret=SecretStr("x")
    )
    schema = create_app(settings).openapi()
    return yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=100)
