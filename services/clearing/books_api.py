"""Back-office API of the books: statements and their exports, period close, adjustments,
settlement files, bank details, partnerships, reconciliation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, RootModel, model_validator

from services.clearing import bank, books, domain, reconciliation, statements
from services.clearing.api import api
from shared import outbox
from shared.contracts import PartnerRegistered
from shared.events import new_event
from shared.fields import Name, Text
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.service import back_office

PERIOD = "[1-9][0-9][0-9][0-9]-(?:0[1-9]|1[0-2])"
STATEMENT = "/v1/merchants/{merchant_id}/statements/{period:" + PERIOD + "}"
SETTLEMENT = "/v1/associations/{association_id}/settlements/{period:" + PERIOD + "}"


def _period(request: web.Request) -> date:
    return domain.parse_period(request.match_info["period"])


# --- statements -----------------------------------------------------------------------------


class FiguresOut(BaseModel):
    purchases_count: int
    purchases_cents: int
    cagnottages_cents: int = Field(description="rewards granted, less those of returns")
    fees_cents: int = Field(description="due to the operator (taux UC), less those of returns")
    fees_and_cagnottages_cents: int
    returns_count: int
    returns_cents: int
    redemptions_count: int = Field(description="décagnottages in this shop")
    redemptions_cents: int
    stored_value_spent_cents: int = Field(description="gift, prepaid and e-purse money spent")
    loads_cents: int = Field(description="money the shop took to load cards")
    partner_share_cents: int
    adjustments_cents: int
    net_cents: int = Field(description="> 0: the merchant pays; < 0: the merchant is paid")


class RankOut(BaseModel):
    rank: int
    of: int
    min: int
    max: int
    average: int


class AdjustmentLine(BaseModel):
    adjustment_id: UUID
    adjusts_period: str
    amount_cents: int
    reason: str | None
    booked_at: datetime


class AssociationTotals(BaseModel):
    merchants: int
    totals: FiguresOut


class StatementOut(BaseModel):
    statement_id: UUID | None = Field(default=None, description="a closed period's statement")
    association_id: UUID
    merchant_id: UUID
    merchant_name: str
    period: str
    period_start: date
    period_end: date
    status: Literal["provisional", "closed"]
    created_on: date | None
    closed_on: date | None
    taux_uc_bps: int | None
    taux_client_bps: int | None
    figures: FiguresOut
    adjustments: list[AdjustmentLine]
    association: AssociationTotals
    ranking: dict[str, RankOut]


class Statements(RootModel[list[StatementOut]]):
    pass


@api.route(
    "GET",
    STATEMENT + ".xlsx",
    summary="A merchant's statement as an Excel workbook (report, ranking, detail lines)",
    content_type=statements.XLSX,
    tag="statements",
)
async def statement_xlsx(request: web.Request) -> web.StreamResponse:
    """Written as the detail lines are read: memory stays flat whatever the size."""
    return await _export(request, statements.stream_xlsx)


@api.route(
    "GET",
    STATEMENT + ".csv",
    summary="A merchant's statement detail lines as CSV",
    content_type="text/csv",
    tag="statements",
)
async def statement_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, statements.stream_csv)


async def _export(
    request: web.Request,
    stream: Callable[
        [web.Request, asyncpg.Connection, dict[str, Any]], Awaitable[web.StreamResponse]
    ],
) -> web.StreamResponse:
    rt = back_office(request)
    mid, period = uuid_param(request, "merchant_id"), _period(request)
    # One snapshot: the statement and its detail lines agree.
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await stream(request, conn, await statements.statement(conn, mid, period))


@api.route(
    "GET",
    STATEMENT,
    summary="A merchant's statement for a period (YYYY-MM)",
    returns=StatementOut,
    tag="statements",
)
async def statement(request: web.Request) -> web.Response:
    """Frozen once the period is closed; computed when asked (`provisional`) before."""
    rt = back_office(request)
    mid, period = uuid_param(request, "merchant_id"), _period(request)
    async with rt.pool.acquire() as conn:
        return json_response(await statements.statement(conn, mid, period))


@api.route(
    "GET",
    "/v1/associations/{association_id}/statements/{period:" + PERIOD + "}",
    summary="Every merchant's statement of an association for a period",
    returns=Statements,
    tag="statements",
)
async def association_statements(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    period = _period(request)
    async with rt.pool.acquire() as conn:
        frozen = await conn.fetch(
            """SELECT figures FROM statements WHERE association_id = $1 AND period = $2
               ORDER BY figures->>'merchant_name', merchant_id""",
            aid,
            period,
        )
        if frozen:
            return json_response([r["figures"] for r in frozen])
        docs = await statements.documents(conn, aid, period, "provisional")
    return json_response(
        sorted(docs.values(), key=lambda d: (d["merchant_name"], d["merchant_id"]))
    )


# --- periods --------------------------------------------------------------------------------


class CloseIn(In):
    actor: Name = Field(description="who closes the period (kept with the close)")


class HeldOut(BaseModel):
    party_kind: str
    party_id: UUID
    amount_cents: int
    reason: str


class SettlementOut(BaseModel):
    settlement_id: UUID
    association_id: UUID
    period: str
    status: Literal["ready", "no_bank_details", "nothing_due"]
    collections_count: int
    collections_cents: int
    transfers_count: int
    transfers_cents: int
    held: list[HeldOut]
    direct_debit_path: str | None = Field(description="the pain.008 file, if any")
    credit_transfer_path: str | None = Field(description="the pain.001 file, if any")


class ClosedOut(BaseModel):
    association_id: UUID
    periods: list[str] = Field(description="the periods closed: this one and any open before")
    statements: int
    partner_shares: int
    settlement: SettlementOut


def _settlement_out(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    label = domain.period_label(row["period"])
    base = f"/v1/associations/{row['association_id']}/settlements/"
    held = row["held"]
    return {
        "settlement_id": str(row["id"]),
        "association_id": str(row["association_id"]),
        "period": label,
        "status": row["status"],
        "collections_count": row["collections_count"],
        "collections_cents": row["collections_cents"],
        "transfers_count": row["transfers_count"],
        "transfers_cents": row["transfers_cents"],
        "held": held,
        "direct_debit_path": f"{base}{label}/direct-debit.xml" if row["direct_debit"] else None,
        "credit_transfer_path": f"{base}{label}/credit-transfer.xml"
        if row["credit_transfer"]
        else None,
    }


@api.route(
    "POST",
    "/v1/associations/{association_id}/periods/{period:" + PERIOD + "}/close",
    summary="Close a period: freeze its statements, book the partners' shares, settle",
    body=CloseIn,
    returns=ClosedOut,
    status=201,
    tag="periods",
)
async def close_period(request: web.Request) -> web.Response:
    """Closes the period and every open one before it, back to the month the association's
    books start (its first entry's, or its first merchant's before any; 409 for a period
    before that), at most 24 months at once (409 ``close_range_too_long`` beyond: close an
    earlier month first). After the close nothing is booked in it: a late sale goes to the open
    period with its date, a correction is an adjustment. One statement per merchant is
    handed to notifications (MonthlyStatementReady)."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    period = _period(request)
    body = await read_model(request, CloseIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        done = await books.close(conn, aid, period, body.actor, books.utcnow())
        row = await conn.fetchrow(
            "SELECT * FROM settlements WHERE association_id = $1 AND period = $2", aid, period
        )
    return json_response(
        {
            "association_id": str(aid),
            "periods": [domain.period_label(p) for p in done.periods],
            "statements": done.statements,
            "partner_shares": done.partner_shares,
            "settlement": _settlement_out(row),
        },
        201,
    )


class CloseOut(BaseModel):
    period: str
    closed_at: datetime
    closed_by: str
    statements: int
    settlement_status: str | None


class PeriodsOut(BaseModel):
    association_id: UUID
    closed_through: str | None = Field(description="the last closed period")
    open_from: str | None = Field(description="the first open period with entries")
    closes: list[CloseOut]


@api.route(
    "GET",
    "/v1/associations/{association_id}/periods",
    summary="The closed periods of an association and where the open ones start",
    returns=PeriodsOut,
    tag="periods",
)
async def periods(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    async with rt.pool.acquire() as conn:
        closed = await conn.fetchval(
            "SELECT closed_through FROM books WHERE association_id = $1", aid
        )
        first = await books.first_open(conn, aid)
        rows = await conn.fetch(
            """SELECT c.period, c.closed_at, c.closed_by,
                      (SELECT count(*) FROM statements s
                       WHERE s.association_id = c.association_id AND s.period = c.period) AS n,
                      st.status
               FROM period_closes c
               LEFT JOIN settlements st ON st.association_id = c.association_id
                                       AND st.period = c.period
               WHERE c.association_id = $1 ORDER BY c.period DESC""",
            aid,
        )
    return json_response(
        {
            "association_id": str(aid),
            "closed_through": domain.period_label(closed) if closed else None,
            "open_from": domain.period_label(first) if first else None,
            "closes": [
                {
                    "period": domain.period_label(r["period"]),
                    "closed_at": r["closed_at"].isoformat(),
                    "closed_by": r["closed_by"],
                    "statements": r["n"],
                    "settlement_status": r["status"],
                }
                for r in rows
            ],
        }
    )


# --- adjustments ----------------------------------------------------------------------------


class AdjustmentIn(In):
    adjustment_id: UUID = Field(description="chosen by the caller: a retry answers the same")
    period: str = Field(pattern=f"^{PERIOD}$", description="the closed period it corrects")
    amount_cents: int = Field(
        ge=-1_000_000_000, le=1_000_000_000, description="> 0: the merchant owes more"
    )
    reason: Text
    actor: Name

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount_cents == 0:
            raise ValueError("an adjustment of 0 cents corrects nothing")
        return self


class AdjustmentOut(BaseModel):
    adjustment_id: UUID
    association_id: UUID
    merchant_id: UUID
    adjusts_period: str
    booked_in_period: str
    amount_cents: int
    reason: str


@api.route(
    "POST",
    "/v1/merchants/{merchant_id}/adjustments",
    summary="Correct a merchant's closed period by an entry in the open one",
    body=AdjustmentIn,
    returns=AdjustmentOut,
    status=201,
    also=(200,),
    tag="periods",
)
async def adjust(request: web.Request) -> web.Response:
    """The only way to correct a closed period: an entry booked in the first open period,
    against the association's adjustments account, shown on that period's statement with the
    period it corrects. The same `adjustment_id` again answers 200; with other terms, 409."""
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, AdjustmentIn)
    adjusts = domain.parse_period(body.period)
    async with rt.pool.acquire() as conn, conn.transaction():
        aid = await statements.association_of(conn, mid)
        e, new = await books.adjust(
            conn,
            aid,
            mid,
            body.adjustment_id,
            adjusts,
            body.amount_cents,
            body.reason,
            body.actor,
            books.utcnow(),
        )
        row = await conn.fetchrow(
            """SELECT merchant_id, adjusts_period, merchant_cents, note, period
               FROM journal_entries WHERE kind = 'merchant_adjustment' AND reference_id = $1""",
            body.adjustment_id,
        )
    assert row is not None
    if (row["merchant_id"], row["adjusts_period"], row["merchant_cents"], row["note"]) != (
        mid,
        adjusts,
        body.amount_cents,
        e.note,
    ):
        raise Problem(
            409,
            "Adjustment id reused",
            f"adjustment {body.adjustment_id} was booked with other terms",
        )
    return json_response(
        {
            "adjustment_id": str(body.adjustment_id),
            "association_id": str(aid),
            "merchant_id": str(mid),
            "adjusts_period": body.period,
            "booked_in_period": domain.period_label(row["period"]),
            "amount_cents": body.amount_cents,
            "reason": body.reason,
        },
        201 if new else 200,
    )


# --- settlements ----------------------------------------------------------------------------


@api.route(
    "GET",
    SETTLEMENT,
    summary="The settlement of a closed period: totals, files, parties held",
    returns=SettlementOut,
    tag="settlements",
)
async def settlement(request: web.Request) -> web.Response:
    rt = back_office(request)
    row = await _settlement_row(rt, request)
    return json_response(_settlement_out(row))


async def _settlement_row(rt: Any, request: web.Request) -> asyncpg.Record:
    aid = uuid_param(request, "association_id")
    period = _period(request)
    row = await rt.pool.fetchrow(
        "SELECT * FROM settlements WHERE association_id = $1 AND period = $2", aid, period
    )
    if row is None:
        raise Problem(
            404,
            "No settlement",
            f"period {domain.period_label(period)} of association {aid} is not closed",
        )
    return row


def _xml(row: asyncpg.Record, column: str, name: str) -> web.Response:
    if row[column] is None:
        raise Problem(404, "No such file", f"the settlement has no {name}: nothing of that kind")
    return web.Response(
        body=bytes(row[column]),
        content_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-'
            f'{domain.period_label(row["period"])}.xml"'
        },
    )


