"""Typed errors and their one mapping to RFC 9457 problem details (SPEC.md §5)."""

import functools
import logging
import re
import traceback
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.models.enums import Severity

logger = logging.getLogger("app.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemCode(StrEnum):
    """Every `code` a problem answer can carry: the app's errors below, and the server's own
    refusals (app/core/protocol.py) built from them."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    CONFLICT = "conflict"
    RULE_VIOLATION = "rule_violation"
    INVALID_TRANSITION = "invalid_transition"
    STAGE_LOCKED = "stage_locked"
    ACTIVE_PLAN_EXISTS = "active_plan_exists"
    IDEMPOTENCY_KEY_IN_PROGRESS = "idempotency_key_in_progress"
    STALE_VERSION = "stale_version"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    URI_TOO_LONG = "uri_too_long"
    VALIDATION_ERROR = "validation_error"
    BATCH_TOO_LARGE = "batch_too_large"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    TOO_MANY_REQUESTS = "too_many_requests"
    REQUEST_HEADER_FIELDS_TOO_LARGE = "request_header_fields_too_large"
    INTERNAL_ERROR = "internal_error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    SERVICE_BUSY = "service_busy"
    # Any other 4xx the framework raises (none is known to reach a client).
    HTTP_ERROR = "http_error"


class FieldError(BaseModel):
    field: str
    message: str


class RuleViolationItem(BaseModel):
    rule: str
    severity: Severity
    message: str


class Problem(BaseModel):
    """The body of every error answer (RFC 9457), as published in the OpenAPI contract."""

    type: str
    title: str
    status: int
    detail: str
    code: ProblemCode
    errors: list[FieldError] | None = None
    violations: list[RuleViolationItem] | None = None


class ApiError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}

    def extra(self) -> dict[str, Any]:
        return {}


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="sen-support-api"'})


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    title = "Not allowed for this role"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(ApiError):
    status = 409
    code = "conflict"
    title = "Conflict"


class RuleViolation(ApiError):
    """Rules of SPEC.md §3 stand in the way: every one is listed, not just the first."""

    status = 409
    code = "rule_violation"
    title = "Rules stand in the way of this change"

    def __init__(self, violations: Sequence[RuleViolationItem], detail: str | None = None):
        super().__init__(
            detail or "; ".join(f"{v.rule}: {v.message}" for v in violations) or self.title
        )
        self.violations = list(violations)

    def extra(self) -> dict[str, Any]:
        return {"violations": [v.model_dump() for v in self.violations]}


class InvalidTransition(RuleViolation):
    code = "invalid_transition"
    title = "Not a move this resource can make"


class StageLocked(ApiError):
    status = 409
    code = "stage_locked"
    title = "This record cannot be changed at this stage"


class ActivePlanExists(ApiError):
    status = 409
    code = "active_plan_exists"
    title = "The pupil already has an active support plan"


class IdempotencyKeyInProgress(ApiError):
    status = 409
    code = "idempotency_key_in_progress"
    title = "A request with this Idempotency-Key is still running"


class RequestTimeout(ApiError):
    """The request's head or body did not arrive in time. The rest of it may still be on its
    way, so the connection is closed after the answer."""

    status = 408
    code = "request_timeout"
    title = "The request did not arrive in time"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"Connection": "close"})


class StaleVersion(ApiError):
    status = 412
    code = "stale_version"
    title = "The resource has changed since you read it"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class UriTooLong(ApiError):
    """Answered by the server alone (app/core/protocol.py), to a request target that is still
    arriving past a size no client sends; the app answers long complete targets itself."""

    status = 414
    code = "uri_too_long"
    title = "Request target too long"


class RequestHeaderFieldsTooLarge(ApiError):
    status = 431
    code = "request_header_fields_too_large"
    title = "Request headers too large"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None):
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)

    def extra(self) -> dict[str, Any]:
        return {"errors": [e.model_dump() for e in self.errors]}


class BatchTooLarge(ApiError):
    status = 422
    code = "batch_too_large"
    title = "Too many items in one batch"


class IdempotencyKeyReused(ApiError):
    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for another request"


class TooManyRequests(ApiError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


class DatabaseUnavailable(ApiError):
    status = 503
    code = "database_unavailable"
    title = "The database is unavailable"


class ServiceBusy(ApiError):
    """Work the process does a few at a time (rendering a PDF) could not start in time."""

    status = 503
    code = "service_busy"
    title = "The service is busy"


def problem_body(
    status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> bytes:
    body: dict[str, Any] = {
        "type": f"https://sen-support.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    return orjson.dumps(body)


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    return Response(
        problem_body(status, code, title, detail, extra),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def api_error_response(error: ApiError) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        headers=error.headers,
        extra=error.extra(),
    )


def _field_name(location: Sequence[int | str]) -> str:
    # FastAPI prefixes the part of the request ("body", "query"…); clients want the field path.
    parts = [str(p) for p in location]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_field_errors(raw_errors: Sequence[Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for raw in raw_errors:
        location = raw.get("loc", ())
        message = str(raw.get("msg", "invalid value"))
        if raw.get("type") == "json_invalid":
            errors.append(FieldError(field="body", message="The body is not valid JSON"))
            continue
        errors.append(FieldError(field=_field_name(location), message=message))
    return errors


# SQLSTATEs that say "the server is not there (yet, any more, for us)", not "your SQL is wrong":
# class 08 (connection exception), admin/crash shutdown, "the database system is starting up /
# shutting down / in recovery", and no connection slots left.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08",)
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy's, holding the driver's)."""
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        return str(sqlstate) if sqlstate else None
    return None


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot serve us now (an outage or an exhausted pool),
    as opposed to a fault in the request or the code."""
    if isinstance(error, PoolTimeoutError | OSError | TimeoutError):
        return True  # OSError covers ConnectionRefusedError and friends on connect
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
            return True
        # A backend killed by a crash or shutdown answers a plain DBAPIError (57P01, 57P02).
        sqlstate = sqlstate_of(error) or ""
        return sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate.startswith(
            _UNAVAILABLE_SQLSTATE_CLASSES
        )
    return False


# Data exceptions that mean "this value cannot be stored": string too long, number out of
# range, date/time out of range, and characters the database refuses (NUL, bad encodings).
_UNSTORABLE_SQLSTATES = frozenset({"22001", "22003", "22008", "22021", "22P05"})


def is_unstorable_data(error: BaseException) -> bool:
    """PostgreSQL refused a value the client sent: the client's data, not a fault of ours."""
    return sqlstate_of(error) in _UNSTORABLE_SQLSTATES


def _http_exception_error(exc: StarletteHTTPException) -> ApiError | None:
    if exc.status_code == 404:
        return NotFound("No such resource or route")
    if exc.status_code == 405:
        error = MethodNotAllowed("This method is not allowed on this resource")
        allow = (exc.headers or {}).get("Allow")
        if allow:
            error.headers["Allow"] = allow
        return error
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (e.g. invalid UTF-8): still bad JSON.
        return ValidationFailed([FieldError(field="body", message="The body is not valid JSON")])
    if exc.status_code == 413:
        return PayloadTooLarge(str(exc.detail))
    if exc.status_code == 408:
        return RequestTimeout(str(exc.detail))
    return None


def client_error_response(exc: Exception) -> Response | None:
    """The 4xx problem answer for a client's error, or None when `exc` is not one."""
    if isinstance(exc, ApiError) and exc.status < 500:
        return api_error_response(exc)
    if isinstance(exc, RequestValidationError):
        return api_error_response(ValidationFailed(validation_field_errors(exc.errors())))
    if isinstance(exc, StarletteHTTPException) and exc.status_code < 500:
        error = _http_exception_error(exc)
        if error is not None:
            return api_error_response(error)
        return problem_response(
            exc.status_code,
            ProblemCode.HTTP_ERROR,
            str(exc.detail),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )
    return None


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@functools.lru_cache(maxsize=512)
def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def allowed_methods(request: Request) -> str | None:
    """Every method the request's path answers to, for a 405's `Allow`, read from the published
    contract. Starlette names only those of the first route whose path matches, so a path served
    by two routes (GET and PATCH) would claim `Allow: GET`."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _path_pattern(template).fullmatch(request.url.path):
            methods.update(name.upper() for name in operations if name in HTTP_METHODS)
    return ", ".join(sorted(methods)) or None


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    async def handle_client_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
            allow = allowed_methods(request)
            if allow:
                exc.headers = {**(exc.headers or {}), "Allow": allow}
        response = client_error_response(exc)
        if response is None:
            return await handle_unexpected(request, exc)
        return response

    async def handle_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if exc.status == 503:
            exc.headers.setdefault("Retry-After", str(retry_after_seconds))
        return api_error_response(exc)

    async def handle_unexpected(request: Request, exc: Exception) -> Response:
        if is_unstorable_data(exc):
            # Validation should catch these first; this net keeps any that slip through a 4xx.
            return api_error_response(
                ValidationFailed(
                    [FieldError(field="body", message="A value cannot be stored (e.g. NUL)")]
                )
            )
        if is_database_unavailable(exc):
            logger.warning("database unavailable: %s", type(exc).__name__)
            return api_error_response(
                DatabaseUnavailable(
                    "The database cannot be reached; retry shortly",
                    headers={"Retry-After": str(retry_after_seconds)},
                )
            )
        # Logged by type and code location only: exception text can carry SQL, parameters
        # and personal data.
        route = request.scope.get("route")
        where = " < ".join(
            f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
            for frame in reversed(traceback.extract_tb(exc.__traceback__)[-6:])
        )
        logger.error(
            "unhandled %s on %s %s at %s",
            type(exc).__name__,
            request.method,
            getattr(route, "path", "?"),
            where,
        )
        return problem_response(
            500, ProblemCode.INTERNAL_ERROR, "Internal server error", "An unexpected error occurred"
        )

    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(RequestValidationError, handle_client_error)
    app.add_exception_handler(StarletteHTTPException, handle_client_error)
    app.add_exception_handler(Exception, handle_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: every error it can answer, as problem+json."""
    descriptions = {
        400: "Bad request",
        401: "Missing or invalid bearer token",
        403: "The caller's role may not do this",
        404: "Not found, or outside the caller's scope",
        408: "The request's headers or body did not arrive within 10 seconds; the connection "
        "is closed",
        409: "Conflicts with the current state",
        412: "If-Match does not match the current version",
        413: "Request body over 1 MiB",
        422: "Validation error",
        429: "Too many requests; retry after Retry-After seconds",
        431: "Request headers over 16 KiB in all",
        503: "Database unavailable or the service busy; retry after Retry-After seconds",
    }
    always = (401, 408, 413, 422, 431, 503)
    wanted = sorted(set(statuses) | set(always))
    return {
        status: {
            "description": descriptions.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in wanted
    }
