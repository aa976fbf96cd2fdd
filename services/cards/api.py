"""Back-office HTTP API of the cards service: associations, merchants and their rates, accounts."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from shared.http import Problem, json_response, read_model, uuid_param
from shared.rules.phone import InvalidPhone, normalise
from shared.service import Runtime, back_office


class AssociationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    rate_mode: Literal["network", "merchant"]
    taux_client_bps: int = Field(ge=0, le=10_000)
    taux_uc_bps: int = Field(ge=0, le=10_000)


class MerchantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    taux_client_bps: int | None = Field(
        default=None, ge=0, le=10_000, description="None: the network rate"
    )
    taux_uc_bps: int | None = Field(
        default=None, ge=0, le=10_000, description="None: the network fee"
    )


async def put_association(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = await read_model(request, AssociationIn)
    created = await rt.pool.fetchval(
        """INSERT INTO associations (id, name, rate_mode, taux_client_bps, taux_uc_bps)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, rate_mode = excluded.rate_mode,
               taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps
           RETURNING xmax = 0""",
        aid,
        body.name,
        body.rate_mode,
        body.taux_client_bps,
        body.taux_uc_bps,
    )
    return json_response({"id": str(aid), **body.model_dump()}, 201 if created else 200)


async def put_merchant(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, MerchantIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT true FROM associations WHERE id = $1", aid):
            raise Problem(404, "Unknown association", f"no association {aid}")
        owner = await conn.fetchval("SELECT association_id FROM merchants WHERE id = $1", mid)
        if owner is not None and owner != aid:
            raise Problem(
                409, "Merchant belongs to another association", f"merchant {mid} is in {owner}"
            )
        created = await conn.fetchval(
            """INSERT INTO merchants (id, association_id, name, taux_client_bps, taux_uc_bps)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps
               RETURNING xmax = 0""",
            mid,
            aid,
            body.name,
            body.taux_client_bps,
            body.taux_uc_bps,
        )
    return json_response(
        {"id": str(mid), "association_id": str(aid), **body.model_dump()}, 201 if created else 200
    )


async def list_merchants(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    rows = await rt.pool.fetch(
        "SELECT id, name, taux_client_bps, taux_uc_bps FROM merchants WHERE association_id = $1 ORDER BY name",
        aid,
    )
    return json_response([{**dict(r), "id": str(r["id"])} for r in rows])


def _account_json(r: dict[str, object]) -> dict[str, object]:
    return {
        "id": str(r["id"]),
        "association_id": str(r["association_id"]),
        "phone": r["phone"],
        "email": r["email"],
        "first_name": r["first_name"],
        "last_name": r["last_name"],
        "balance_cents": r["balance_cents"],
        "opened_at": r["opened_at"].isoformat(),  # type: ignore[attr-defined]
    }


async def find_account(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    try:
        phone = normalise(request.query.get("phone", ""))
    except InvalidPhone as exc:
        raise Problem(400, "Invalid phone", str(exc)) from exc
    row = await rt.pool.fetchrow(
        "SELECT * FROM accounts WHERE association_id = $1 AND phone = $2", aid, phone
    )
    if row is None:
        raise Problem(
            404, "Unknown account", "no account with this phone number in the association"
        )
    return json_response(_account_json(dict(row)))


async def get_account(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id: UUID = uuid_param(request, "account_id")
    row = await rt.pool.fetchrow("SELECT * FROM accounts WHERE id = $1", account_id)
    if row is None:
        raise Problem(404, "Unknown account", f"no account {account_id}")
    entries = await rt.pool.fetch(
        """SELECT kind, reference_id, amount_cents, balance_after_cents, purchase_cents,
                  product_family, taux_client_bps, merchant_id, shop_id, terminal_id, occurred_at
           FROM cagnotte_entries WHERE account_id = $1 ORDER BY id DESC LIMIT 200""",
        account_id,
    )
    return json_response(
        {
            **_account_json(dict(row)),
            "entries": [
                {
                    **dict(e),
                    "reference_id": str(e["reference_id"]),
                    "merchant_id": str(e["merchant_id"]),
                    "shop_id": str(e["shop_id"]),
                    "terminal_id": str(e["terminal_id"]),
                    "occurred_at": e["occurred_at"].isoformat(),
                }
                for e in entries
            ],
        }
    )


def routes(app: web.Application, _: Runtime) -> None:
    app.router.add_put("/v1/associations/{association_id}", put_association)
    app.router.add_put("/v1/associations/{association_id}/merchants/{merchant_id}", put_merchant)
    app.router.add_get("/v1/associations/{association_id}/merchants", list_merchants)
    app.router.add_get("/v1/associations/{association_id}/accounts", find_account)
    app.router.add_get("/v1/accounts/{account_id}", get_account)