@api.route(
    "GET",
    SETTLEMENT + "/direct-debit.xml",
    summary="SEPA direct debits (pain.008.001.08) of the merchants who owe",
    content_type="application/xml",
    tag="settlements",
)
async def direct_debit(request: web.Request) -> web.Response:
    rt = back_office(request)
    return _xml(await _settlement_row(rt, request), "direct_debit", "pain008")


@api.route(
    "GET",
    SETTLEMENT + "/credit-transfer.xml",
    summary="SEPA credit transfers (pain.001.001.09) to the parties owed",
    content_type="application/xml",
    tag="settlements",
)
async def credit_transfer(request: web.Request) -> web.Response:
    rt = back_office(request)
    return _xml(await _settlement_row(rt, request), "credit_transfer", "pain001")


# --- bank details ---------------------------------------------------------------------------

PartyKind = Literal["merchant", "partner", "association", "operator"]


class AddressIn(In):
    """The lengths are those of the ISO 20022 elements the SEPA files carry them in."""

    street: Annotated[Text, Field(max_length=bank.STREET_MAX)] | None = None
    building_number: Annotated[Text, Field(max_length=bank.BUILDING_NUMBER_MAX)] | None = None
    postcode: Annotated[Text, Field(max_length=bank.POSTCODE_MAX)] | None = None
    town: Annotated[Text, Field(max_length=bank.TOWN_MAX)]
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2, e.g. CH")


