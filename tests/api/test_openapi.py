"""Each running service against its own /openapi.json: schemathesis generates requests for every
operation the document lists (valid ones, then invalid ones) and checks each answer: no 5xx,
errors as problem+json, documented success bodies matching their schema."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import hypothesis
import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from openapi_spec_validator import validate
from schemathesis import Case, CheckContext, CheckFunction, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared.http import PROBLEM
from tests import harness

pytestmark = pytest.mark.e2e

SERVICES_WITH_API = ("terminals", "cards", "clearing", "crm", "notifications", "portal")
# Per operation and generation mode. Each example is a real request and most of its cost is
# hypothesis drawing it from the schema: at 20 the five services took about a quarter of the
# suite (crm alone has 49 operations). Deeper: COMPTOIR_OPENAPI_EXAMPLES=200 make test
# PYTEST_ARGS=tests/api.
EXAMPLES = int(os.environ.get("COMPTOIR_OPENAPI_EXAMPLES", "10"))


def problem_json(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error answers application/problem+json with a `title` and the HTTP status."""
    status = response.status_code
    if status < 400:
        return None
    where = f"{case.operation.label} answered {status}"
    content_type = (response.headers.get("content-type") or [""])[0]
    media_type = content_type.split(";")[0].strip().lower()
    assert media_type == PROBLEM, f"{where} as {content_type or 'no content type'}, not {PROBLEM}"
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise AssertionError(f"{where} with a body that is not JSON: {exc}") from exc
    assert isinstance(body, dict), f"{where} with a JSON {type(body).__name__}, not an object"
    assert isinstance(body.get("title"), str) and body["title"], f"{where} with no title: {body}"
    assert body.get("status") == status, f"{where} with status {body.get('status')!r} in the body"
    return None


CHECKS: list[CheckFunction] = [not_a_server_error, problem_json, response_schema_conformance]


def fuzz(
    schema: Any,
    base_url: str,
    headers: dict[str, str],
    examples: int = EXAMPLES,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
) -> list[str]:
    """Run CHECKS on generated requests for every operation of `schema`; one line per failing
    operation and mode (the first failure found: the operation, the request as curl, the
    response). Blocking: call it in a thread."""
    failures: list[str] = []
    session = requests.Session()
    run = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same requests on every run: CI is reproducible
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each try is a real request
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in modes:

                @run
                @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
                def check(case: Case[Any]) -> None:
                    case.call_and_validate(
                        base_url=base_url, session=session, headers=headers, checks=CHECKS
                    )

                try:
                    check()
                except hypothesis.errors.Unsatisfiable:
                    pass  # nothing to make invalid (no parameter, no body)
                except (Exception, FailureGroup) as exc:  # FailureGroup: a BaseExceptionGroup
                    failures.append(f"{operation.label} ({mode.value} data): {exc}")
    finally:
        session.close()
    return failures


@pytest.mark.parametrize("service", SERVICES_WITH_API)
async def test_each_service_answers_its_openapi_document(
    service: str, services: harness.Services, http: aiohttp.ClientSession
) -> None:
    base_url = harness.url(service)
    async with http.get(f"{base_url}/openapi.json") as r:
        assert r.status == 200, await r.text()
        document = await r.json()
    validate(document)  # raises on anything that is not OpenAPI 3.1
    assert document["openapi"].startswith("3.1")
    assert document["paths"], f"{service} documents no operation"

    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
    failures = await asyncio.to_thread(fuzz, schema, base_url, headers)
    assert not failures, f"{service}: {len(failures)} failing operation(s)\n\n" + "\n\n".join(
        failures
    )
