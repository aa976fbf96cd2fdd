"""Back-office API of the catalogue and the rules: associations, merchants, product families,
programs, promotions, card types (their rates per merchant and their acceptances) and the dry
run of a sale.

Every change runs in one transaction that also bumps ``rules_version`` (``rulebooks.bump``):
every cards process then recompiles its rule books before the next sale it handles. The
checks a client can get wrong are made before writing, each with its own problem; the
database's constraints stay the last word, and a violation of one is answered as a 4xx
problem too (by the HTTP middleware), never as a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
)

from services.cards import registrations, rulebooks
from services.cards.rulebooks import BOOKS, program_of
from services.cards.web import EARNING_KINDS, MONEY_KINDS, api, association
from shared import clock
from shared.contracts import MAX_SALE_CENTS
from shared.fields import FAMILY_CODE, Text
from shared.http import In, Problem, json_response, read_model, read_query, uuid_param
from shared.rules import programs as transitions
from shared.rules.engine import Evaluation, Sale
from shared.rules.money import format_eur
from shared.rules.programs import Program, ProgramKind, ProgramStatus, ProgramTransitionRefused
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from shared.rules.threshold import ThresholdPolicy
from shared.service import Runtime, back_office

TAG = "catalogue and rules"
DEFAULT_PROGRAM = "default-program"  # uuid5(association_id, ...): a retried PUT is idempotent
DEFAULT_CARD_TYPE = "default-card-type"

# --- input types -----------------------------------------------------------------------------


def _plausible(at: datetime) -> datetime:
    # Far years overflow PostgreSQL's or Python's range once shifted to UTC: refuse them here.
    if not 1970 <= at.year <= 9000:
        raise ValueError("a date is between the years 1970 and 9000")
    return at


def _plausible_day(day: date) -> date:
    if not 1970 <= day.year <= 9000:
        raise ValueError("a date is between the years 1970 and 9000")
    return day


Code = Annotated[str, StringConstraints(pattern=f"^{FAMILY_CODE}$")]
Codes = Annotated[list[Code], Field(min_length=1, max_length=200)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, AfterValidator(_plausible_day)]
Bps = Annotated[int, Field(ge=0, le=10_000)]


class AssociationIn(In):
    name: Text
    rate_mode: Literal["network", "merchant", "family"]
    taux_client_bps: Bps
    taux_uc_bps: Bps
    issuer_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None,
        description="the first 6 digits of the association's card numbers, unique; "
        "omitted: kept as it is",
    )
    dormant_after_days: int = Field(
        default=183, ge=1, le=36_500, description="a card unused this long is treated as lost"
    )
    books_start: Day | None = Field(
        default=None,
        description="the first day of the month the books start in: nothing dated before is "
        "booked; omitted: kept as it is, or at creation the month of the creation (Paris)",
    )

    @field_validator("books_start")
    @classmethod
    def _first_of_month(cls, v: date | None) -> date | None:
        if v is not None and v.day != 1:
            raise ValueError("the books start on the first day of a month")
        return v


class MerchantIn(In):
    name: Text
    taux_client_bps: Bps | None = Field(default=None, description="None: the network rate")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the network fee")
    closed_on: Day | None = Field(
        default=None,
        description="the day the merchant left the network (it stays in the books); "
        "null: open; omitted: kept as it is",
    )


class FamilyIn(In):
    label: Text
    taux_client_bps: Bps | None = Field(
        default=None, description="the family's own rate (mode family); None: the merchant's"
    )
    tobacco: bool = False
    gambling: bool = False
    book: bool = False


class ProgramIn(In):
    name: Text
    kind: Literal["cagnotte", "points", "stamps"]
    families: Codes | None = Field(default=None, description="None: the whole catalogue")
    valid_from: AwareInstant | None = Field(default=None, description="included")
    valid_until: AwareInstant | None = Field(default=None, description="excluded")
    points_per_euro: int = Field(default=0, ge=0, le=10_000)
    units_per_reward: int = Field(default=0, ge=0, le=1_000_000)
    reward_cents: int = Field(default=0, ge=0, le=MAX_SALE_CENTS)
    threshold_visits: int = Field(
        default=1, ge=1, le=1_000, description="rewards become available at this visit"
    )
    threshold_max_days: int | None = Field(
        default=None, ge=1, le=36_500, description="to reach threshold_visits; None: no limit"
    )


class MultiplierIn(In):
    numerator: int = Field(ge=0, le=1_000)
    denominator: int = Field(default=1, ge=1, le=1_000)


class PromotionIn(In):
    name: Text
    merchant_id: UUID | None = Field(
        default=None, description="a merchant of the association; None: network-wide"
    )
    families: Codes | None = Field(default=None, description="None: every family")
    starts_at: AwareInstant = Field(description="included")
    ends_at: AwareInstant = Field(description="excluded")
    taux_client_bps: Bps | None = Field(default=None, description="a rate override; or:")
    multiplier: MultiplierIn | None = Field(default=None, description="a multiplier")


class CardTypeIn(In):
    name: Text
    kind: Literal["association", "generic", "merchant", "gift", "prepaid", "epurse"]
    program_id: UUID | None = Field(
        default=None,
        description="required for association, generic and merchant; none for gift, prepaid "
        "and epurse (they hold money and earn nothing)",
    )
    taux_client_bps: Bps | None = Field(default=None, description="None: the association's")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the association's")
    merchant_id: UUID | None = Field(default=None, description="for kind merchant only")
    validity_months: int | None = Field(default=None, ge=1, le=1_200)


class RateIn(In):
    taux_client_bps: Bps | None = Field(default=None, description="None: the merchant's own")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the merchant's own")


class AcceptanceQuery(BaseModel):
    merchant_id: UUID | None = Field(
        default=None, description="one merchant of the association; absent: all its merchants"
    )


class PromotionQuery(BaseModel):
    live_at: AwareInstant | None = Field(
        default=None, description="only the promotions live then (and not withdrawn)"
    )


class DryRunIn(In):
    merchant_id: UUID
    product_family: Code | None = None
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    quantity: int = Field(default=1, ge=1, le=10_000, description="items bought (stamps)")
    at: AwareInstant | None = Field(default=None, description="the sale's time; now if absent")
    card_type_id: UUID | None = Field(
        default=None, description="None: the association's default card type"
    )


# --- output types ----------------------------------------------------------------------------


class AssociationOut(BaseModel):
    id: UUID
    name: str
    rate_mode: str
    taux_client_bps: int
    taux_uc_bps: int
    issuer_prefix: str | None
    dormant_after_days: int
    books_start: date
    default_card_type_id: UUID | None
    default_program_id: UUID | None
    created_at: datetime


class MerchantOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    taux_client_bps: int | None
    taux_uc_bps: int | None
    closed_on: date | None


class Merchants(RootModel[list[MerchantOut]]):
    pass


class FamilyOut(BaseModel):
    merchant_id: UUID
    code: str
    label: str
    taux_client_bps: int | None
    tobacco: bool
    gambling: bool
    book: bool


class Families(RootModel[list[FamilyOut]]):
    pass


class ProgramOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    kind: str
    families: list[str] | None
    valid_from: datetime | None
    valid_until: datetime | None
    status: str
    points_per_euro: int
    units_per_reward: int
    reward_cents: int
    threshold_visits: int
    threshold_max_days: int | None
    created_at: datetime


class Programs(RootModel[list[ProgramOut]]):
    pass


class MultiplierOut(BaseModel):
    numerator: int
    denominator: int


class PromotionOut(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    name: str
    families: list[str] | None
    starts_at: datetime
    ends_at: datetime
    taux_client_bps: int | None
    multiplier: MultiplierOut | None
    withdrawn_at: datetime | None
    created_at: datetime


class Promotions(RootModel[list[PromotionOut]]):
    pass


class CardTypeOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    kind: str
    program_id: UUID | None
    taux_client_bps: int | None
    taux_uc_bps: int | None
    merchant_id: UUID | None
    validity_months: int | None
    created_at: datetime


class CardTypes(RootModel[list[CardTypeOut]]):
    pass


class RateOut(BaseModel):
    card_type_id: UUID
    merchant_id: UUID
    taux_client_bps: int | None
    taux_uc_bps: int | None


class AcceptanceOut(BaseModel):
    card_type_id: UUID
    association_id: UUID
    merchant_id: UUID | None = Field(description="None: every merchant of the association")


class CardTypeDetail(CardTypeOut):
    rates: list[RateOut]
    acceptances: list[AcceptanceOut]


class ThresholdOut(BaseModel):
    visits_needed: int
    max_days: int | None


class StepOut(BaseModel):
    rule: str
    applied: bool
    detail: str
    rate: int = Field(description="the earn rate after this rule (bp, points rate or stamps)")


class RefusalOut(BaseModel):
    code: str
    detail: str


class DryRunOut(BaseModel):
    association_id: UUID
    card_type_id: UUID
    program_id: UUID
    merchant_id: UUID
    product_family: str | None
    amount_cents: int
    quantity: int
    at: datetime
    kind: str
    reward_cents: int
    points: int
    stamps: int
    fee_cents: int
    taux_client_bps: int
    taux_uc_bps: int
    refused: bool = Field(description="nothing earned, for the reasons in refusals")
    threshold: ThresholdOut
    steps: list[StepOut]
    refusals: list[RefusalOut]
    explanation: str
    rules_version: int


# --- transactions and look-ups ---------------------------------------------------------------


@asynccontextmanager
async def _change(rt: Runtime) -> AsyncIterator[asyncpg.Connection]:
    """One transaction for a change to what a sale earns, bumping ``rules_version`` in it."""
    async with rt.pool.acquire() as conn, conn.transaction():
        yield conn
        await rulebooks.bump(conn)


async def _merchant(conn: asyncpg.Connection, mid: UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM merchants WHERE id = $1", mid)
    if row is None:
        raise Problem(404, "Unknown merchant", f"no merchant {mid}")
    return row


async def _merchant_of(conn: asyncpg.Connection, mid: UUID, aid: UUID) -> asyncpg.Record:
    row = await _merchant(conn, mid)
    if row["association_id"] != aid:
        raise Problem(
            409,
            "Merchant of another association",
            f"merchant {mid} is in association {row['association_id']}, not {aid}",
        )
    return row


async def _card_type(conn: asyncpg.Connection, ctid: UUID, lock: bool = False) -> asyncpg.Record:
    sql = "SELECT * FROM card_types WHERE id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, ctid)
    if row is None:
        raise Problem(404, "Unknown card type", f"no card type {ctid}")
    return row


async def _program(
    conn: asyncpg.Connection, aid: UUID, pid: UUID, lock: bool = False
) -> asyncpg.Record:
    sql = "SELECT * FROM programs WHERE id = $1 AND association_id = $2" + (
        " FOR UPDATE" if lock else ""
    )
    row = await conn.fetchrow(sql, pid, aid)
    if row is None:
        await association(conn, aid)
        raise Problem(404, "Unknown program", f"no program {pid} in association {aid}")
    return row


# --- associations and merchants --------------------------------------------------------------

_ASSOCIATION = """SELECT a.*, t.program_id AS default_program_id
                  FROM associations a LEFT JOIN card_types t ON t.id = a.default_card_type_id
                  WHERE a.id = $1"""


@api.route(
    "PUT",
    "/v1/associations/{association_id}",
    summary="Create or update an association",
    body=AssociationIn,
    returns=AssociationOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_association(request: web.Request) -> web.Response:
    """Created with its default program (a cagnotte on the whole catalogue, "Cagnotte") and
    its default card type (kind association, that program), in the same transaction."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = await read_model(request, AssociationIn)
    async with _change(rt) as conn:
        old = await conn.fetchrow("SELECT * FROM associations WHERE id = $1 FOR UPDATE", aid)
        prefix = body.issuer_prefix
        if prefix is None and old is not None:
            prefix = old["issuer_prefix"]
        if old is not None and old["issuer_prefix"] not in (None, prefix):
            issued = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM cards WHERE association_id = $1)", aid
            )
            if issued:
                raise Problem(
                    409,
                    "Issuer prefix in use",
                    f"association {aid} has issued cards numbered {old['issuer_prefix']}…: "
                    "its issuer prefix cannot change",
                    reason="issuer_prefix_in_use",
                )
        if prefix is not None:
            holder = await conn.fetchval(
                "SELECT id FROM associations WHERE issuer_prefix = $1 AND id <> $2", prefix, aid
            )
            if holder is not None:
                raise Problem(
                    409,
                    "Issuer prefix taken",
                    f"issuer prefix {prefix} is association {holder}'s",
                    reason="issuer_prefix_taken",
                )
        created = await conn.fetchval(
            """INSERT INTO associations (id, name, rate_mode, taux_client_bps, taux_uc_bps,
                                         issuer_prefix, dormant_after_days, created_at,
                                         books_start)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::date, $10::date))
               ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   rate_mode = excluded.rate_mode, taux_client_bps = excluded.taux_client_bps,
                   taux_uc_bps = excluded.taux_uc_bps, issuer_prefix = excluded.issuer_prefix,
                   dormant_after_days = excluded.dormant_after_days,
                   books_start = coalesce($9::date, associations.books_start)
               RETURNING xmax = 0""",
            aid,
            body.name,
            body.rate_mode,
            body.taux_client_bps,
            body.taux_uc_bps,
            prefix,
            body.dormant_after_days,
            clock.now(),  # the books start in its month: on the services' calendar, not the database's
            body.books_start,
            clock.today_paris().replace(day=1),
        )
        if old is None or old["default_card_type_id"] is None:
            pid = uuid.uuid5(aid, DEFAULT_PROGRAM)
            ctid = uuid.uuid5(aid, DEFAULT_CARD_TYPE)
            await conn.execute(
                """INSERT INTO programs (id, association_id, name, kind)
                   VALUES ($1, $2, 'Cagnotte', 'cagnotte') ON CONFLICT (id) DO NOTHING""",
                pid,
                aid,
            )
            await conn.execute(
                """INSERT INTO card_types (id, association_id, name, kind, program_id)
                   VALUES ($1, $2, $3, 'association', $4) ON CONFLICT (id) DO NOTHING""",
                ctid,
                aid,
                f"Carte {body.name}"[:200],
                pid,
            )
            await conn.execute(
                "UPDATE associations SET default_card_type_id = $2 WHERE id = $1", aid, ctid
            )
        if old is not None:
            # Its merchants' default rates may follow the association's: tell clearing.
            await registrations.announce(conn, association_id=aid)
        row = await conn.fetchrow(_ASSOCIATION, aid)
    return json_response(AssociationOut.model_validate(dict(row)), 201 if created else 200)