class BankDetailsIn(In):
    holder: Annotated[Text, Field(max_length=70)] = Field(description="the account holder's name")
    iban: str = Field(min_length=1, max_length=64)
    bic: str | None = Field(default=None, min_length=1, max_length=16)
    mandate_id: str | None = Field(default=None, description="a merchant's direct-debit mandate")
    mandate_signed_on: date | None = None
    creditor_id: str | None = Field(default=None, description="the association's SEPA creditor id")
    address: AddressIn | None = Field(
        default=None,
        description="the holder's postal address; required when the IBAN is from a SEPA "
        "country outside the EEA (CH, GB, MC, SM, VA, AD, GI...)",
    )


class AddressOut(BaseModel):
    street: str | None
    building_number: str | None
    postcode: str | None
    town: str
    country: str


class BankDetailsOut(BaseModel):
    party_kind: PartyKind
    party_id: UUID
    holder: str
    iban: str
    bic: str | None
    mandate_id: str | None
    mandate_signed_on: date | None
    creditor_id: str | None
    address: AddressOut | None


def _checked(kind: str, body: BankDetailsIn) -> dict[str, Any]:
    """The details normalised, or 422 naming the field and what is wrong with it."""
    try:
        iban = bank.normalize_iban(body.iban)
        bic = bank.normalize_bic(body.bic) if body.bic else None
        holder = bank.sepa_text(body.holder, 70)
        if (body.mandate_id is None) != (body.mandate_signed_on is None):
            raise bank.BankDetailsError(
                "mandate_id", "give the mandate's id and the date it was signed, or neither"
            )
        if body.mandate_id is not None and kind != "merchant":
            raise bank.BankDetailsError("mandate_id", "only a merchant is debited on a mandate")
        mandate = bank.validate_mandate_id(body.mandate_id) if body.mandate_id else None
        if kind == "association" and body.creditor_id is None:
            raise bank.BankDetailsError(
                "creditor_id", "the association collects direct debits: give its creditor id"
            )
        if body.creditor_id is not None and kind != "association":
            raise bank.BankDetailsError("creditor_id", "only the association has a creditor id")
        creditor = bank.normalize_creditor_id(body.creditor_id) if body.creditor_id else None
        address = (
            None if body.address is None else bank.normalize_address(**body.address.model_dump())
        )
        bank.check_address(iban, address)
    except bank.BankDetailsError as exc:
        raise Problem(
            422, "Invalid bank details", exc.detail, field=exc.field, reason=f"invalid_{exc.field}"
        ) from exc
    return {
        "holder": holder,
        "iban": iban,
        "bic": bic,
        "mandate_id": mandate,
        "mandate_signed_on": body.mandate_signed_on,
        "creditor_id": creditor,
        "address": None if address is None else asdict(address),
    }


