"""HTTP edge shared by the services: correlation ids, RED metrics, problem+json errors."""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin
from uuid import UUID

import asyncpg
import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from shared import db, metrics, tabular
from shared import logging as log
from shared.fields import CODED_ERRORS, json_has_nul

CORRELATION_HEADER = "X-Correlation-Id"
PROBLEM = "application/problem+json"
M = TypeVar("M", bound=BaseModel)
_PROBES = frozenset({"/health", "/ready", "/metrics"})
# The codes of the errors aiohttp itself raises, before or around a handler.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "body_timeout",
    413: "body_too_large",
    503: "busy",
}


class Problem(Exception):
    """An RFC 9457 problem: raised anywhere in a handler, answered as problem+json."""

    def __init__(
        self, status: int, title: str, detail: str = "", type_: str = "about:blank", **extra: Any
    ):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        # Every problem carries a stable ``reason`` for programs: the terminal protocol's
        # ``code`` where there is one, else the problem type's last segment, else the title's
        # words (the titles are constants of the code, never built from input).
        if "reason" not in extra:
            if "code" in extra:
                extra["reason"] = extra["code"]
            elif type_ != "about:blank":
                extra["reason"] = type_.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")
            else:
                extra["reason"] = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        self.extra = extra

    def response(self, instance: str) -> web.Response:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body["instance"] = instance
        body.update(self.extra)
        return web.Response(status=self.status, body=orjson.dumps(body), content_type=PROBLEM)


