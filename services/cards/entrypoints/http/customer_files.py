"""Back-office route of the customer file import (F5; the use case:
``service.customer_files``)."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.cards.service import customer_files
from services.cards.service.money_models import ImportQuery, ImportReport
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

MAX_IMPORT_BYTES = 20 * 1024 * 1024
routes = Routes()


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The raw body up to ``limit`` bytes (the application's own limit is for JSON bodies)."""
    too_big = Problem(
        413, "File too large", f"a customer file is at most {limit // (1024 * 1024)} MB"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@routes.route(
    "POST",
    "/v1/associations/{association_id}/imports",
    summary="Import a customer file (CSV)",
    query=ImportQuery,
    returns=ImportReport,
    request_content_type="text/csv",
    tag="imports",
)
async def import_customers(request: web.Request) -> web.Response:
    """The body is the CSV file itself (UTF-8, `,` or `;`, header line with French or English
    column names, at most 20 MB). Accounts are upserted by phone: new ones opened, existing
    ones have their missing details completed (what is set is never overwritten); a balance
    is booked once per account as an opening balance; a card number is issued to the account
    with the association's default card type unless it belongs to another account, which
    rejects the line. Running the same file again creates nothing. The report counts the
    lines and gives every rejected line with its number and reasons."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    query = read_query(request, ImportQuery)
    await customer_files.check_association(rt.pool, association_id)
    raw = await _read_body(request, MAX_IMPORT_BYTES)
    import_id = query.import_id or uuid.uuid4()
    report = await customer_files.import_file(rt.pool, association_id, raw, import_id)
    return json_response(report)