@api.route(
    "PUT",
    "/v1/bank-details/{party_kind:merchant|partner|association|operator}/{party_id}",
    summary="Set the bank details of a merchant, a partner, the association or the operator",
    body=BankDetailsIn,
    returns=BankDetailsOut,
    tag="settlements",
)
async def put_bank_details(request: web.Request) -> web.Response:
    """IBAN (check digits and length per country), BIC, mandate, creditor id and postal
    address validated; an IBAN from a SEPA country outside the EEA needs the address (422,
    reason `invalid_address`, without it). The settlement files use what is here at the close.
    The operator's id is the nil UUID."""
    rt = back_office(request)
    kind = request.match_info["party_kind"]
    pid = uuid_param(request, "party_id")
    details = _checked(kind, await read_model(request, BankDetailsIn))
    address = details["address"] or {}
    await rt.pool.execute(
        """INSERT INTO bank_details (party_kind, party_id, holder, iban, bic, mandate_id,
                                     mandate_signed_on, creditor_id, address_street,
                                     address_building_number, address_postcode, address_town,
                                     address_country)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (party_kind, party_id) DO UPDATE SET holder = excluded.holder,
               iban = excluded.iban, bic = excluded.bic, mandate_id = excluded.mandate_id,
               mandate_signed_on = excluded.mandate_signed_on,
               creditor_id = excluded.creditor_id, address_street = excluded.address_street,
               address_building_number = excluded.address_building_number,
               address_postcode = excluded.address_postcode,
               address_town = excluded.address_town,
               address_country = excluded.address_country, updated_at = now()""",
        kind,
        pid,
        details["holder"],
        details["iban"],
        details["bic"],
        details["mandate_id"],
        details["mandate_signed_on"],
        details["creditor_id"],
        address.get("street"),
        address.get("building_number"),
        address.get("postcode"),
        address.get("town"),
        address.get("country"),
    )
    return json_response({"party_kind": kind, "party_id": str(pid), **details})


