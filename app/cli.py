"""`sen-api`: serve, migrate, mint development tokens and write the OpenAPI document."""

import argparse
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from app.core.config import Settings, get_settings
from app.core.security import Role, mint_token

DEV_SECRET_FILE = "dev-jwt-secret"


def _dev_secret(settings: Settings) -> str:
    """A development signing secret kept in the data folder, so tokens survive restarts."""
    path = settings.data_dir / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    if settings.jwt_secret is None and settings.jwt_jwks_url is None:
        os.environ["SEN_JWT_SECRET"] = _dev_secret(settings)
        get_settings.cache_clear()
        settings = get_settings()
    embedded = None
    if settings.database_url is None:
        from app.devserver import start_embedded_database

        print("DATABASE_URL is unset: starting the embedded PostgreSQL server ...", flush=True)
        embedded, os.environ["DATABASE_URL"] = start_embedded_database(settings)
    else:
        from app.migrate import upgrade_to_head

        upgrade_to_head(settings.database_url)
    get_settings.cache_clear()
    settings = get_settings()

    base = f"http://{args.host}:{args.port}"
    print(f"\nSEN Support API on {base}\n  docs:    {base}/docs\n  openapi: {base}/openapi.json")
    if settings.jwt_secret is not None:
        token = mint_token(
            settings,
            sub="dev-admin",
            role=Role.PLATFORM_ADMIN,
            lifetime=timedelta(hours=12),
        )
        print(f"  a platform_admin token (12 h) for your first call:\n\n{token}\n")
        print(f'  curl -H "Authorization: Bearer $TOKEN" {base}/v1/schools\n', flush=True)
    try:
        uvicorn.run(
            "app.main:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            log_level="info",
            timeout_graceful_shutdown=20,
        )
    finally:
        if embedded is not None:
            # Nothing is left running; the data stays in the data folder for the next start.
            embedded.stop()
    return 0


def migrate(_: argparse.Namespace) -> int:
    from app.migrate import upgrade_to_head

    settings = get_settings()
    if settings.database_url is None:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    upgrade_to_head(settings.database_url)
    return 0


def token(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.jwt_secret is None:
        print("SEN_JWT_SECRET is not set", file=sys.stderr)
        return 2
    role = Role(args.role)
    print(
        mint_token(
            settings,
            sub=args.sub,
            role=role,
            school_id=args.school_id,
            la_code=args.la_code,
            pupil_ids=args.pupil_id if role is Role.PARENT else None,
            lifetime=timedelta(minutes=args.minutes),
        )
    )
    return 0


def write_openapi(args: argparse.Namespace) -> int:
    from app.openapi_doc import render_openapi

    Path(args.output).write_text(render_openapi())
    print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sen-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="migrate and serve (embedded DB if no URL)")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    serve_cmd.set_defaults(handler=serve)

    migrate_cmd = commands.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")
    migrate_cmd.set_defaults(handler=migrate)

    token_cmd = commands.add_parser("token", help="mint a token signed with SEN_JWT_SECRET")
    token_cmd.add_argument("--role", required=True, choices=[r.value for r in Role])
    token_cmd.add_argument("--sub", default="dev-user")
    token_cmd.add_argument("--school-id", type=uuid.UUID)
    token_cmd.add_argument("--la-code")
    token_cmd.add_argument("--pupil-id", type=uuid.UUID, action="append", default=[])
    token_cmd.add_argument("--minutes", type=int, default=60)
    token_cmd.set_defaults(handler=token)

    openapi_cmd = commands.add_parser("openapi", help="write the OpenAPI document as YAML")
    openapi_cmd.add_argument("--output", default="openapi/openapi.yaml")
    openapi_cmd.set_defaults(handler=write_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
