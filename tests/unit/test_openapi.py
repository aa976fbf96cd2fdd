"""shared.openapi documents what the routes declare, and tests/api's checks catch an API that
breaks its document (run here against an in-process aiohttp app, no services needed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

import orjson
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict, Field

from shared.http import Problem, json_response, middleware, read_query
from shared.openapi import Api, Header
from tests.api.test_openapi import fuzz, problem_json


class Address(BaseModel):
    street: str


class ShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    address: Address


class ShopOut(BaseModel):
    id: UUID
    name: str


class Search(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(description="any spelling")
    limit: int | None = Field(default=None, ge=1, le=100)
    family: list[str] = []


def sample_api() -> Api:
    api = Api("sample", "A sample service.")

    @api.route(
        "PUT",
        "/v1/groups/{group_id}/shops/{slug}",
        summary="Create or update a shop",
        body=ShopIn,
        returns=ShopOut,
        status=201,
        also=(200,),
        tag="shops",
    )
    async def put_shop(request: web.Request) -> web.Response:
        return json_response({"id": request.match_info["group_id"], "name": "x"}, 201)

    @api.route("GET", "/v1/shops", summary="Find shops", query=Search)
    async def find_shops(request: web.Request) -> web.Response:
        q = read_query(request, Search)
        return json_response(q.model_dump())

    @api.route(
        "POST",
        "/v1/imports",
        summary="Upload a CSV",
        request_content_type="text/csv",
        content_type="text/csv",
        admin=False,
        headers=[Header("X-Signature", "hex HMAC", {"type": "string", "pattern": "^[0-9a-f]+$"})],
    )
    async def upload(request: web.Request) -> web.Response:
        return web.Response(text=await request.text(), content_type="text/csv")

    @api.route("GET", "/v1/public", summary="Public", admin=False)
    async def public(_: web.Request) -> web.Response:
        return json_response([])

    return api


def test_the_document_is_openapi_3_1_with_the_declared_parameters_and_schemas() -> None:
    doc = sample_api().document()
    validate(doc)
    assert doc["info"]["title"] == "Comptoir sample"
    scheme = doc["components"]["securitySchemes"]["admin"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")

    put = doc["paths"]["/v1/groups/{group_id}/shops/{slug}"]["put"]
    assert put["security"] == [{"admin": []}]
    assert "403" in put["responses"]  # a sign-in whose scope does not reach the data
    assert put["tags"] == ["shops"]
    params = {p["name"]: p for p in put["parameters"]}
    assert params["group_id"]["schema"] == {"type": "string", "format": "uuid"}
    assert params["slug"]["in"] == "path" and params["slug"]["required"] is True
    assert params["slug"]["schema"]["type"] == "string"
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ShopIn"
    }
    schemas = doc["components"]["schemas"]
    assert schemas["ShopIn"]["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    assert schemas["ShopIn"]["additionalProperties"] is False
    assert "Address" in schemas and "$defs" not in schemas["ShopIn"]
    for status in ("201", "200"):
        assert put["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ShopOut"
        }
    for status in ("400", "401", "404", "409", "422"):
        assert put["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    problem = schemas["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance"}
    assert problem["additionalProperties"] is True

    find = doc["paths"]["/v1/shops"]["get"]
    query = {p["name"]: p for p in find["parameters"]}
    assert {p["in"] for p in query.values()} == {"query"}
    assert query["phone"]["required"] is True and query["phone"]["description"] == "any spelling"
    assert query["limit"]["required"] is False
    assert query["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "title": "Limit",
    }
    assert query["family"]["schema"]["type"] == "array"
    assert "requestBody" not in find

    upload = doc["paths"]["/v1/imports"]["post"]
    assert upload["security"] == []
    assert upload["requestBody"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert upload["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert upload["parameters"] == [
        {
            "name": "X-Signature",
            "in": "header",
            "required": True,
            "description": "hex HMAC",
            "schema": {"type": "string", "pattern": "^[0-9a-f]+$"},
        }
    ]
    assert "401" in upload["responses"]  # a signed request can be refused
    assert "401" not in doc["paths"]["/v1/public"]["get"]["responses"]


def test_a_route_is_declared_once_and_a_raw_body_has_no_model() -> None:
    api = sample_api()
    with pytest.raises(ValueError, match="declared twice"):
        api.route("GET", "/v1/shops", summary="again")
    with pytest.raises(ValueError, match="no model"):
        api.route("POST", "/v1/x", summary="x", body=ShopIn, request_content_type="text/csv")


def _app(api: Api) -> web.Application:
    app = web.Application(middlewares=[middleware("sample")])
    api.install(app)
    return app


async def test_install_serves_the_routes_and_the_document() -> None:
    api = sample_api()
    async with TestClient(TestServer(_app(api))) as client:
        r = await client.get("/openapi.json")
        assert r.status == 200
        assert await r.json() == orjson.loads(orjson.dumps(api.document()))
        r = await client.post("/v1/imports", data="a,b\n", headers={"Content-Type": "text/csv"})
        assert (r.status, await r.text()) == (200, "a,b\n")


async def test_read_query_takes_the_last_value_lists_whole_and_answers_400() -> None:
    async with TestClient(TestServer(_app(sample_api()))) as client:
        r = await client.get("/v1/shops?phone=1&phone=2&limit=5&family=a&family=b")
        assert await r.json() == {"phone": "2", "limit": 5, "family": ["a", "b"]}
        r = await client.get("/v1/shops?limit=0&other=1")
        assert r.status == 400
        assert r.content_type == "application/problem+json"
        body = await r.json()
        assert body["title"] == "Invalid query"
        assert {e["field"] for e in body["errors"]} == {"phone", "limit", "other"}


def _response(status: int, content_type: str, body: bytes) -> Any:
    return SimpleNamespace(
        status_code=status, headers={"content-type": [content_type]}, content=body
    )


def test_the_problem_check_flags_errors_that_are_not_problem_json() -> None:
    case = cast(Any, SimpleNamespace(operation=SimpleNamespace(label="GET /v1/x/{x_id}")))
    ctx = cast(Any, None)
    ok = orjson.dumps({"type": "about:blank", "title": "Not found", "status": 404})
    assert problem_json(ctx, _response(404, "application/problem+json", ok), case) is None
    assert problem_json(ctx, _response(200, "text/plain", b"fine"), case) is None
    with pytest.raises(AssertionError, match=r"GET /v1/x/\{x_id\} answered 404 as text/plain"):
        problem_json(ctx, _response(404, "text/plain; charset=utf-8", b"404: Not Found"), case)
    with pytest.raises(AssertionError, match="status 400 in the body"):
        problem_json(
            ctx, _response(404, "application/problem+json", ok.replace(b"404", b"400")), case
        )
    with pytest.raises(AssertionError, match="no title"):
        problem_json(ctx, _response(409, "application/problem+json", b'{"status": 409}'), case)
    with pytest.raises(AssertionError, match="not JSON"):
        problem_json(ctx, _response(500, "application/problem+json", b"<html>"), case)


async def test_the_fuzzer_reports_each_broken_operation_with_its_response() -> None:
    api = Api("broken", "An API that breaks its document.")

    @api.route("GET", "/v1/crash/{thing_id}", summary="Crashes")
    async def crash(_: web.Request) -> web.Response:
        raise RuntimeError("boom")  # the middleware answers a problem+json 500

    @api.route("GET", "/v1/plain/{thing_id}", summary="A plain-text 404")
    async def plain(_: web.Request) -> web.Response:
        return web.Response(status=404, text="no such thing")

    @api.route("GET", "/v1/wrong/{thing_id}", summary="Not the documented body", returns=ShopOut)
    async def wrong(_: web.Request) -> web.Response:
        return json_response({"id": "not a uuid"})

    @api.route("GET", "/v1/fine/{thing_id}", summary="Keeps its word", returns=ShopOut)
    async def fine(request: web.Request) -> web.Response:
        if request.match_info["thing_id"].count("-") != 4:
            raise Problem(400, "Invalid parameter", "thing_id must be a UUID")
        return json_response({"id": request.match_info["thing_id"], "name": "ok"})

    async with TestServer(_app(api)) as server:
        base_url = str(server.make_url("")).rstrip("/")
        schema = schemathesis.openapi.from_dict(api.document())
        failures = await asyncio.to_thread(fuzz, schema, base_url, {}, 5)
    report = "\n".join(failures)
    by_operation = {f.split(" (")[0]: f for f in failures}
    assert set(by_operation) == {
        "GET /v1/crash/{thing_id}",
        "GET /v1/plain/{thing_id}",
        "GET /v1/wrong/{thing_id}",
    }, report
    assert "500" in by_operation["GET /v1/crash/{thing_id}"], report
    assert "text/plain" in by_operation["GET /v1/plain/{thing_id}"], report
    assert "not a uuid" in by_operation["GET /v1/wrong/{thing_id}"], report


def test_a_route_with_another_bearer_documents_its_own_scheme_not_the_scope_tokens() -> None:
    """A machine's API token or a kiosk's reader key is a bearer of its own: its route says
    so (and answers 401 without it), and is not a back-office route (the authorisation
    matrix reads the ``admin`` scheme only)."""
    api = Api("t", "test")

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    api.route("POST", "/v1/kiosk", summary="a card", admin=False, bearer="kiosk_key")(handler)
    doc = api.document()
    validate(cast(Any, doc))
    post = doc["paths"]["/v1/kiosk"]["post"]
    assert post["security"] == [{"kiosk_key": []}]
    assert "401" in post["responses"] and "403" not in post["responses"]
    assert doc["components"]["securitySchemes"]["kiosk_key"]["scheme"] == "bearer"
    assert "api_token" not in doc["components"]["securitySchemes"]  # no route takes one
    with pytest.raises(ValueError, match="bearer"):
        api.route("GET", "/v1/x", summary="x", bearer="kiosk_key")(handler)  # admin too
    with pytest.raises(ValueError, match="bearer"):
        api.route("GET", "/v1/y", summary="y", admin=False, bearer="nobody")(handler)