class In(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


def json_response(data: Any, status: int = 200) -> web.Response:
    """``data`` is plain JSON data or a pydantic model (dumped in JSON mode). A UUID read by
    asyncpg (its own subclass, which orjson refuses) is written as its text, as any UUID."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    body = orjson.dumps(data, default=_uuid_text)
    return web.Response(body=body, status=status, content_type="application/json")


def _uuid_text(value: Any) -> str:
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


async def start_download(
    request: web.Request, content_type: str, filename: str
) -> web.StreamResponse:
    """A file download whose body is written as it is made. The correlation id is set here:
    the headers leave before the middleware sees the response."""
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            CORRELATION_HEADER: log.correlation_id.get() or "",
        }
    )
    await response.prepare(request)
    return response


async def stream_csv(
    request: web.Request,
    filename: str,
    header: Sequence[str],
    rows: AsyncIterable[Sequence[Any]],
    chunk: int = 2000,
    dialect: tabular.Dialect = tabular.RFC4180,
) -> web.StreamResponse:
    """A CSV download written as ``rows`` come (a database cursor): memory stays flat whatever
    the size. Through the one CSV writer (shared/tabular.py): no cell becomes a formula."""
    response = await start_download(request, "text/csv; charset=utf-8", filename)
    buffer = io.StringIO()
    writer = tabular.Writer(buffer, dialect)
    writer.header(header)
    written = 0
    async for row in rows:
        writer.row(row)
        written += 1
        if written % chunk == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def database_problem(exc: asyncpg.PostgresError) -> Problem | None:
    """What the database refuses is the request's to fix, a 4xx, whatever the handler checked
    before (a concurrent request may have got there first); a transient error is a 503 to
    retry. ``None``: a real fault, a 500.

    The answer carries a stable ``reason`` and words of ours, never the database's text: its
    message names constraints, tables and the key values of other rows (issue 11, finding
    8). The middleware logs that text with the request's correlation id instead."""
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        if "still referenced" in (exc.detail or ""):
            return Problem(
                409,
                "Still in use",
                "other records still refer to this one: remove or change them first",
                reason="still_in_use",
            )
        return Problem(
            422,
            "Unknown reference",
            "the request refers to something that does not exist",
            reason="unknown_reference",
        )
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Problem(
            409,
            "Conflict",
            "another record already holds one of these values",
            reason="conflict",
        )
    if isinstance(exc, (asyncpg.CheckViolationError, asyncpg.NotNullViolationError)):
        return Problem(
            422,
            "Refused by a database rule",
            "a value breaks one of the rules the records must keep",
            reason="database_rule",
        )
    if isinstance(exc, asyncpg.DataError):
        return Problem(
            422, "Invalid value", "a value is out of range or malformed", reason="invalid_value"
        )
    if db.is_transient(exc):
        return Problem(
            503,
            "Busy",
            "concurrent changes to the same rows: nothing was written, retry",
            reason="busy",
        )
    return None


async def read_model(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    return parse_model(raw, model)


def parse_model(raw: bytes, model: type[M], *, strict: bool = False) -> M:
    """``strict``: pydantic's strict mode, for what terminals send (issue 11, finding 12): an
    integer is a JSON integer (not ``"100"``, not ``true``), nothing is coerced."""
    if json_has_nul(raw):
        raise Problem(
            422, "Invalid request body", "text fields may not contain the NUL character (U+0000)"
        )
    try:
        return model.model_validate_json(raw, strict=strict)
    except ValidationError as exc:
        raise Problem(
            422,
            "Invalid request body",
            "the body does not match the schema",
            code=_code(exc),
            errors=_errors(exc),
        ) from exc


def _code(exc: ValidationError) -> str:
    types = {e["type"] for e in exc.errors()}
    if len(types) == 1 and (only := next(iter(types))) in CODED_ERRORS:
        return only
    return "malformed"


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


# Route parameters that are secrets: a signed link's token (crm's public routes), a voucher's
# code (whoever holds it spends it). A request's path is logged with their names instead.
SECRET_PARAMS = frozenset({"token", "code"})


def logged_path(request: web.Request) -> str:
    """The request's path as the logs keep it: no secret parameter, no e-mail address, no phone
    number (the query string is never logged: Kannel's callbacks carry a token and a number)."""
    path = request.path
    secret = {v: k for k, v in request.match_info.items() if k in SECRET_PARAMS}
    if secret:
        path = "/".join(f"{{{secret[p]}}}" if p in secret else p for p in path.split("/"))
    return log.redact(path)


def _redacted(text: str | None) -> str | None:
    """A database's detail names the values it refused (``Key (email)=(…)``)."""
    return None if text is None else log.redact(text)


def middleware(service: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    logger = log.get("http")
    observed: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    @web.middleware
    async def mw(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        route = _route_name(request)
        incoming = request.headers.get(CORRELATION_HEADER)
        with log.tracing(incoming, None) as corr:
            try:
                response = await handler(request)
                if _unscoped(request):
                    # A person's request that the route answered without checking its scope:
                    # the answer may hold another merchant's data, so it is not sent.
                    logger.error("route_not_scoped", path=logged_path(request))
                    raise Problem(
                        500, "Route not scoped", "the route checked no scope", reason="unscoped"
                    )
            except Problem as p:
                response = p.response(request.path)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                # Every error carries its stable code, aiohttp's own too (a 413 for a body over
                # the 1 MiB limit, a 404 for an unknown path).
                code = HTTP_CODES.get(exc.status, f"http_{exc.status}")
                response = Problem(
                    exc.status, exc.reason, exc.text or "", code=code, reason=code
                ).response(request.path)
            except asyncpg.PostgresError as exc:
                problem = database_problem(exc)
                if problem is None:
                    logger.exception("unhandled_error", path=logged_path(request))
                    problem = Problem(500, "Internal error", "the error was logged")
                else:
                    # The database's own words stay here: the answer has a reason code only.
                    logger.warning(
                        "database_refused",
                        path=logged_path(request),
                        reason=problem.extra.get("reason"),
                        error=log.redact(str(exc)),
                        detail=_redacted(getattr(exc, "detail", None)),
                        constraint=getattr(exc, "constraint_name", None),
                    )
                response = problem.response(request.path)
            except Exception:
                logger.exception("unhandled_error", path=logged_path(request))
                response = Problem(500, "Internal error", "the error was logged").response(
                    request.path
                )
            response.headers[CORRELATION_HEADER] = corr
            elapsed = time.perf_counter() - started
            key = (request.method, route, response.status)
            children = observed.get(key)
            if children is None:  # label look-ups cost more than the observation itself
                children = observed[key] = (
                    metrics.http_requests.labels(
                        service, request.method, route, str(response.status)
                    ),
                    metrics.http_duration.labels(service, request.method, route),
                )
            children[0].inc()
            children[1].observe(elapsed)
            level = (
                logging.ERROR
                if response.status >= 500
                else logging.DEBUG
                if route in _PROBES
                else logging.INFO
            )
            # The line's fields are made only when it is written: redacting the path is most
            # of a request's logging cost, for nothing at a level that drops the line.
            if logger.is_enabled_for(level):
                # who asked, for a back-office route: a person's or machine's id, a service's
                # name, or the bootstrap admin token (never a person's name or address)
                who = request.get(PRINCIPAL)
                logger.log(
                    level,
                    "http_request",
                    method=request.method,
                    path=logged_path(request),
                    status=response.status,
                    duration_ms=round(elapsed * 1000, 2),
                    **({"actor": who.actor} if who is not None else {}),
                )
            return response

    return mw


# The principal a back-office request acts for, and whether its route authorised it
# (shared/access_http.py).
PRINCIPAL = "comptoir.principal"
DECIDED = "comptoir.authorised"


def _unscoped(request: web.Request) -> bool:
    p = request.get(PRINCIPAL)
    return p is not None and not p.is_operator and not request.get(DECIDED, False)


def uuid_param(request: web.Request, name: str) -> UUID:
    raw = request.match_info.get(name) or request.query.get(name)
    if raw is None:
        raise Problem(400, "Missing parameter", f"{name} is required")
    try:
        return UUID(raw)
    except ValueError as exc:
        raise Problem(400, "Invalid parameter", f"{name} must be a UUID") from exc


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (Union, UnionType):
        return any(_is_list(a) for a in get_args(annotation) if a is not type(None))
    return False


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as a model: the last value of a repeated key, all of them for a list
    field; a 400 problem naming the fields that do not validate."""
    lists = {f.alias or name for name, f in model.model_fields.items() if _is_list(f.annotation)}
    data: dict[str, Any] = {}
    if any("\x00" in k or "\x00" in v for k, v in request.query.items()):
        raise Problem(400, "Invalid query", "the query string may not contain the NUL character")
    for key in request.query:
        if key not in data:
            values = request.query.getall(key)
            data[key] = values if key in lists else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Problem(
            400, "Invalid query", "the query string does not match the schema", errors=_errors(exc)
        ) from exc