# --- partners (F19) -------------------------------------------------------------------------


class PartnerIn(In):
    name: Text
    active: bool = True


class PartnershipOut(BaseModel):
    merchant_id: UUID
    rate_bps: int
    starts_on: date
    ends_on: date | None


class PartnerOut(BaseModel):
    partner_id: UUID
    association_id: UUID
    name: str
    active: bool
    members: int
    partnerships: list[PartnershipOut]


class Partners(RootModel[list[PartnerOut]]):
    pass


async def _partner_out(conn: asyncpg.Connection, pid: UUID) -> dict[str, Any]:
    p = await conn.fetchrow("SELECT * FROM partners WHERE id = $1", pid)
    if p is None:
        raise Problem(404, "Unknown partner", f"no partner association {pid}")
    members = await conn.fetchval("SELECT count(*) FROM partner_members WHERE partner_id = $1", pid)
    deals = await conn.fetch(
        "SELECT * FROM partnerships WHERE partner_id = $1 ORDER BY merchant_id", pid
    )
    return {
        "partner_id": str(pid),
        "association_id": str(p["association_id"]),
        "name": p["name"],
        "active": p["active"],
        "members": members,
        "partnerships": [
            {
                "merchant_id": str(d["merchant_id"]),
                "rate_bps": d["rate_bps"],
                "starts_on": d["starts_on"].isoformat(),
                "ends_on": d["ends_on"].isoformat() if d["ends_on"] else None,
            }
            for d in deals
        ],
    }


