"""Each service's OpenAPI 3.1 document, built from the routes it declares.

A handler is declared once, with its models, in its module's table: `@routes.route("PUT",
"/v1/x/{x_id}", body=XIn)`; the service's app factory gathers the tables in its `Api`.
`api.install(app)` adds the routes to the application and serves the document at
GET /openapi.json, so the document cannot drift from the routes (tests/api fuzzes each
service against its own document with schemathesis).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.http import PROBLEM, json_response

API_VERSION = "0.1.0"
DOCUMENT_PATH = "/openapi.json"
SCHEMAS = "#/components/schemas/"
METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH"})

# (model, "validation" or "serialization") -> its schema, a $ref into components/schemas.
_Refs = dict[tuple[type[Any], str], dict[str, Any]]

H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])

# aiohttp's `{name}` and `{name:regex}` path variables.
_VARIABLE = re.compile(
    r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<regex>[^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}"
)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem; extensions (e.g. `errors`, `reason`) may follow.",
    "properties": {
        "type": {"type": "string", "description": "a URI naming the problem, or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
}

# Every operation can answer these (the middleware turns each failure into problem+json).
_ERRORS: dict[int, str] = {
    400: "Invalid path parameter or query string",
    401: "Missing or wrong credentials",
    403: "The sign-in's scope does not reach this data (reason out_of_scope)",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Invalid request body, or refused by the business rules",
    503: "The service is starting or stopping",
}


class Header(NamedTuple):
    """A request header an operation requires (e.g. a terminal's signature headers)."""

    name: str
    description: str
    schema: dict[str, Any] = {"type": "string"}  # noqa: RUF012 - NamedTuple default, never mutated


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    returns: type[BaseModel] | None
    statuses: tuple[int, ...]
    content_type: str
    request_content_type: str
    admin: bool
    tag: str | None
    headers: tuple[Header, ...] = field(default=())
    # Another bearer credential than the scope token (a key of BEARERS), for a route that
    # is not a back-office route but is not open either (a machine's API token, a kiosk's
    # reader key).
    bearer: str | None = None

    @property
    def operation_id(self) -> str:
        return self.method.lower() + "_" + re.sub(r"[^A-Za-z0-9]+", "_", self.path).strip("_")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


# The bearer credentials other than the scope token, by their security scheme's name.
BEARERS = {
    "api_token": "a machine's API token (docs/access.md), exchanged for a scope token",
    "kiosk_key": "a shop kiosk's reader key (docs/kiosk.md), shown once at its set-up",
}


class Routes:
    """The routes one entrypoints module declares, with their models. A service's app factory
    gathers its modules' tables in its ``Api`` (``Api(...).include(a.routes, b.routes)``):
    nothing is registered by importing a module."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []
        self._document: dict[str, Any] | None = None

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        returns: type[BaseModel] | None = None,
        status: int = 200,
        also: tuple[int, ...] = (),
        content_type: str = "application/json",
        request_content_type: str = "application/json",
        admin: bool = True,
        tag: str | None = None,
        headers: Sequence[Header] = (),
        bearer: str | None = None,
    ) -> Callable[[H], H]:
        """Record an operation; the decorated handler is returned unchanged.

        `body`, `query` and `returns` are pydantic models of the JSON request body, the query
        string (flat fields) and the success response (None: a free-form JSON value, or a
        string for a non-JSON `content_type`). `status` is the success status and `also` the
        other success statuses answering the same body (an upsert: status=201, also=(200,)).
        `request_content_type` other than JSON (e.g. "text/csv") takes a raw body, so `body`
        must then be None. `admin` operations need `Authorization: Bearer <admin token>`;
        `headers` are other required request headers."""
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported method {method}")
        if body is not None and not _is_json(request_content_type):
            raise ValueError(f"{method} {path}: a {request_content_type} body has no model")
        if bearer is not None and (admin or bearer not in BEARERS):
            raise ValueError(f"{method} {path}: bearer {bearer!r} is for a route without admin")
        if any((op.method, op.path) == (method, path) for op in self.operations):
            raise ValueError(f"{method} {path} is declared twice")
        statuses = tuple(dict.fromkeys((status, *also)))

        def record(handler: H) -> H:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    body,
                    query,
                    returns,
                    statuses,
                    content_type,
                    request_content_type,
                    admin,
                    tag,
                    tuple(headers),
                    bearer,
                )
            )
            self._document = None
            return handler

        return record


class Api(Routes):
    """The routes of one service and the OpenAPI document that describes them."""

    def __init__(self, service: str, description: str) -> None:
        super().__init__()
        self.service = service
        self.description = description

    def include(self, *tables: Routes) -> Api:
        """Add the operations of these tables; a path and method declared twice is an error."""
        for table in tables:
            for op in table.operations:
                if any((o.method, o.path) == (op.method, op.path) for o in self.operations):
                    raise ValueError(f"{op.method} {op.path} is declared twice")
                self.operations.append(op)
        self._document = None
        return self

    def install(self, app: web.Application) -> None:
        """Add every recorded route to the application, and GET /openapi.json."""
        for op in self.operations:
            if op.method == "GET":
                app.router.add_get(op.path, op.handler)  # and HEAD, as aiohttp does by default
            else:
                app.router.add_route(op.method, op.path, op.handler)
        document = self.document()

        async def openapi(_: web.Request) -> web.Response:
            return json_response(document)

        app.router.add_get(DOCUMENT_PATH, openapi)

    def document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the recorded operations."""
        if self._document is None:
            self._document = self._build()
        return self._document

    # --- building the document ---------------------------------------------------------------

    def _build(self) -> dict[str, Any]:
        wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
        for op in self.operations:
            for model in (op.body, op.query):
                if model is not None:
                    wanted.append((model, "validation"))
            if op.returns is not None:
                wanted.append((op.returns, "serialization"))
        refs: _Refs = {}
        schemas: dict[str, Any] = {}
        if wanted:
            key_map, top = models_json_schema(
                list(dict.fromkeys(wanted)), ref_template=SCHEMAS + "{model}"
            )
            refs = {(model, mode): dict(schema) for (model, mode), schema in key_map.items()}
            schemas = dict(top.get("$defs", {}))
        schemas["Problem"] = PROBLEM_SCHEMA

        paths: dict[str, dict[str, Any]] = {}
        tags: dict[str, None] = {}
        for op in self.operations:
            path, parameters = _path_parameters(op.path)
            parameters += [
                {
                    "name": h.name,
                    "in": "header",
                    "required": True,
                    "description": h.description,
                    "schema": h.schema,
                }
                for h in op.headers
            ]
            if op.query is not None:
                parameters += _query_parameters(refs[(op.query, "validation")], schemas)
            operation: dict[str, Any] = {
                "operationId": op.operation_id,
                "summary": op.summary,
                "security": [{"admin": []}] if op.admin else [{op.bearer: []}] if op.bearer else [],
            }
            doc = (op.handler.__doc__ or "").strip()
            if doc:
                operation["description"] = doc
            if op.tag is not None:
                operation["tags"] = [op.tag]
                tags[op.tag] = None
            if parameters:
                operation["parameters"] = parameters
            if op.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {op.request_content_type: {"schema": refs[(op.body, "validation")]}},
                }
            elif not _is_json(op.request_content_type):
                operation["requestBody"] = {
                    "required": True,
                    "content": {op.request_content_type: {"schema": {"type": "string"}}},
                }
            operation["responses"] = self._responses(op, refs)
            paths.setdefault(path, {})[op.method.lower()] = operation

        document: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {
                "title": f"Comptoir {self.service}",
                "version": API_VERSION,
                "description": self.description,
            },
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "admin": {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "JWT",
                        "description": "a scope token signed by the portal (a person's or a "
                        "machine's role and scope, docs/access.md), or the operator's "
                        "bootstrap admin token (COMPTOIR_ADMIN_TOKEN)",
                    },
                    **{
                        name: {"type": "http", "scheme": "bearer", "description": what}
                        for name, what in BEARERS.items()
                        if any(op.bearer == name for op in self.operations)
                    },
                },
            },
        }
        if tags:
            document["tags"] = [{"name": t} for t in tags]
        return document

    @staticmethod
    def _responses(op: Operation, refs: _Refs) -> dict[str, Any]:
        if op.returns is not None:
            schema = refs[(op.returns, "serialization")]
        elif _is_json(op.content_type):
            schema = {"type": ["object", "array"]}
        else:
            schema = {"type": "string"}
        responses: dict[str, Any] = {
            str(s): {"description": "Success", "content": {op.content_type: {"schema": schema}}}
            for s in op.statuses
        }
        for status, description in _ERRORS.items():
            if status == 401 and not (op.admin or op.headers or op.bearer):
                continue
            if status == 403 and not op.admin:
                continue
            responses.setdefault(
                str(status),
                {
                    "description": description,
                    "content": {PROBLEM: {"schema": {"$ref": SCHEMAS + "Problem"}}},
                },
            )
        return responses


def _path_parameters(path: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path (`{name}` only) and its parameters, from an aiohttp path."""
    parameters: list[dict[str, Any]] = []

    def replace(m: re.Match[str]) -> str:
        name, regex = m["name"], m["regex"]
        schema: dict[str, Any]
        if regex:
            schema = {"type": "string", "pattern": f"^(?:{regex})$"}
        elif name.endswith("_id"):
            schema = {"type": "string", "format": "uuid"}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _VARIABLE.sub(replace, path), parameters


def _query_parameters(ref: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    model = schemas[ref["$ref"].removeprefix(SCHEMAS)] if "$ref" in ref else ref
    required = set(model.get("required", ()))
    parameters = []
    for name, schema in model.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _absent_is_null(schema),
        }
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


def _absent_is_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`int | None = None` is an optional parameter, not one that can be sent as null."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if rest.get("default", 0) is None:
        del rest["default"]
    if len(kept) == 1:
        return {**rest, **kept[0]}
    return {**rest, "anyOf": kept}