@api.route(
    "GET",
    "/v1/associations/{association_id}",
    summary="An association, with its default card type and program",
    returns=AssociationOut,
    tag=TAG,
)
async def get_association(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    row = await rt.pool.fetchrow(_ASSOCIATION, aid)
    if row is None:
        raise Problem(404, "Unknown association", f"no association {aid}")
    return json_response(AssociationOut.model_validate(dict(row)))


@api.route(
    "PUT",
    "/v1/associations/{association_id}/merchants/{merchant_id}",
    summary="Admit or update a merchant of an association",
    body=MerchantIn,
    returns=MerchantOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_merchant(request: web.Request) -> web.Response:
    """Clearing is told (`MerchantRegistered`) when what it knows of the merchant changes: its
    name, its default rates, its closing day. `closed_on` left out keeps the current one."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, MerchantIn)
    async with _change(rt) as conn:
        # Shared: an update of the association's rates waits, or is waited for, and the
        # merchant's registration is built from one or the other, never half of each.
        found = await conn.fetchval("SELECT true FROM associations WHERE id = $1 FOR SHARE", aid)
        if found is None:
            raise Problem(404, "Unknown association", f"no association {aid}")
        owner = await conn.fetchval(
            "SELECT association_id FROM merchants WHERE id = $1 FOR UPDATE", mid
        )
        if owner is not None and owner != aid:
            raise Problem(
                409,
                "Merchant of another association",
                f"merchant {mid} is in association {owner}",
            )
        row = await conn.fetchrow(
            """INSERT INTO merchants (id, association_id, name, taux_client_bps, taux_uc_bps,
                                      closed_on, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $8)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps,
                   closed_on = CASE WHEN $7 THEN excluded.closed_on ELSE merchants.closed_on END
               RETURNING *, xmax = 0 AS created""",
            mid,
            aid,
            body.name,
            body.taux_client_bps,
            body.taux_uc_bps,
            body.closed_on,
            "closed_on" in body.model_fields_set,
            clock.now(),  # clearing's books start with it: the services' calendar, not the database's
        )
        await registrations.announce(conn, merchant_id=mid)
    return json_response(MerchantOut.model_validate(dict(row)), 201 if row["created"] else 200)


@api.route(
    "GET",
    "/v1/associations/{association_id}/merchants",
    summary="The merchants of an association",
    returns=Merchants,
    tag=TAG,
)
async def list_merchants(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    async with rt.pool.acquire() as conn:
        await association(conn, aid)
        rows = await conn.fetch(
            "SELECT * FROM merchants WHERE association_id = $1 ORDER BY name, id", aid
        )
    return json_response(Merchants([MerchantOut.model_validate(dict(r)) for r in rows]))


# --- product families ------------------------------------------------------------------------

_FAMILY_PATH = "/v1/merchants/{merchant_id}/families/{code:" + FAMILY_CODE + "}"


@api.route(
    "PUT",
    _FAMILY_PATH,
    summary="Create or update a product family of a merchant",
    body=FamilyIn,
    returns=FamilyOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_family(request: web.Request) -> web.Response:
    """The flags carry the law (F10): tobacco and gambling earn nothing, books at most 5 %."""
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    code = request.match_info["code"]
    body = await read_model(request, FamilyIn)
    async with _change(rt) as conn:
        await _merchant(conn, mid)
        row = await conn.fetchrow(
            """INSERT INTO product_families
                   (merchant_id, code, label, taux_client_bps, tobacco, gambling, book)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (merchant_id, code) DO UPDATE SET label = excluded.label,
                   taux_client_bps = excluded.taux_client_bps, tobacco = excluded.tobacco,
                   gambling = excluded.gambling, book = excluded.book
               RETURNING *, xmax = 0 AS created""",
            mid,
            code,
            body.label,
            body.taux_client_bps,
            body.tobacco,
            body.gambling,
            body.book,
        )
    return json_response(FamilyOut.model_validate(dict(row)), 201 if row["created"] else 200)


@api.route(
    "GET",
    "/v1/merchants/{merchant_id}/families",
    summary="A merchant's product families",
    returns=Families,
    tag=TAG,
)
async def list_families(request: web.Request) -> web.Response:
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    async with rt.pool.acquire() as conn:
        await _merchant(conn, mid)
        rows = await conn.fetch(
            "SELECT * FROM product_families WHERE merchant_id = $1 ORDER BY code", mid
        )
    return json_response(Families([FamilyOut.model_validate(dict(r)) for r in rows]))


@api.route(
    "DELETE",
    _FAMILY_PATH,
    summary="Remove a product family from a merchant's catalogue",
    returns=FamilyOut,
    tag=TAG,
)
async def delete_family(request: web.Request) -> web.Response:
    """Answers the family removed; its sales then earn as sales without family."""
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    code = request.match_info["code"]
    async with _change(rt) as conn:
        row = await conn.fetchrow(
            "DELETE FROM product_families WHERE merchant_id = $1 AND code = $2 RETURNING *",
            mid,
            code,
        )
        if row is None:
            await _merchant(conn, mid)
            raise Problem(404, "Unknown product family", f"merchant {mid} has no family {code}")
    return json_response(FamilyOut.model_validate(dict(row)))


# --- programs --------------------------------------------------------------------------------

_PROGRAM_PATH = "/v1/associations/{association_id}/programs/{program_id}"


def _program_out(row: asyncpg.Record) -> ProgramOut:
    return ProgramOut.model_validate(dict(row))


@api.route(
    "PUT",
    _PROGRAM_PATH,
    summary="Create or update a program (cagnotte, points or stamps)",
    body=ProgramIn,
    returns=ProgramOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_program(request: web.Request) -> web.Response:
    """A program is created active; its status moves only by suspend, resume and delete. Its
    kind never changes (the units accounts hold would change meaning): create another."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    body = await read_model(request, ProgramIn)
    try:
        Program(
            program_id=str(pid),
            kind=ProgramKind(body.kind),
            families=frozenset(body.families) if body.families is not None else None,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            points_per_euro=body.points_per_euro,
            units_per_reward=body.units_per_reward,
            reward_cents=body.reward_cents,
        )
    except ValueError as exc:
        raise Problem(422, "Invalid program", str(exc)) from exc
    async with _change(rt) as conn:
        await association(conn, aid)
        old = await conn.fetchrow("SELECT * FROM programs WHERE id = $1 FOR UPDATE", pid)
        if old is not None:
            if old["association_id"] != aid:
                raise Problem(
                    409,
                    "Program of another association",
                    f"program {pid} is association {old['association_id']}'s",
                )
            if old["status"] == ProgramStatus.DELETED:
                raise Problem(409, "Program deleted", f"program {pid} is deleted, for good")
            if old["kind"] != body.kind:
                raise Problem(
                    409,
                    "Program kind cannot change",
                    f"program {pid} is a {old['kind']} program, not {body.kind}: create a new "
                    "program and move the card types to it",
                )
        row = await conn.fetchrow(
            """INSERT INTO programs (id, association_id, name, kind, families, valid_from,
                   valid_until, points_per_euro, units_per_reward, reward_cents,
                   threshold_visits, threshold_max_days)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   families = excluded.families, valid_from = excluded.valid_from,
                   valid_until = excluded.valid_until, points_per_euro = excluded.points_per_euro,
                   units_per_reward = excluded.units_per_reward,
                   reward_cents = excluded.reward_cents,
                   threshold_visits = excluded.threshold_visits,
                   threshold_max_days = excluded.threshold_max_days
               RETURNING *, xmax = 0 AS created""",
            pid,
            aid,
            body.name,
            body.kind,
            sorted(set(body.families)) if body.families is not None else None,
            body.valid_from,
            body.valid_until,
            body.points_per_euro,
            body.units_per_reward,
            body.reward_cents,
            body.threshold_visits,
            body.threshold_max_days,
        )
    return json_response(_program_out(row), 201 if row["created"] else 200)


@api.route("GET", _PROGRAM_PATH, summary="A program", returns=ProgramOut, tag=TAG)
async def get_program(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    async with rt.pool.acquire() as conn:
        row = await _program(conn, aid, pid)
    return json_response(_program_out(row))


@api.route(
    "GET",
    "/v1/associations/{association_id}/programs",
    summary="The programs of an association, deleted ones included",
    returns=Programs,
    tag=TAG,
)
async def list_programs(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    async with rt.pool.acquire() as conn:
        await association(conn, aid)
        rows = await conn.fetch(
            "SELECT * FROM programs WHERE association_id = $1 ORDER BY created_at, id", aid
        )
    return json_response(Programs([_program_out(r) for r in rows]))


async def _move(request: web.Request, move: Callable[[Program], Program]) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    async with _change(rt) as conn:
        row = await _program(conn, aid, pid, lock=True)
        try:
            moved = move(program_of(row))
        except ProgramTransitionRefused as exc:
            raise Problem(409, "Program transition refused", str(exc)) from exc
        row = await conn.fetchrow(
            "UPDATE programs SET status = $2 WHERE id = $1 RETURNING *", pid, str(moved.status)
        )
    return json_response(_program_out(row))


@api.route(
    "POST",
    _PROGRAM_PATH + "/suspend",
    summary="Suspend an active program",
    returns=ProgramOut,
    tag=TAG,
)
async def suspend_program(request: web.Request) -> web.Response:
    """Its card types earn nothing meanwhile (refusal program_suspended)."""
    return await _move(request, transitions.suspend)


@api.route(
    "POST",
    _PROGRAM_PATH + "/resume",
    summary="Resume a suspended program",
    returns=ProgramOut,
    tag=TAG,
)
async def resume_program(request: web.Request) -> web.Response:
    return await _move(request, transitions.resume)


@api.route(
    "DELETE",
    _PROGRAM_PATH,
    summary="Delete a program (final; the row stays, with status deleted)",
    returns=ProgramOut,
    tag=TAG,
)
async def delete_program(request: web.Request) -> web.Response:
    """Its card types earn nothing from then on (refusal program_deleted)."""
    return await _move(request, transitions.delete)


# --- promotions ------------------------------------------------------------------------------


def _promotion_out(row: asyncpg.Record) -> PromotionOut:
    data = dict(row)
    num, den = data.pop("multiplier_numerator"), data.pop("multiplier_denominator")
    data["multiplier"] = MultiplierOut(numerator=num, denominator=den) if num is not None else None
    return PromotionOut.model_validate(data)


@api.route(
    "PUT",
    "/v1/associations/{association_id}/promotions/{promotion_id}",
    summary="Create or update a promotion: a rate override or a multiplier, for a period",
    body=PromotionIn,
    returns=PromotionOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_promotion(request: web.Request) -> web.Response:
    """Network-wide without merchant_id, else the merchant's own. Exactly one of
    taux_client_bps (an override) and multiplier."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    prid = uuid_param(request, "promotion_id")
    body = await read_model(request, PromotionIn)
    if (body.taux_client_bps is None) == (body.multiplier is None):
        raise Problem(
            422,
            "Invalid promotion",
            "give exactly one of taux_client_bps (a rate override) and multiplier",
        )
    m = body.multiplier
    try:
        effect = (
            Multiplier(m.numerator, m.denominator)
            if m is not None
            else RateOverride(body.taux_client_bps or 0)
        )
        Promotion(
            promotion_id=str(prid),
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            effect=effect,
            merchant_id=str(body.merchant_id) if body.merchant_id else None,
            families=frozenset(body.families) if body.families is not None else None,
        )
    except ValueError as exc:
        raise Problem(422, "Invalid promotion", str(exc)) from exc
    async with _change(rt) as conn:
        await association(conn, aid)
        if body.merchant_id is not None:
            await _merchant_of(conn, body.merchant_id, aid)
        old = await conn.fetchrow("SELECT * FROM promotions WHERE id = $1 FOR UPDATE", prid)
        if old is not None:
            if old["association_id"] != aid:
                raise Problem(
                    409,
                    "Promotion of another association",
                    f"promotion {prid} is association {old['association_id']}'s",
                )
            if old["withdrawn_at"] is not None:
                raise Problem(
                    409,
                    "Promotion withdrawn",
                    f"promotion {prid} was withdrawn at {old['withdrawn_at'].isoformat()}: "
                    "create a new one",
                )
        row = await conn.fetchrow(
            """INSERT INTO promotions (id, association_id, merchant_id, name, families,
                   starts_at, ends_at, taux_client_bps, multiplier_numerator,
                   multiplier_denominator)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (id) DO UPDATE SET merchant_id = excluded.merchant_id,
                   name = excluded.name, families = excluded.families,
                   starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                   taux_client_bps = excluded.taux_client_bps,
                   multiplier_numerator = excluded.multiplier_numerator,
                   multiplier_denominator = excluded.multiplier_denominator
               RETURNING *, xmax = 0 AS created""",
            prid,
            aid,
            body.merchant_id,
            body.name,
            sorted(set(body.families)) if body.families is not None else None,
            body.starts_at,
            body.ends_at,
            body.taux_client_bps,
            m.numerator if m else None,
            m.denominator if m else None,
        )
    return json_response(_promotion_out(row), 201 if row["created"] else 200)


@api.route(
    "GET",
    "/v1/associations/{association_id}/promotions",
    summary="The promotions of an association and of its merchants",
    query=PromotionQuery,
    returns=Promotions,
    tag=TAG,
)
async def list_promotions(request: web.Request) -> web.Response:
    """All of them, withdrawn ones included; with live_at, only those live then."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    q = read_query(request, PromotionQuery)
    async with rt.pool.acquire() as conn:
        await association(conn, aid)
        rows = await conn.fetch(
            """SELECT * FROM promotions WHERE association_id = $1
                 AND ($2::timestamptz IS NULL
                      OR (withdrawn_at IS NULL AND starts_at <= $2 AND $2 < ends_at))
               ORDER BY starts_at, id""",
            aid,
            q.live_at,
        )
    return json_response(Promotions([_promotion_out(r) for r in rows]))


@api.route(
    "DELETE",
    "/v1/associations/{association_id}/promotions/{promotion_id}",
    summary="Withdraw a promotion (it stays listed, with withdrawn_at)",
    returns=PromotionOut,
    tag=TAG,
)
async def withdraw_promotion(request: web.Request) -> web.Response:
    """Withdrawing again changes nothing and answers the promotion as it is."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    prid = uuid_param(request, "promotion_id")
    async with _change(rt) as conn:
        row = await conn.fetchrow(
            """UPDATE promotions SET withdrawn_at = coalesce(withdrawn_at, $3)
               WHERE id = $1 AND association_id = $2 RETURNING *""",
            prid,
            aid,
            clock.now(),  # sales are dated on the services' clock: withdrawal is compared with them
        )
        if row is None:
            await association(conn, aid)
            raise Problem(404, "Unknown promotion", f"no promotion {prid} in association {aid}")
    return json_response(_promotion_out(row))


# --- card types, their rates and acceptances -------------------------------------------------


@api.route(
    "PUT",
    "/v1/associations/{association_id}/card-types/{card_type_id}",
    summary="Create or update a card type (F1)",
    body=CardTypeIn,
    returns=CardTypeOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_card_type(request: web.Request) -> web.Response:
    """association, generic and merchant cards earn under a program of the association;
    gift, prepaid and epurse cards hold money and have none. A merchant card names its
    merchant. The association's default card type stays an earning one."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    ctid = uuid_param(request, "card_type_id")
    body = await read_model(request, CardTypeIn)
    if body.kind in EARNING_KINDS and body.program_id is None:
        raise Problem(
            422,
            "Invalid card type",
            f"a {body.kind} card type earns under a program: give program_id",
        )
    if body.kind in MONEY_KINDS and body.program_id is not None:
        raise Problem(
            422,
            "Invalid card type",
            f"a {body.kind} card holds money and earns nothing: no program_id",
        )
    if (body.kind == "merchant") != (body.merchant_id is not None):
        raise Problem(
            422,
            "Invalid card type",
            "a merchant card type names its merchant_id, and only a merchant card type does",
        )
    async with _change(rt) as conn:
        owner = await association(conn, aid)
        if body.program_id is not None:
            program = await conn.fetchrow(
                "SELECT association_id, status FROM programs WHERE id = $1", body.program_id
            )
            if program is None:
                raise Problem(404, "Unknown program", f"no program {body.program_id}")
            if program["association_id"] != aid:
                raise Problem(
                    409,
                    "Program of another association",
                    f"program {body.program_id} is association {program['association_id']}'s",
                )
            if program["status"] == ProgramStatus.DELETED:
                raise Problem(409, "Program deleted", f"program {body.program_id} is deleted")
        if body.merchant_id is not None:
            await _merchant_of(conn, body.merchant_id, aid)
        old = await conn.fetchrow("SELECT * FROM card_types WHERE id = $1 FOR UPDATE", ctid)
        if old is not None:
            if old["association_id"] != aid:
                raise Problem(
                    409,
                    "Card type of another association",
                    f"card type {ctid} is association {old['association_id']}'s",
                )
            if old["kind"] != body.kind and await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM cards WHERE card_type_id = $1)", ctid
            ):
                raise Problem(
                    409,
                    "Card type kind cannot change",
                    f"cards of type {ctid} were issued as {old['kind']} cards",
                )
        if owner["default_card_type_id"] == ctid and body.kind not in EARNING_KINDS:
            raise Problem(
                409,
                "Default card type",
                f"card type {ctid} is association {aid}'s default (cardless accounts earn "
                "under it): it stays association, generic or merchant",
            )
        row = await conn.fetchrow(
            """INSERT INTO card_types (id, association_id, name, kind, program_id,
                   taux_client_bps, taux_uc_bps, merchant_id, validity_months)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                   program_id = excluded.program_id, taux_client_bps = excluded.taux_client_bps,
                   taux_uc_bps = excluded.taux_uc_bps, merchant_id = excluded.merchant_id,
                   validity_months = excluded.validity_months
               RETURNING *, xmax = 0 AS created""",
            ctid,
            aid,
            body.name,
            body.kind,
            body.program_id,
            body.taux_client_bps,
            body.taux_uc_bps,
            body.merchant_id,
            body.validity_months,
        )
    return json_response(CardTypeOut.model_validate(dict(row)), 201 if row["created"] else 200)


@api.route(
    "GET",
    "/v1/associations/{association_id}/card-types",
    summary="The card types of an association",
    returns=CardTypes,
    tag=TAG,
)
async def list_card_types(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    async with rt.pool.acquire() as conn:
        await association(conn, aid)
        rows = await conn.fetch(
            "SELECT * FROM card_types WHERE association_id = $1 ORDER BY created_at, id", aid
        )
    return json_response(CardTypes([CardTypeOut.model_validate(dict(r)) for r in rows]))


@api.route(
    "GET",
    "/v1/card-types/{card_type_id}",
    summary="A card type with its rates per merchant and its acceptances",
    returns=CardTypeDetail,
    tag=TAG,
)
async def get_card_type(request: web.Request) -> web.Response:
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    async with rt.pool.acquire() as conn:
        row = await _card_type(conn, ctid)
        rates = await conn.fetch(
            "SELECT * FROM card_type_rates WHERE card_type_id = $1 ORDER BY merchant_id", ctid
        )
        acceptances = await conn.fetch(
            """SELECT * FROM acceptances WHERE card_type_id = $1
               ORDER BY association_id, merchant_id NULLS FIRST""",
            ctid,
        )
    return json_response(
        CardTypeDetail.model_validate(
            {
                **dict(row),
                "rates": [dict(r) for r in rates],
                "acceptances": [dict(a) for a in acceptances],
            }
        )
    )


async def _accepted_at(conn: asyncpg.Connection, ct: asyncpg.Record, m: asyncpg.Record) -> bool:
    """As ``rulebooks.Snapshot._accepting``: a merchant card at its merchant only, the others
    at their association's merchants and wherever an acceptance says."""
    if ct["kind"] == "merchant":
        return bool(ct["merchant_id"] == m["id"])
    if ct["association_id"] == m["association_id"]:
        return True
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM acceptances WHERE card_type_id = $1
                 AND association_id = $2 AND (merchant_id IS NULL OR merchant_id = $3))""",
            ct["id"],
            m["association_id"],
            m["id"],
        )
    )


_RATE_PATH = "/v1/card-types/{card_type_id}/rates/{merchant_id}"


@api.route(
    "PUT",
    _RATE_PATH,
    summary="Set a card type's own rates at one merchant",
    body=RateIn,
    returns=RateOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_rate(request: web.Request) -> web.Response:
    """The merchant must accept the card type; a rate left out is the merchant's own."""
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, RateIn)
    if body.taux_client_bps is None and body.taux_uc_bps is None:
        raise Problem(
            422,
            "Invalid rates",
            "give taux_client_bps, taux_uc_bps or both (DELETE removes the card type's rates)",
        )
    async with _change(rt) as conn:
        ct = await _card_type(conn, ctid)
        merchant = await _merchant(conn, mid)
        if not await _accepted_at(conn, ct, merchant):
            raise Problem(
                409,
                "Card type not accepted",
                f"merchant {mid} does not accept card type {ctid}: accept it first "
                f"(PUT /v1/card-types/{ctid}/acceptances/{merchant['association_id']})",
            )
        row = await conn.fetchrow(
            """INSERT INTO card_type_rates (card_type_id, merchant_id, taux_client_bps, taux_uc_bps)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (card_type_id, merchant_id) DO UPDATE SET
                   taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps
               RETURNING *, xmax = 0 AS created""",
            ctid,
            mid,
            body.taux_client_bps,
            body.taux_uc_bps,
        )
    return json_response(RateOut.model_validate(dict(row)), 201 if row["created"] else 200)


@api.route(
    "DELETE",
    _RATE_PATH,
    summary="Remove a card type's own rates at one merchant",
    returns=RateOut,
    tag=TAG,
)
async def delete_rate(request: web.Request) -> web.Response:
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    mid = uuid_param(request, "merchant_id")
    async with _change(rt) as conn:
        row = await conn.fetchrow(
            "DELETE FROM card_type_rates WHERE card_type_id = $1 AND merchant_id = $2 RETURNING *",
            ctid,
            mid,
        )
        if row is None:
            await _card_type(conn, ctid)
            raise Problem(
                404, "Unknown rate", f"card type {ctid} has no rates of its own at merchant {mid}"
            )
    return json_response(RateOut.model_validate(dict(row)))


_ACCEPTANCE_PATH = "/v1/card-types/{card_type_id}/acceptances/{association_id}"


@api.route(
    "PUT",
    _ACCEPTANCE_PATH,
    summary="Have another association (or one of its merchants) accept a card type",
    query=AcceptanceQuery,
    returns=AcceptanceOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_acceptance(request: web.Request) -> web.Response:
    """A works council's card accepted by a second association, say. The card type's own
    association accepts it already; a merchant's personal card is accepted at its merchant only."""
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    aid = uuid_param(request, "association_id")
    q = read_query(request, AcceptanceQuery)
    async with _change(rt) as conn:
        ct = await _card_type(conn, ctid)
        await association(conn, aid)
        if q.merchant_id is not None:
            await _merchant_of(conn, q.merchant_id, aid)
        if ct["kind"] == "merchant":
            raise Problem(
                409,
                "Merchant card",
                f"card type {ctid} is merchant {ct['merchant_id']}'s personal card: "
                "accepted there only",
            )
        if ct["association_id"] == aid:
            raise Problem(
                409,
                "Own association",
                f"card type {ctid} is association {aid}'s: its merchants accept it already",
            )
        inserted = await conn.fetchval(
            """INSERT INTO acceptances (card_type_id, association_id, merchant_id)
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true""",
            ctid,
            aid,
            q.merchant_id,
        )
    out = AcceptanceOut(card_type_id=ctid, association_id=aid, merchant_id=q.merchant_id)
    return json_response(out, 201 if inserted else 200)


@api.route(
    "DELETE",
    _ACCEPTANCE_PATH,
    summary="Withdraw an acceptance of a card type",
    query=AcceptanceQuery,
    returns=AcceptanceOut,
    tag=TAG,
)
async def delete_acceptance(request: web.Request) -> web.Response:
    """With merchant_id, the acceptance by that merchant; without, the association's."""
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    aid = uuid_param(request, "association_id")
    q = read_query(request, AcceptanceQuery)
    async with _change(rt) as conn:
        deleted = await conn.fetchval(
            """DELETE FROM acceptances WHERE card_type_id = $1 AND association_id = $2
                 AND merchant_id IS NOT DISTINCT FROM $3 RETURNING true""",
            ctid,
            aid,
            q.merchant_id,
        )
        if not deleted:
            await _card_type(conn, ctid)
            who = f"merchant {q.merchant_id} of " if q.merchant_id else ""
            raise Problem(
                404,
                "Unknown acceptance",
                f"{who}association {aid} does not accept card type {ctid}",
            )
    return json_response(
        AcceptanceOut(card_type_id=ctid, association_id=aid, merchant_id=q.merchant_id)
    )


# --- the dry run -----------------------------------------------------------------------------


def explain(ev: Evaluation, amount_cents: int, threshold: ThresholdPolicy) -> str:
    """One English sentence from the evaluation's steps and refusals."""
    sale = f"A sale of {format_eur(amount_cents)}"
    fee = f"the merchant pays a fee of {format_eur(ev.fee_cents)} ({ev.taux_uc_bps} bp)"
    if ev.refused:
        reasons = "; ".join(r.detail for r in ev.refusals)
        return f"{sale} earns nothing because {reasons}; {fee}."
    if ev.kind is ProgramKind.CAGNOTTE:
        earned = f"{format_eur(ev.reward_cents)} in the cagnotte at {ev.taux_client_bps} bp"
    elif ev.kind is ProgramKind.POINTS:
        earned = f"{ev.points} points"
    else:
        earned = f"{ev.stamps} stamps"
    wait = ""
    if threshold.visits_needed > 1:
        wait = f", held pending until the customer's visit number {threshold.visits_needed}"
        if threshold.max_period is not None:
            wait += f" within {threshold.max_period.days} days"
    applied = [s.detail for s in ev.steps if s.applied]
    skipped = [
        s.detail for s in ev.steps if not s.applied and s.rule.startswith(("promotion.", "family."))
    ]
    why = "; ".join(applied)
    if skipped:
        why += "; not applied: " + "; ".join(skipped)
    return f"{sale} earns {earned}{wait}: {why}; {fee}."


@api.route(
    "POST",
    "/v1/associations/{association_id}/dry-run",
    summary="What would this sale earn, and why",
    body=DryRunIn,
    returns=DryRunOut,
    tag=TAG,
)
async def dry_run(request: web.Request) -> web.Response:
    """The rules engine's evaluation of a sale that is not recorded: the reward, the fee, every
    rule looked at (steps), the refusals, the visit threshold, and one sentence saying why. The
    card type is the association's default unless given; it must be the association's."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = await read_model(request, DryRunIn)
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        snapshot = await BOOKS.current(conn)
    assoc = snapshot.associations.get(aid)
    if assoc is None:
        raise Problem(404, "Unknown association", f"no association {aid}")
    ctid = body.card_type_id or assoc["default_card_type_id"]
    if ctid is None:
        raise Problem(
            422, "No card type", f"association {aid} has no default card type: give card_type_id"
        )
    rules = snapshot.rules(ctid)
    if rules is None:
        raise Problem(404, "Unknown card type", f"no card type {ctid}")
    if rules.association_id != aid:
        raise Problem(
            409,
            "Card type of another association",
            f"card type {ctid} is association {rules.association_id}'s: dry-run it there",
        )
    mid = body.merchant_id
    merchant = snapshot.merchants.get(mid)
    if merchant is None:
        raise Problem(404, "Unknown merchant", f"no merchant {mid}")
    if mid not in rules.accepted_at:
        reason = (
            "a merchant's personal card is accepted at its own merchant only"
            if rules.kind == "merchant"
            else f"merchant {mid}'s association {merchant.association_id} does not accept it"
        )
        raise Problem(
            422,
            "Card type not accepted",
            f"card type {ctid} is not accepted at merchant {mid}: {reason}",
        )
    if rules.book is None:
        raise Problem(
            422,
            "Card type earns nothing",
            f"card type {ctid} is a {rules.kind} card: it holds money and earns nothing",
        )
    at = body.at or clock.now()
    ev = rules.book.evaluate(
        Sale(str(mid), body.product_family, body.amount_cents, at, body.quantity)
    )
    threshold = rules.threshold
    out = DryRunOut(
        association_id=aid,
        card_type_id=ctid,
        program_id=UUID(rules.book.program.program_id),
        merchant_id=mid,
        product_family=body.product_family,
        amount_cents=body.amount_cents,
        quantity=body.quantity,
        at=at,
        kind=str(ev.kind),
        reward_cents=ev.reward_cents,
        points=ev.points,
        stamps=ev.stamps,
        fee_cents=ev.fee_cents,
        taux_client_bps=ev.taux_client_bps,
        taux_uc_bps=ev.taux_uc_bps,
        refused=ev.refused,
        threshold=ThresholdOut(
            visits_needed=threshold.visits_needed,
            max_days=threshold.max_period.days if threshold.max_period else None,
        ),
        steps=[
            StepOut(rule=s.rule, applied=s.applied, detail=s.detail, rate=s.rate) for s in ev.steps
        ],
        refusals=[RefusalOut(code=r.code, detail=r.detail) for r in ev.refusals],
        explanation=explain(ev, body.amount_cents, threshold),
        rules_version=snapshot.version,
    )
    return json_response(out)