@api.route(
    "PUT",
    "/v1/associations/{association_id}/partners/{partner_id}",
    summary="Register or change a partner association (a sports club, a parents' association)",
    body=PartnerIn,
    returns=PartnerOut,
    status=201,
    also=(200,),
    tag="partners",
)
async def put_partner(request: web.Request) -> web.Response:
    """Cards is told (PartnerRegistered), so members can donate rewards to it while active."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "partner_id")
    body = await read_model(request, PartnerIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        old = await conn.fetchrow("SELECT * FROM partners WHERE id = $1 FOR UPDATE", pid)
        if old is not None and old["association_id"] != aid:
            raise Problem(
                409,
                "Partner of another association",
                f"partner {pid} is association {old['association_id']}'s",
            )
        if old is None or (old["name"], old["active"]) != (body.name, body.active):
            await conn.execute(
                """INSERT INTO partners (id, association_id, name, active) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name, active = excluded.active""",
                pid,
                aid,
                body.name,
                body.active,
            )
            event = PartnerRegistered(
                partner_id=pid, association_id=aid, partner_name=body.name, active=body.active
            )
            await outbox.write(conn, [new_event(books.SOURCE, event, subject=f"partner/{pid}")])
        out = await _partner_out(conn, pid)
    return json_response(out, 201 if old is None else 200)


@api.route(
    "GET",
    "/v1/associations/{association_id}/partners",
    summary="The partner associations of an association, their partnerships and members",
    returns=Partners,
    tag="partners",
)
async def list_partners(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    async with rt.pool.acquire() as conn:
        ids = await conn.fetch(
            "SELECT id FROM partners WHERE association_id = $1 ORDER BY name, id", aid
        )
        return json_response([await _partner_out(conn, r["id"]) for r in ids])


def _ordered(start: date, end: date | None) -> None:
    if end is not None and end <= start:
        raise ValueError("the end must come after the start")


class PartnershipIn(In):
    rate_bps: int = Field(ge=1, le=10_000, description="share of the members' purchases given back")
    starts_on: date
    ends_on: date | None = Field(default=None, description="the first day it no longer applies")

    @model_validator(mode="after")
    def _dates(self) -> PartnershipIn:
        _ordered(self.starts_on, self.ends_on)
        return self


class MembershipIn(In):
    since: date
    until: date | None = Field(default=None, description="the first day no longer a member")

    @model_validator(mode="after")
    def _dates(self) -> MembershipIn:
        _ordered(self.since, self.until)
        return self


class MembershipOut(BaseModel):
    partner_id: UUID
    account_id: UUID
    since: date
    until: date | None


async def _partner_of(conn: asyncpg.Connection, pid: UUID) -> asyncpg.Record:
    p: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM partners WHERE id = $1", pid)
    if p is None:
        raise Problem(404, "Unknown partner", f"no partner association {pid}")
    return p


@api.route(
    "PUT",
    "/v1/partners/{partner_id}/partnerships/{merchant_id}",
    summary="A merchant's agreement to give back a share of partner members' purchases",
    body=PartnershipIn,
    returns=PartnershipOut,
    tag="partners",
)
async def put_partnership(request: web.Request) -> web.Response:
    rt = back_office(request)
    pid = uuid_param(request, "partner_id")
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, PartnershipIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        p = await _partner_of(conn, pid)
        owner = await conn.fetchval("SELECT association_id FROM merchants WHERE id = $1", mid)
        if owner is None:
            raise Problem(422, "Unknown merchant", f"no merchant {mid}", reason="unknown_merchant")
        if owner != p["association_id"]:
            raise Problem(
                422,
                "Merchant of another association",
                f"merchant {mid} is not in partner {pid}'s association",
                reason="merchant_not_in_association",
            )
        await conn.execute(
            """INSERT INTO partnerships (merchant_id, partner_id, rate_bps, starts_on, ends_on)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (merchant_id, partner_id) DO UPDATE SET rate_bps = excluded.rate_bps,
                   starts_on = excluded.starts_on, ends_on = excluded.ends_on""",
            mid,
            pid,
            body.rate_bps,
            body.starts_on,
            body.ends_on,
        )
    return json_response({"merchant_id": str(mid), **body.model_dump(mode="json")})


@api.route(
    "PUT",
    "/v1/partners/{partner_id}/members/{account_id}",
    summary="Make a cardholder a member of a partner association",
    body=MembershipIn,
    returns=MembershipOut,
    tag="partners",
)
async def put_member(request: web.Request) -> web.Response:
    rt = back_office(request)
    pid = uuid_param(request, "partner_id")
    account = uuid_param(request, "account_id")
    body = await read_model(request, MembershipIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        p = await _partner_of(conn, pid)
        owner = await conn.fetchval(
            "SELECT association_id FROM holders WHERE account_id = $1", account
        )
        if owner != p["association_id"]:
            raise Problem(
                422,
                "Unknown account",
                f"no account {account} in partner {pid}'s association",
                reason="unknown_account",
            )
        await conn.execute(
            """INSERT INTO partner_members (partner_id, account_id, since, until)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (partner_id, account_id) DO UPDATE SET since = excluded.since,
                   until = excluded.until""",
            pid,
            account,
            body.since,
            body.until,
        )
    return json_response(
        {"partner_id": str(pid), "account_id": str(account), **body.model_dump(mode="json")}
    )


# --- reconciliation -------------------------------------------------------------------------


class ReconcileIn(In):
    settle_seconds: int = Field(
        default=int(reconciliation.SETTLE.total_seconds()),
        ge=0,
        le=3600,
        description="the liability is compared as of this long ago",
    )
    association_id: UUID | None = Field(
        default=None, description="compare only this association's liability with cards"
    )


class AssociationReconcileIn(In):
    settle_seconds: int = Field(
        default=int(reconciliation.SETTLE.total_seconds()),
        ge=0,
        le=3600,
        description="the liability is compared as of this long ago",
    )


class CheckOut(BaseModel):
    name: str
    ok: bool
    difference: int
    detail: list[str] = Field(description="the entries, accounts or parties at fault")
    associations: list[UUID] = Field(
        default=[], description="the associations the faults belong to"
    )


class ReconciliationOut(BaseModel):
    id: int
    started_at: datetime
    association_id: UUID | None = Field(
        default=None, description="the association reconciled; none: the whole instance"
    )
    ok: bool
    red_associations: list[UUID] = Field(
        default=[], description="the associations a failing check names"
    )
    checks: list[CheckOut]


@api.route(
    "POST",
    "/v1/reconciliation",
    summary="Run the reconciliation of the ledger now",
    body=ReconcileIn,
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def reconcile(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = await read_model(request, ReconcileIn)
    settle = timedelta(seconds=body.settle_seconds)
    return json_response(await reconciliation.run(rt, settle, body.association_id))


@api.route(
    "GET",
    "/v1/reconciliation",
    summary="The last reconciliation's result",
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def last_reconciliation(request: web.Request) -> web.Response:
    """The last run over the whole instance, with the associations it found red."""
    rt = back_office(request)
    row = await rt.pool.fetchrow(
        "SELECT * FROM reconciliations WHERE association_id IS NULL ORDER BY id DESC LIMIT 1"
    )
    if row is None:
        raise Problem(404, "Never run", "no reconciliation has run yet", reason="never_run")
    return json_response(reconciliation.stored(row))


@api.route(
    "POST",
    "/v1/associations/{association_id}/reconciliation",
    summary="Run the reconciliation of one association's books now",
    body=AssociationReconcileIn,
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def reconcile_association(request: web.Request) -> web.Response:
    """Every check on the association's own entries, accounts, statements and closes, and its
    liability against cards': a verdict a treasurer can read for their association alone."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = await read_model(request, AssociationReconcileIn)
    settle = timedelta(seconds=body.settle_seconds)
    return json_response(await reconciliation.run(rt, settle, aid))


@api.route(
    "GET",
    "/v1/associations/{association_id}/reconciliation",
    summary="The last reconciliation of one association's books",
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def last_association_reconciliation(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    row = await rt.pool.fetchrow(
        "SELECT * FROM reconciliations WHERE association_id = $1 ORDER BY id DESC LIMIT 1", aid
    )
    if row is None:
        raise Problem(
            404,
            "Never run",
            f"no reconciliation of association {aid} has run yet",
            reason="never_run",
        )
    return json_response(reconciliation.stored(row))
