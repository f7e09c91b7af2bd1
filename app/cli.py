"""`sen-api`: serve, migrate, mint development tokens, manage API clients and write the OpenAPI
document."""

import argparse
import asyncio
import getpass
import os
import secrets
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from app.clients import service
from app.clients.schemas import ApiClientCreate
from app.core.clock import today_london
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import ApiError
from app.core.idempotency import purge_expired
from app.core.security import Principal, Role, mint_token
from app.data_protection import service as data_protection
from app.data_protection.service import PurgeReport, retention_hash_key
from app.devserver import start_embedded_database
from app.migrate import upgrade_to_head
from app.models.api_client import ApiClientRole
from app.openapi_doc import render_openapi

DEV_SECRET_FILE = "dev-jwt-secret"
DEV_TOKEN_LIFETIME_SECONDS = 12 * 3600
# uvicorn's httptools protocol with limits on slow and oversized request heads.
HTTP_PROTOCOL = "app.core.protocol:BoundedHttpToolsProtocol"
# Whoever can run the CLI against DATABASE_URL already holds the keys to the database.
CLI_PRINCIPAL = Principal(sub="sen-api-cli", role=Role.PLATFORM_ADMIN)


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


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    # A development secret, and so a printed token, only when no signing was configured: a
    # deployment's own secret never leads to a token in its logs.
    development = settings.jwt_secret is None and settings.jwt_jwks_url is None
    if development:
        os.environ["SEN_JWT_SECRET"] = _dev_secret(settings)
        # The printed token lives 12 hours: the development server alone allows that.
        os.environ.setdefault("SEN_MAX_TOKEN_SECONDS", str(DEV_TOKEN_LIFETIME_SECONDS))
        get_settings.cache_clear()
        settings = get_settings()
    embedded = None
    if settings.database_url is None:
        print("DATABASE_URL is unset: starting the embedded PostgreSQL server ...", flush=True)
        embedded, os.environ["DATABASE_URL"] = start_embedded_database(settings)
    else:
        upgrade_to_head(settings.database_url)
    get_settings.cache_clear()
    settings = get_settings()

    base = f"http://{args.host}:{args.port}"
    print(f"\nSEN Support API on {base}\n  docs:    {base}/docs\n  openapi: {base}/openapi.json")
    if development:
        token = mint_token(
            settings,
            sub="dev-admin",
            role=Role.PLATFORM_ADMIN,
            lifetime=timedelta(seconds=DEV_TOKEN_LIFETIME_SECONDS),
        )
        print(f"  a platform_admin token (12 h) for your first call:\n\n{token}\n")
        print(f'  curl -H "Authorization: Bearer $TOKEN" {base}/v1/schools\n', flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # `finally` below stop the embedded server instead of leaving it running.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "app.main:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            http=HTTP_PROTOCOL,
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
    if args.minutes * 60 > settings.max_token_seconds:
        print(
            f"--minutes {args.minutes} exceeds SEN_MAX_TOKEN_SECONDS "
            f"({settings.max_token_seconds} s): the service would refuse the token",
            file=sys.stderr,
        )
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


async def _create_client(database_url: str, data: "ApiClientCreate") -> tuple[str, str]:

    database = Database(database_url, get_settings())
    try:
        async with database.sessionmaker() as session, session.begin():
            client, secret = await service.register_client(session, CLI_PRINCIPAL, data)
        return str(client.id), secret
    finally:
        await database.dispose()


async def _revoke_client(database_url: str, client_id: uuid.UUID) -> None:

    database = Database(database_url, get_settings())
    try:
        async with database.sessionmaker() as session, session.begin():
            await service.revoke_client(session, CLI_PRINCIPAL, client_id)
    finally:
        await database.dispose()


def clients_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    settings = get_settings()
    if settings.database_url is None:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        data = ApiClientCreate(
            name=args.name, role=args.role, school_id=args.school_id, la_code=args.la_code
        )
        client_id, secret = asyncio.run(_create_client(settings.database_url, data))
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            print(f"{field}: {problem['msg']}", file=sys.stderr)
        return 2
    except ApiError as error:
        print(error.detail, file=sys.stderr)
        return 2
    print(f"client_id:     {client_id}")
    print(f"client_secret: {secret}")
    print("The secret is shown only now: store it. Only its hash is kept.", file=sys.stderr)
    return 0


def clients_revoke(args: argparse.Namespace) -> int:

    settings = get_settings()
    if settings.database_url is None:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        asyncio.run(_revoke_client(settings.database_url, args.client_id))
    except ApiError as error:
        print(error.detail, file=sys.stderr)
        return 1
    print(f"revoked {args.client_id}: its tokens stop working within 5 seconds")
    return 0


async def _purge_idempotency_keys(database_url: str) -> int:

    database = Database(database_url, get_settings())
    try:
        async with database.sessionmaker() as session, session.begin():
            return await purge_expired(session)
    finally:
        await database.dispose()


def purge_idempotency(_: argparse.Namespace) -> int:
    """Expired keys are also purged a few at a time by requests; this empties them all."""
    settings = get_settings()
    if settings.database_url is None:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    removed = asyncio.run(_purge_idempotency_keys(settings.database_url))
    print(f"removed {removed} expired idempotency keys")
    return 0


def _purge_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"sen-api purge-expired-records (user {user})"


async def _purge_expired_records(database_url: str, today: date, dry_run: bool) -> "PurgeReport":

    settings = get_settings()
    database = Database(database_url, settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            return await data_protection.purge_expired_records(
                session,
                today=today,
                retention_years=settings.retention_years,
                purged_by=_purge_actor(),
                hash_key=retention_hash_key(settings),
                dry_run=dry_run,
            )
    finally:
        await database.dispose()


def purge_retention(args: argparse.Namespace) -> int:
    """Deletes the SEN records (pupil row included) of pupils past date of birth +
    SEN_RETENTION_YEARS, except those under a legal hold; the audit trail stays."""

    settings = get_settings()
    if settings.database_url is None:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    if not args.dry_run and retention_hash_key(settings) is None:
        print("Set SEN_RETENTION_HASH_KEY: it keys the UPN hash the purge keeps", file=sys.stderr)
        return 2
    today = args.today or today_london()
    report = asyncio.run(_purge_expired_records(settings.database_url, today, args.dry_run))
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"as of {report.as_of}: records are kept to date of birth + {report.retention_years} "
        f"years; due: born on or before {report.born_on_or_before}"
    )
    for purged in report.purged:
        counts = ", ".join(f"{table} {n}" for table, n in purged.counts.items() if n)
        print(f"{verb} pupil {purged.pupil_id} (school {purged.school_id}): {counts}")
    for pupil_id in report.held:
        print(f"kept under a legal hold: pupil {pupil_id}")
    totals = ", ".join(f"{table} {n}" for table, n in report.totals().items())
    print(f"{verb} the records of {len(report.purged)} pupils ({totals}); {len(report.held)} held")
    if report.dry_run:
        print("dry run: nothing was changed", file=sys.stderr)
    return 0


def write_openapi(args: argparse.Namespace) -> int:

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

    clients_cmd = commands.add_parser("clients", help="register and revoke API clients")
    client_commands = clients_cmd.add_subparsers(dest="clients_command", required=True)
    create_cmd = client_commands.add_parser(
        "create", help="register a client; prints its id and secret once"
    )
    create_cmd.add_argument("--name", required=True)
    create_cmd.add_argument("--role", required=True, choices=[r.value for r in ApiClientRole])
    scope = create_cmd.add_mutually_exclusive_group()
    scope.add_argument("--school-id", type=uuid.UUID, help="for mis_integration, senco, teacher")
    scope.add_argument("--la-code", help="for la_officer")
    create_cmd.set_defaults(handler=clients_create)
    revoke_cmd = client_commands.add_parser("revoke", help="revoke a client and its tokens")
    revoke_cmd.add_argument("client_id", type=uuid.UUID)
    revoke_cmd.set_defaults(handler=clients_revoke)

    purge_cmd = commands.add_parser(
        "purge-idempotency-keys", help="delete Idempotency-Key records older than 24 hours"
    )
    purge_cmd.set_defaults(handler=purge_idempotency)

    retention_cmd = commands.add_parser(
        "purge-expired-records",
        help="delete SEN records past date of birth + SEN_RETENTION_YEARS (not under legal hold)",
    )
    retention_cmd.add_argument(
        "--dry-run", action="store_true", help="report what would be removed; change nothing"
    )
    retention_cmd.add_argument(
        "--today",
        type=date.fromisoformat,
        help="the date to purge as of, YYYY-MM-DD (default: today in Europe/London)",
    )
    retention_cmd.set_defaults(handler=purge_retention)

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
