"""Back-office routes of accounts and cards: look-ups, details and identifiers (F2), issuance
and print batches (F3), the card life cycle and the blacklist terminals download (F4).

Each operation is one transaction, with its events written to the outbox in it. Locks are
taken in one order everywhere, the order of the sales path: account, then card, then the
association's serial counter, then the blacklist; a deadlock or serialization failure that
still happens (with code outside this module) is retried.
"""

from __future__ import annotations

import calendar
import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from services.cards import ledger, serials
from services.cards.domain import BLOCKED, CardState, Movement, is_dormant
from services.cards.web import MAX_BATCH, PROBLEMS, api, association, card_param, event
from shared import clock, db, outbox
from shared.contracts import AccountAdjusted, AccountOpened, BlacklistChanged, CardIssued
from shared.events import Event
from shared.fields import Name, PhoneNumber, Text
from shared.http import (
    In,
    Problem,
    json_response,
    parse_model,
    read_query,
    stream_csv,
    uuid_param,
)
from shared.rules.codes import ISSUER_DIGITS, card_number, format_card_number, parse_card_number
from shared.rules.phone import normalise
from shared.service import back_office

ACTOR = "back-office"
ACCOUNTS, CARDS, BLACKLIST = "accounts", "cards", "blacklist"
ENTRIES_SHOWN = 200
MAX_VERSION = 2**63 - 1
BLACKLIST_LOCK = int.from_bytes(b"cardsBL", "big")
M = TypeVar("M", bound=BaseModel)


# --- input values ---------------------------------------------------------------------------


# No space nor control character in an address: it is stored and looked up as given.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
_EMAIL = re.compile(rf"{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}")
_TOKEN = re.compile(r"[A-Za-z0-9._:+/=-]{4,200}")
_POSTAL = re.compile(r"[0-9]{5}")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def _token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("a token is 4 to 200 letters, digits or ._:+/=-")
    return value


def _postal_code(value: str) -> str:
    if not _POSTAL.fullmatch(value):
        raise ValueError("a postal code is 5 digits")
    return value


def _birth_date(value: date) -> date:
    if not date(1900, 1, 1) <= value <= clock.today_paris():
        raise ValueError("a birth date is between 1900-01-01 and today")
    return value


Title = Annotated[Text, Field(max_length=20)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]
PostalCode = Annotated[str, Field(pattern=r"^[0-9]{5}$"), AfterValidator(_postal_code)]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Status = Literal["active", "lost", "stolen", "replaced", "cancelled", "cloned"]


# --- responses ------------------------------------------------------------------------------


class Account(BaseModel):
    """An account: its holder's details and its buckets (``balance_cents`` is the available
    cagnotte)."""

    id: UUID
    association_id: UUID
    phone: str | None
    email: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    postal_code: str | None
    balance_cents: int = Field(description="the available cagnotte, spendable now")
    pending_cents: int = Field(description="rewards waiting for the visit threshold (F8)")
    units: int = Field(description="points or stamps not yet converted")
    stored_value_cents: int = Field(description="money loaded on a gift, prepaid or e-purse card")
    visits: int = Field(description="purchases counted towards the visit threshold")
    window_started_at: datetime | None
    opened_by_merchant: UUID | None
    opened_at: datetime


class Card(BaseModel):
    number: str
    formatted_number: str
    association_id: UUID
    account_id: UUID
    card_type_id: UUID
    card_type_name: str
    status: Status
    blacklisted: bool
    dormant: bool = Field(description="unused for the association's dormant_after_days (F4)")
    issued_at: datetime
    issued_by_merchant: UUID | None
    batch_id: UUID | None
    first_name: str | None
    last_name: str | None
    expires_on: date | None
    last_used_at: datetime | None
    reactivated_at: datetime | None
    status_changed_at: datetime
    replaced_by: str | None
    replaces: str | None


class Identifier(BaseModel):
    kind: Literal["phone", "email", "token", "card"]
    value: str
    linked_at: datetime | None


class Entry(BaseModel):
    id: int
    kind: str
    bucket: str
    reference_id: UUID
    amount_cents: int
    balance_after_cents: int
    purchase_cents: int | None
    product_family: str | None
    taux_client_bps: int | None
    fee_cents: int | None
    merchant_id: UUID | None
    shop_id: UUID | None
    terminal_id: UUID | None
    card_number: str | None
    reverses: UUID | None
    actor: str | None
    note: str | None
    occurred_at: datetime
    created_at: datetime


class AccountDetail(Account):
    cards: list[Card]
    identifiers: list[Identifier]
    entries: list[Entry] = Field(description=f"the last {ENTRIES_SHOWN} entries, newest first")


class LinkedIdentifier(BaseModel):
    account_id: UUID
    kind: Literal["email", "token"]
    value: str
    linked_at: datetime


class BlacklistChange(BaseModel):
    version: int
    card_number: str
    association_id: UUID
    action: Literal["add", "remove"]
    reason: str
    changed_at: datetime


class Batch(BaseModel):
    batch_id: UUID
    association_id: UUID
    card_type_id: UUID
    size: int
    created_at: datetime
    first_number: str
    last_number: str
    csv: str = Field(description="the path of the batch's CSV file for the card printer")


class Blocked(BaseModel):
    card: Card
    blacklist_change: BlacklistChange | None = Field(
        description="null: the card was already blocked for this reason (a retry)"
    )


class Reactivated(BaseModel):
    card: Card
    was_dormant: bool
    was_lost: bool
    pending_lost_cents: int = Field(description="the account's pending rewards lost now")
    ledger_reference: UUID | None = Field(
        description="the reference of the pending_lost entry (null: no pending rewards to lose)"
    )
    blacklist_change: BlacklistChange | None


class Replaced(BaseModel):
    card: Card = Field(description="the new card")
    replaced: Card = Field(description="the old card, now status replaced")
    blacklist_change: BlacklistChange | None = Field(
        description="the old card's entry on the blacklist (null: it was already on it)"
    )


class BlacklistPage(BaseModel):
    version: int = Field(description="the network's current blacklist version")
    changes: list[BlacklistChange]
    next: int | None = Field(
        description="more changes follow: ask again with since=next; null: hold `version`"
    )


# --- requests -------------------------------------------------------------------------------


class AccountLookup(BaseModel):
    """Exactly one identifier of the account."""

    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    card: str | None = Field(default=None, max_length=64, description="the card number")
    token: str | None = Field(default=None, max_length=200, description="a bank-card token")


class AccountPatch(In):
    """The fields to change; null clears one (except the phone, which can only be changed)."""

    title: Title | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    birth_date: BirthDate | None = None
    postal_code: PostalCode | None = None
    phone: PhoneNumber | None = None


class IdentifierIn(In):
    kind: Literal["email", "token"]
    value: str = Field(min_length=1, max_length=254)


class IssueIn(In):
    issue_id: UUID = Field(
        description="chosen by the client: a retry with the same id answers the same card"
    )
    card_type_id: UUID | None = Field(default=None, description="default: the association's")
    account_id: UUID | None = Field(default=None, description="link the card to this account")
    phone: PhoneNumber | None = Field(
        default=None, description="link the card to this phone's account (opened if none)"
    )
    first_name: Name | None = None
    last_name: Name | None = None
    issued_by_merchant: UUID | None = None


class BatchIn(In):
    batch_id: UUID = Field(description="chosen by the client: a retry answers the same batch")
    card_type_id: UUID | None = Field(default=None, description="default: the association's")
    size: int = Field(ge=1, le=MAX_BATCH)


class BlockIn(In):
    reason: Literal["lost", "stolen"]


class ReplacementIn(In):
    first_name: Name | None = Field(default=None, description="default: the old card's")
    last_name: Name | None = Field(default=None, description="default: the old card's")
    issued_by_merchant: UUID | None = None


class RenewalIn(In):
    expires_on: date | None = Field(
        default=None, description="default: today plus the card type's validity_months"
    )


class BlacklistQuery(BaseModel):
    since: int = Field(default=0, ge=0, le=MAX_VERSION, description="the version you hold")
    limit: int = Field(default=1000, ge=1, le=10_000)


# --- helpers --------------------------------------------------------------------------------


def _now() -> datetime:
    return clock.now()


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, on the last day of a shorter month (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def _optional_body(request: web.Request, model: type[M]) -> M:
    """A body whose fields are all optional may be left out altogether."""
    raw = await request.read()
    return parse_model(raw if raw.strip() else b"{}", model)


# A card is on the blacklist exactly while its status blocks it: every change of status to or
# from a blocking one writes the matching blacklist change in the same transaction.
_CARD_SELECT = """
SELECT c.*, t.name AS card_type_name, t.validity_months, a.dormant_after_days, a.issuer_prefix,
       (SELECT o.number FROM cards o
        WHERE o.account_id = c.account_id AND o.replaced_by = c.number LIMIT 1) AS replaces
FROM cards c
JOIN card_types t ON t.id = c.card_type_id
JOIN associations a ON a.id = c.association_id"""


def _card(r: asyncpg.Record, now: datetime) -> Card:
    state = CardState(r["number"], r["status"], r["expires_on"], r["last_used_at"], r["issued_at"])
    return Card(
        number=r["number"],
        formatted_number=format_card_number(r["number"]),
        association_id=r["association_id"],
        account_id=r["account_id"],
        card_type_id=r["card_type_id"],
        card_type_name=r["card_type_name"],
        status=r["status"],
        blacklisted=r["status"] in BLOCKED,
        dormant=is_dormant(state, now, r["dormant_after_days"]),
        issued_at=r["issued_at"],
        issued_by_merchant=r["issued_by_merchant"],
        batch_id=r["batch_id"],
        first_name=r["first_name"],
        last_name=r["last_name"],
        expires_on=r["expires_on"],
        last_used_at=r["last_used_at"],
        reactivated_at=r["reactivated_at"],
        status_changed_at=r["status_changed_at"],
        replaced_by=r["replaced_by"],
        replaces=r["replaces"],
    )


def _unknown_card(number: str) -> Problem:
    return Problem(404, "Unknown card", f"no card {number}", PROBLEMS + "unknown-card")


async def _load_card(pool: asyncpg.Pool, number: str) -> Card:
    row = await pool.fetchrow(_CARD_SELECT + " WHERE c.number = $1", number)
    if row is None:
        raise _unknown_card(number)
    return _card(row, _now())


async def _lock_card(conn: asyncpg.Connection, number: str) -> asyncpg.Record:
    row = await conn.fetchrow(_CARD_SELECT + " WHERE c.number = $1 FOR UPDATE OF c", number)
    if row is None:
        raise _unknown_card(number)
    return row


async def _card_account(conn: asyncpg.Connection, number: str) -> UUID:
    account_id: UUID | None = await conn.fetchval(
        "SELECT account_id FROM cards WHERE number = $1", number
    )
    if account_id is None:
        raise _unknown_card(number)
    return account_id


async def blacklist_change(
    conn: asyncpg.Connection,
    card: asyncpg.Record | dict[str, Any],
    action: Literal["add", "remove"],
    reason: Literal["lost", "stolen", "replaced", "cloned", "found"],
    at: datetime,
    events: list[Event[Any]],
) -> BlacklistChange:
    """Append a change with the next version, network-wide (``card``: its number and
    association_id), and its ``BlacklistChanged`` event to ``events``. Also used by the
    offline checks (services/cards/offline.py) for a cloned card."""
    # Every writer draws its version under this lock, held until commit: versions commit in
    # the order they are drawn, so a terminal asking "since V" never misses a change that
    # committed late. A rolled-back draw leaves a gap, which is harmless.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", BLACKLIST_LOCK)
    row = await conn.fetchrow(
        """INSERT INTO blacklist_changes (card_number, association_id, action, reason, changed_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        card["number"],
        card["association_id"],
        action,
        reason,
        at,
    )
    change = BlacklistChange.model_validate(dict(row))
    events.append(
        event(
            BlacklistChanged(
                blacklist_version=change.version,
                card_number=change.card_number,
                association_id=change.association_id,
                action=action,
                reason=reason,
                changed_at=change.changed_at,
            ),
            f"card/{change.card_number}",
        )
    )
    return change


def _issuer_prefix(association_id: UUID, prefix: str | None) -> str:
    if prefix is None:
        raise Problem(
            409,
            "No issuer prefix",
            f"association {association_id} has no issuer prefix, the first {ISSUER_DIGITS} "
            "digits of its card numbers: set it with PUT /v1/associations/"
            f'{association_id} {{..., "issuer_prefix": "NNNNNN"}}, then issue cards',
            PROBLEMS + "no-issuer-prefix",
        )
    return prefix


async def _card_type(
    conn: asyncpg.Connection, association: asyncpg.Record, card_type_id: UUID | None
) -> asyncpg.Record:
    wanted = card_type_id or association["default_card_type_id"]
    if wanted is None:
        raise Problem(
            409,
            "No card type",
            f"association {association['id']} has no default card type: give card_type_id",
        )
    row = await conn.fetchrow(
        "SELECT id, name, validity_months FROM card_types WHERE id = $1 AND association_id = $2",
        wanted,
        association["id"],
    )
    if row is None:
        raise Problem(
            422, "Unknown card type", f"no card type {wanted} in association {association['id']}"
        )
    return row


async def _check_merchant(
    conn: asyncpg.Connection, association_id: UUID, merchant_id: UUID | None
) -> None:
    if merchant_id is None:
        return
    owner = await conn.fetchval("SELECT association_id FROM merchants WHERE id = $1", merchant_id)
    if owner != association_id:
        raise Problem(
            422,
            "Unknown merchant",
            f"merchant {merchant_id} is not a merchant of association {association_id}",
        )


async def _insert_card(
    conn: asyncpg.Connection,
    *,
    number: str,
    association_id: UUID,
    card_type_id: UUID,
    account_id: UUID,
    batch_id: UUID,
    issued_at: datetime,
    issued_by_merchant: UUID | None,
    first_name: str | None,
    last_name: str | None,
    expires_on: date | None,
) -> None:
    """One card, in a print batch of its own (so it can be printed like any batch)."""
    await conn.execute(
        """INSERT INTO card_batches (id, association_id, card_type_id, size, created_at)
           VALUES ($1, $2, $3, 1, $4)""",
        batch_id,
        association_id,
        card_type_id,
        issued_at,
    )
    try:
        await conn.execute(
            """INSERT INTO cards (number, association_id, card_type_id, account_id, issued_at,
                                  issued_by_merchant, batch_id, first_name, last_name, expires_on,
                                  status_changed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $5)""",
            number,
            association_id,
            card_type_id,
            account_id,
            issued_at,
            issued_by_merchant,
            batch_id,
            first_name,
            last_name,
            expires_on,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "Card number taken",
            f"card {number} already exists (imported under this prefix?): move the "
            "association's next serial past it",
        ) from exc


def _expiry(issued_at: datetime, validity_months: int | None) -> date | None:
    return None if validity_months is None else add_months(issued_at.date(), validity_months)


def _card_issued(
    number: str,
    account_id: UUID,
    association_id: UUID,
    card_type_id: UUID,
    issued_at: datetime,
    issued_by_merchant: UUID | None,
    first_name: str | None,
    last_name: str | None,
    replaces: str | None = None,
) -> Event[Any]:
    return event(
        CardIssued(
            card_number=number,
            account_id=account_id,
            association_id=association_id,
            card_type_id=card_type_id,
            first_name=first_name,
            last_name=last_name,
            issued_at=issued_at,
            issued_by_merchant=issued_by_merchant,
            replaces=replaces,
        ),
        f"card/{number}",
    )


# --- accounts -------------------------------------------------------------------------------


def _lookup_problem(field: str, exc: Exception) -> Problem:
    return Problem(
        400, "Invalid query", f"{field}: {exc}", errors=[{"field": field, "message": str(exc)}]
    )


@api.route(
    "GET",
    "/v1/associations/{association_id}/accounts",
    summary="Find an account by phone, e-mail, card number or bank-card token",
    query=AccountLookup,
    returns=Account,
    tag=ACCOUNTS,
)
async def find_account(request: web.Request) -> web.Response:
    """Give exactly one of `phone`, `email`, `card`, `token`."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    q = read_query(request, AccountLookup)
    given = {k: v for k, v in q.model_dump().items() if v is not None}
    if len(given) != 1:
        raise Problem(
            400,
            "One identifier",
            "give exactly one of phone, email, card, token"
            + (f" (got {', '.join(sorted(given))})" if given else ""),
        )
    ((kind, raw),) = given.items()
    sql: str
    try:
        if kind == "phone":
            value = normalise(raw)
            sql = "SELECT * FROM accounts WHERE association_id = $1 AND phone = $2"
        elif kind == "email":
            value = _email(raw)
            sql = """SELECT * FROM accounts WHERE association_id = $1 AND lower(email) = $2
                     UNION
                     SELECT a.* FROM account_identifiers i JOIN accounts a ON a.id = i.account_id
                     WHERE i.association_id = $1 AND i.kind = 'email' AND i.value = $2"""
        elif kind == "card":
            value = parse_card_number(raw)
            sql = """SELECT a.* FROM cards c JOIN accounts a ON a.id = c.account_id
                     WHERE c.association_id = $1 AND c.number = $2"""
        else:
            value = _token(raw)
            sql = """SELECT a.* FROM account_identifiers i JOIN accounts a ON a.id = i.account_id
                     WHERE i.association_id = $1 AND i.kind = 'token' AND i.value = $2"""
    except ValueError as exc:  # InvalidPhone and InvalidCode are ValueErrors too
        raise _lookup_problem(kind, exc) from exc
    rows = await rt.pool.fetch(sql, aid, value)
    if not rows:
        raise Problem(404, "Unknown account", f"no account with this {kind} in the association")
    if len(rows) > 1:
        ids = sorted(str(r["id"]) for r in rows)
        raise Problem(
            409,
            "Several accounts",
            f"{len(rows)} accounts share this {kind}: look them up by id",
            accounts=ids,
        )
    return json_response(Account.model_validate(dict(rows[0])))


@api.route(
    "GET",
    "/v1/accounts/{account_id}",
    summary="An account: buckets, details, cards, identifiers and its last ledger entries",
    returns=AccountDetail,
    tag=ACCOUNTS,
)
async def get_account(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        row = await conn.fetchrow("SELECT * FROM accounts WHERE id = $1", account_id)
        if row is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        cards = await conn.fetch(
            _CARD_SELECT + " WHERE c.account_id = $1 ORDER BY c.issued_at, c.number", account_id
        )
        linked = await conn.fetch(
            """SELECT kind, value, linked_at FROM account_identifiers
               WHERE account_id = $1 ORDER BY linked_at, kind, value""",
            account_id,
        )
        entries = await conn.fetch(
            "SELECT * FROM cagnotte_entries WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            account_id,
            ENTRIES_SHOWN,
        )
    now = _now()
    identifiers: list[Identifier] = []
    if row["phone"] is not None:
        identifiers.append(Identifier(kind="phone", value=row["phone"], linked_at=row["opened_at"]))
    if row["email"] is not None and not any(
        i["kind"] == "email" and i["value"] == row["email"].lower() for i in linked
    ):
        identifiers.append(Identifier(kind="email", value=row["email"], linked_at=None))
    identifiers += [Identifier.model_validate(dict(i)) for i in linked]
    identifiers += [
        Identifier(kind="card", value=c["number"], linked_at=c["issued_at"]) for c in cards
    ]
    detail = AccountDetail(
        **Account.model_validate(dict(row)).model_dump(),
        cards=[_card(c, now) for c in cards],
        identifiers=identifiers,
        entries=[Entry.model_validate(dict(e)) for e in entries],
    )
    return json_response(detail)


async def _email_lock(conn: asyncpg.Connection, association_id: UUID, email: str) -> None:
    """Serialise the checks of one e-mail address in one association."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"email/{association_id}/{email}"
    )


async def _email_owner(
    conn: asyncpg.Connection, association_id: UUID, email: str, account_id: UUID
) -> UUID | None:
    """Another account of the association that has this e-mail address, if any."""
    other: UUID | None = await conn.fetchval(
        """SELECT id FROM accounts WHERE association_id = $1 AND lower(email) = $2 AND id <> $3
           UNION ALL
           SELECT account_id FROM account_identifiers
           WHERE association_id = $1 AND kind = 'email' AND value = $2 AND account_id <> $3
           LIMIT 1""",
        association_id,
        email,
        account_id,
    )
    return other


@api.route(
    "PATCH",
    "/v1/accounts/{account_id}",
    summary="Complete or correct an account holder's details",
    body=AccountPatch,
    returns=Account,
    tag=ACCOUNTS,
)
async def patch_account(request: web.Request) -> web.Response:
    """Only the fields present change; null clears one. A phone or e-mail address already used
    by another account of the association is refused (409)."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    body = await _optional_body(request, AccountPatch)
    changes = {f: getattr(body, f) for f in body.model_fields_set}
    if "phone" in changes and changes["phone"] is None:
        raise Problem(422, "Phone required", "a phone number can be changed, not removed")

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await ledger.lock(conn, account_id)
        if row is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        aid = row["association_id"]
        if changes.get("email") is not None:
            await _email_lock(conn, aid, changes["email"])
            other = await _email_owner(conn, aid, changes["email"], account_id)
            if other is not None:
                raise Problem(
                    409,
                    "E-mail address in use",
                    f"another account of the association has this e-mail address: {other}",
                    account_id=str(other),
                )
        if "phone" in changes and changes["phone"] != row["phone"]:
            other = await conn.fetchval(
                "SELECT id FROM accounts WHERE association_id = $1 AND phone = $2",
                aid,
                changes["phone"],
            )
            if other is not None:
                raise Problem(
                    409,
                    "Phone in use",
                    f"another account of the association has this phone number: {other}",
                    account_id=str(other),
                )
        if not changes:
            return row
        columns = sorted(changes)
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
        try:
            updated: asyncpg.Record = await conn.fetchrow(
                f"UPDATE accounts SET {sets} WHERE id = $1 RETURNING *",
                account_id,
                *(changes[c] for c in columns),
            )
        except asyncpg.UniqueViolationError as exc:  # a phone taken since the check
            raise Problem(
                409, "Phone in use", "another account of the association has this phone number"
            ) from exc
        return updated

    row = await db.transaction(rt.pool, work)
    return json_response(Account.model_validate(dict(row)))


@api.route(
    "POST",
    "/v1/accounts/{account_id}/identifiers",
    summary="Link an e-mail address or a bank-card token to an account",
    body=IdentifierIn,
    returns=LinkedIdentifier,
    status=201,
    also=(200,),
    tag=ACCOUNTS,
)
async def link_identifier(request: web.Request) -> web.Response:
    """201 when linked now, 200 when it was already linked to this account, 409 when another
    account of the association has it."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    body = parse_model(await request.read(), IdentifierIn)
    try:
        value = _email(body.value) if body.kind == "email" else _token(body.value)
    except ValueError as exc:
        raise Problem(
            422,
            "Invalid identifier",
            str(exc),
            errors=[{"field": "value", "message": str(exc)}],
        ) from exc

    async def work(conn: asyncpg.Connection) -> tuple[asyncpg.Record, bool]:
        aid = await conn.fetchval(
            "SELECT association_id FROM accounts WHERE id = $1 FOR KEY SHARE", account_id
        )
        if aid is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        if body.kind == "email":
            await _email_lock(conn, aid, value)
            other = await _email_owner(conn, aid, value, account_id)
            if other is not None:
                raise Problem(
                    409,
                    "Identifier in use",
                    f"this e-mail address belongs to another account: {other}",
                    account_id=str(other),
                )
        row = await conn.fetchrow(
            """INSERT INTO account_identifiers (association_id, kind, value, account_id, linked_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (association_id, kind, value) DO NOTHING
               RETURNING *""",
            aid,
            body.kind,
            value,
            account_id,
            _now(),
        )
        if row is not None:
            return row, True
        row = await conn.fetchrow(
            "SELECT * FROM account_identifiers WHERE association_id = $1 AND kind = $2 AND value = $3",
            aid,
            body.kind,
            value,
        )
        if row["account_id"] != account_id:
            raise Problem(
                409,
                "Identifier in use",
                f"this {body.kind} belongs to another account: {row['account_id']}",
                account_id=str(row["account_id"]),
            )
        return row, False

    row, created = await db.transaction(rt.pool, work)
    out = LinkedIdentifier.model_validate(dict(row))
    return json_response(out, 201 if created else 200)


# --- issuance -------------------------------------------------------------------------------


async def _existing_account(
    conn: asyncpg.Connection, association_id: UUID, body: IssueIn
) -> UUID | None:
    """The account the card goes to when the request names one that exists, key-locked so it
    stays while the card is written; None when a new account is to be opened."""
    if body.account_id is not None:
        owner = await conn.fetchval(
            "SELECT association_id FROM accounts WHERE id = $1 FOR KEY SHARE", body.account_id
        )
        if owner is None:
            raise Problem(422, "Unknown account", f"no account {body.account_id}")
        if owner != association_id:
            raise Problem(
                422,
                "Account of another association",
                f"account {body.account_id} belongs to association {owner}",
            )
        return body.account_id
    if body.phone is not None:
        found: UUID | None = await conn.fetchval(
            """SELECT id FROM accounts WHERE association_id = $1 AND phone = $2 FOR KEY SHARE""",
            association_id,
            body.phone,
        )
        return found
    return None


async def _replay_issue(
    conn: asyncpg.Connection, association_id: UUID, body: IssueIn, batch: asyncpg.Record
) -> str:
    """The card a previous request with this issue_id made, if this request asks the same."""
    card = await conn.fetchrow(
        """SELECT c.number, c.card_type_id, c.account_id, c.first_name, c.last_name,
                  c.issued_by_merchant, a.phone
           FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.batch_id = $1""",
        body.issue_id,
    )
    if batch["association_id"] != association_id or batch["size"] != 1 or card is None:
        raise Problem(
            409,
            "issue_id already used",
            f"{body.issue_id} already names another batch or issuance: choose a new issue_id",
        )
    differs = [
        f
        for f, mine, theirs in (
            ("card_type_id", body.card_type_id, card["card_type_id"]),
            ("account_id", body.account_id, card["account_id"]),
            ("phone", body.phone, card["phone"]),
            ("first_name", body.first_name, card["first_name"]),
            ("last_name", body.last_name, card["last_name"]),
            ("issued_by_merchant", body.issued_by_merchant, card["issued_by_merchant"]),
        )
        if mine is not None and mine != theirs
    ]
    if differs:
        raise Problem(
            409,
            "issue_id already used",
            f"{body.issue_id} issued card {card['number']} with another {', '.join(differs)}: "
            "a retry must send the same request",
        )
    number: str = card["number"]
    return number


@api.route(
    "POST",
    "/v1/associations/{association_id}/cards",
    summary="Issue a card, to an existing account or a new one",
    body=IssueIn,
    returns=Card,
    status=201,
    also=(200,),
    tag=CARDS,
)
async def issue_card(request: web.Request) -> web.Response:
    """The number is the association's issuer prefix, its next serial and a Luhn check digit.
    With `account_id` or `phone` the card joins that account (a cardless account gets a card;
    an unknown phone opens an account); with neither, a new account is opened. A retry with
    the same `issue_id` answers the same card (200)."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = parse_model(await request.read(), IssueIn)
    if body.account_id is not None and body.phone is not None:
        raise Problem(422, "One account", "give account_id or phone, not both")

    async def work(conn: asyncpg.Connection) -> tuple[str, bool]:
        assoc = await association(conn, aid)
        prefix = _issuer_prefix(aid, assoc["issuer_prefix"])
        account_id = await _existing_account(conn, aid, body)
        serial = await serials.lock_next(conn, aid, prefix)
        batch = await conn.fetchrow(
            "SELECT association_id, size FROM card_batches WHERE id = $1", body.issue_id
        )
        if batch is not None:
            return await _replay_issue(conn, aid, body, batch), False
        card_type = await _card_type(conn, assoc, body.card_type_id)
        await _check_merchant(conn, aid, body.issued_by_merchant)
        now = _now()
        events: list[Event[Any]] = []
        if account_id is None:
            account_id = uuid.uuid4()
            await conn.execute(
                """INSERT INTO accounts (id, association_id, phone, opened_by_merchant, first_name,
                                         last_name, opened_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                account_id,
                aid,
                body.phone,
                body.issued_by_merchant,
                body.first_name,
                body.last_name,
                now,
            )
            events.append(
                event(
                    AccountOpened(
                        account_id=account_id,
                        association_id=aid,
                        merchant_id=body.issued_by_merchant,
                        phone=body.phone,
                        first_name=body.first_name,
                        last_name=body.last_name,
                        opened_at=now,
                        request_id=body.issue_id,
                        request_kind="issuance",
                    ),
                    f"account/{account_id}",
                )
            )
        await serials.take(conn, aid, serial, 1)
        number = card_number(prefix, serial)
        await _insert_card(
            conn,
            number=number,
            association_id=aid,
            card_type_id=card_type["id"],
            account_id=account_id,
            batch_id=body.issue_id,
            issued_at=now,
            issued_by_merchant=body.issued_by_merchant,
            first_name=body.first_name,
            last_name=body.last_name,
            expires_on=_expiry(now, card_type["validity_months"]),
        )
        events.append(
            _card_issued(
                number,
                account_id,
                aid,
                card_type["id"],
                now,
                body.issued_by_merchant,
                body.first_name,
                body.last_name,
            )
        )
        await outbox.write(conn, events)
        return number, True

    number, created = await db.transaction(rt.pool, work)
    card = await _load_card(rt.pool, number)
    return json_response(card, 201 if created else 200)


async def _batch_out(pool: asyncpg.Pool, batch_id: UUID) -> Batch:
    row = await pool.fetchrow(
        """SELECT b.id AS batch_id, b.association_id, b.card_type_id, b.size, b.created_at,
                  min(c.number) AS first_number, max(c.number) AS last_number
           FROM card_batches b JOIN cards c ON c.batch_id = b.id
           WHERE b.id = $1 GROUP BY b.id""",
        batch_id,
    )
    if row is None:
        raise Problem(404, "Unknown batch", f"no card batch {batch_id}")
    return Batch(**dict(row), csv=f"/v1/card-batches/{batch_id}.csv")


@api.route(
    "POST",
    "/v1/associations/{association_id}/card-batches",
    summary="Issue a batch of cards for the card printer, each on a new anonymous account",
    body=BatchIn,
    returns=Batch,
    status=201,
    also=(200,),
    tag=CARDS,
)
async def create_batch(request: web.Request) -> web.Response:
    """`size` consecutive numbers; a retry with the same `batch_id` answers the same batch (200).
    GET the batch's `csv` path to print it."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = parse_model(await request.read(), BatchIn)

    async def work(conn: asyncpg.Connection) -> bool:
        assoc = await association(conn, aid)
        prefix = _issuer_prefix(aid, assoc["issuer_prefix"])
        first = await serials.lock_next(conn, aid, prefix)
        existing = await conn.fetchrow(
            "SELECT association_id, card_type_id, size FROM card_batches WHERE id = $1",
            body.batch_id,
        )
        if existing is not None:
            same = (
                existing["association_id"] == aid
                and existing["size"] == body.size
                and body.card_type_id in (None, existing["card_type_id"])
            )
            if not same:
                raise Problem(
                    409,
                    "batch_id already used",
                    f"batch {body.batch_id} exists with another association, size or card type: "
                    "choose a new batch_id",
                )
            return False
        card_type = await _card_type(conn, assoc, body.card_type_id)
        await serials.take(conn, aid, first, body.size)
        now = _now()
        numbers = [card_number(prefix, first + i) for i in range(body.size)]
        accounts = [uuid.uuid4() for _ in range(body.size)]
        await conn.execute(
            """INSERT INTO card_batches (id, association_id, card_type_id, size, created_at)
               VALUES ($1, $2, $3, $4, $5)""",
            body.batch_id,
            aid,
            card_type["id"],
            body.size,
            now,
        )
        await conn.execute(
            """INSERT INTO accounts (id, association_id, opened_at)
               SELECT u, $2, $3 FROM unnest($1::uuid[]) u""",
            accounts,
            aid,
            now,
        )
        try:
            await conn.execute(
                """INSERT INTO cards (number, association_id, card_type_id, account_id, issued_at,
                                      batch_id, expires_on, status_changed_at)
                   SELECT n, $3, $4, a, $5, $6, $7, $5 FROM unnest($1::text[], $2::uuid[]) k(n, a)""",
                numbers,
                accounts,
                aid,
                card_type["id"],
                now,
                body.batch_id,
                _expiry(now, card_type["validity_months"]),
            )
        except asyncpg.UniqueViolationError as exc:
            raise Problem(
                409,
                "Card number taken",
                f"a number in {numbers[0]}..{numbers[-1]} already exists (imported under this "
                "prefix?): move the association's next serial past it",
            ) from exc
        events: list[Event[Any]] = []
        for number, account_id in zip(numbers, accounts, strict=True):
            events.append(
                event(
                    AccountOpened(
                        account_id=account_id,
                        association_id=aid,
                        opened_at=now,
                        request_id=body.batch_id,
                        request_kind="issuance",
                    ),
                    f"account/{account_id}",
                )
            )
            events.append(
                _card_issued(number, account_id, aid, card_type["id"], now, None, None, None)
            )
        await outbox.write(conn, events)
        return True

    created = await db.transaction(rt.pool, work)
    batch = await _batch_out(rt.pool, body.batch_id)
    return json_response(batch, 201 if created else 200)


CSV_HEADER = (
    "number",
    "raw_number",
    "card_type",
    "association",
    "expires_on",
    "first_name",
    "last_name",
)


@api.route(
    "GET",
    "/v1/card-batches/{batch_id}.csv",
    summary="A batch's cards as CSV for the card printer",
    content_type="text/csv",
    tag=CARDS,
)
async def batch_csv(request: web.Request) -> web.StreamResponse:
    """Header line, then one line per card in number order: number in groups of four, raw
    number, card type name, association name, expiry date (empty: none), first and last
    name. Every card issued on its own is a batch of one (its issue_id), printable too."""
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        if not await conn.fetchval("SELECT true FROM card_batches WHERE id = $1", batch_id):
            raise Problem(404, "Unknown batch", f"no card batch {batch_id}")
        cards = conn.cursor(
            """SELECT c.number, t.name AS card_type, a.name AS association, c.expires_on,
                      c.first_name, c.last_name
               FROM cards c
               JOIN card_types t ON t.id = c.card_type_id
               JOIN associations a ON a.id = c.association_id
               WHERE c.batch_id = $1 ORDER BY c.number""",
            batch_id,
            prefetch=1000,
        )
        return await stream_csv(
            request,
            f"cards-{batch_id}.csv",
            CSV_HEADER,
            (
                (
                    format_card_number(r["number"]),
                    r["number"],
                    r["card_type"],
                    r["association"],
                    r["expires_on"].isoformat() if r["expires_on"] else "",
                    r["first_name"] or "",
                    r["last_name"] or "",
                )
                async for r in cards
            ),
        )


# --- life cycle -----------------------------------------------------------------------------


@api.route(
    "GET",
    "/v1/cards/{number}",
    summary="A card: status, dormancy, account, type and dates",
    returns=Card,
    tag=CARDS,
)
async def get_card(request: web.Request) -> web.Response:
    rt = back_office(request)
    number = card_param(request)
    card = await _load_card(rt.pool, number)
    return json_response(card)


_NOT_BLOCKABLE = (
    "card {n} is {s}: only an active card can be blocked (a lost one can be declared stolen)"
)


@api.route(
    "POST",
    "/v1/cards/{number}/block",
    summary="Block a lost or stolen card: it goes on the blacklist",
    body=BlockIn,
    returns=Blocked,
    tag=CARDS,
)
async def block_card(request: web.Request) -> web.Response:
    """A retry (the card already blocked for the same reason) changes nothing. A lost card can
    then be declared stolen; a stolen card stays stolen."""
    rt = back_office(request)
    number = card_param(request)
    body = parse_model(await request.read(), BlockIn)

    async def work(conn: asyncpg.Connection) -> BlacklistChange | None:
        card = await _lock_card(conn, number)
        status = card["status"]
        if status == body.reason:
            return None
        if not (status == "active" or (status == "lost" and body.reason == "stolen")):
            raise Problem(
                409,
                "Cannot block",
                _NOT_BLOCKABLE.format(n=number, s=status),
                PROBLEMS + f"card-{status}",
            )
        now = _now()
        await conn.execute(
            "UPDATE cards SET status = $2, status_changed_at = $3 WHERE number = $1",
            number,
            body.reason,
            now,
        )
        events: list[Event[Any]] = []
        change = await blacklist_change(conn, card, "add", body.reason, now, events)
        await outbox.write(conn, events)
        return change

    change = await db.transaction(rt.pool, work)
    card = await _load_card(rt.pool, number)
    return json_response(Blocked(card=card, blacklist_change=change))


def pending_lost_reference(number: str, idle_since: datetime) -> UUID:
    """One dormant spell of a card (it began at its last use) loses its pending rewards once."""
    return uuid.uuid5(
        uuid.NAMESPACE_URL, f"comptoir:cards/{number}/pending_lost/{idle_since.isoformat()}"
    )


@api.route(
    "POST",
    "/v1/cards/{number}/reactivation",
    summary="Reactivate a dormant card (its account's pending rewards are lost) or a lost one found again",
    returns=Reactivated,
    tag=CARDS,
)
async def reactivate_card(request: web.Request) -> web.Response:
    """A dormant card (unused for the association's `dormant_after_days`): the account's pending
    rewards are lost, as a `pending_lost` ledger entry, and the card counts as used now. A lost
    card found again: active, and off the blacklist. A stolen card is never reactivated: replace
    it. A card that is neither dormant nor lost is left as it is (a retry answers so)."""
    rt = back_office(request)
    number = card_param(request)

    async def work(
        conn: asyncpg.Connection,
    ) -> tuple[bool, bool, int, UUID | None, BlacklistChange | None]:
        account_id = await _card_account(conn, number)
        account = await ledger.lock(conn, account_id)  # account first, as the sales path
        if account is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        card = await _lock_card(conn, number)
        status = card["status"]
        if status in ("stolen", "cloned"):
            raise Problem(
                409,
                "Stolen card" if status == "stolen" else "Cloned card",
                f"card {number} was {status} and stays blacklisted: replace it "
                f"(POST /v1/cards/{number}/replacement)",
                PROBLEMS + f"card-{status}",
            )
        if status in ("replaced", "cancelled"):
            raise Problem(
                409,
                "Card out of use",
                f"card {number} is {status}"
                + (f" by {card['replaced_by']}" if card["replaced_by"] else ""),
                PROBLEMS + f"card-{status}",
            )
        now = _now()
        state = CardState(
            number, status, card["expires_on"], card["last_used_at"], card["issued_at"]
        )
        dormant = is_dormant(state, now, card["dormant_after_days"])
        lost = status == "lost"
        events: list[Event[Any]] = []
        lost_cents = 0
        reference: UUID | None = None
        change: BlacklistChange | None = None
        if dormant:
            pending = account["pending_cents"]
            if pending > 0:
                reference = pending_lost_reference(
                    number, card["last_used_at"] or card["issued_at"]
                )
                posted = await ledger.post(
                    conn,
                    account_id,
                    reference,
                    [Movement("pending_lost", "pending", -pending)],
                    now,
                    card_number=number,
                    actor=ACTOR,
                    note="dormant card reactivated: its pending rewards are lost",
                )
                if not posted.already:
                    lost_cents = pending
                    # The visits counted towards the lost rewards go with them.
                    await conn.execute(
                        "UPDATE accounts SET visits = 0, window_started_at = NULL WHERE id = $1",
                        account_id,
                    )
                    events.append(
                        event(
                            AccountAdjusted(
                                movement_id=reference,
                                kind="pending_lost",
                                account_id=account_id,
                                association_id=card["association_id"],
                                card_number=number,
                                purse="cagnotte",
                                bucket="pending",
                                amount_cents=-pending,
                                balance_cents=posted.balances_after[0],
                                actor=ACTOR,
                                reason="dormant card reactivated",
                                occurred_at=now,
                            ),
                            f"account/{account_id}",
                        )
                    )
            await conn.execute(
                "UPDATE cards SET last_used_at = $2, reactivated_at = $2 WHERE number = $1",
                number,
                now,
            )
        if lost:
            await conn.execute(
                """UPDATE cards SET status = 'active', status_changed_at = $2, reactivated_at = $2
                   WHERE number = $1""",
                number,
                now,
            )
            # blocking it put it on the blacklist: finding it takes it off
            change = await blacklist_change(conn, card, "remove", "found", now, events)
        await outbox.write(conn, events)
        return dormant, lost, lost_cents, reference, change

    dormant, lost, lost_cents, reference, change = await db.transaction(rt.pool, work)
    card = await _load_card(rt.pool, number)
    out = Reactivated(
        card=card,
        was_dormant=dormant,
        was_lost=lost,
        pending_lost_cents=lost_cents,
        ledger_reference=reference,
        blacklist_change=change,
    )
    return json_response(out)


@api.route(
    "POST",
    "/v1/cards/{number}/replacement",
    summary="Replace a card: a new card of the same type on the same account",
    body=ReplacementIn,
    returns=Replaced,
    status=201,
    also=(200,),
    tag=CARDS,
)
async def replace_card(request: web.Request) -> web.Response:
    """The balance is the account's, so it carries over; the new card keeps the old one's
    expiry date and, unless given, its names. The old card becomes `replaced` and goes on the
    blacklist. A retry (the card already replaced) answers the same replacement (200)."""
    rt = back_office(request)
    number = card_param(request)
    body = await _optional_body(request, ReplacementIn)

    async def work(conn: asyncpg.Connection) -> tuple[str, bool, BlacklistChange | None]:
        account_id = await _card_account(conn, number)
        await conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE", account_id)
        old = await _lock_card(conn, number)
        if old["status"] == "replaced" and old["replaced_by"] is not None:
            return old["replaced_by"], False, None
        if old["status"] == "replaced":
            raise Problem(409, "Card replaced", f"card {number} is already replaced")
        if old["status"] == "cancelled":
            raise Problem(
                409, "Card cancelled", f"card {number} is cancelled", PROBLEMS + "card-cancelled"
            )
        aid = old["association_id"]
        await _check_merchant(conn, aid, body.issued_by_merchant)
        prefix = _issuer_prefix(aid, old["issuer_prefix"])
        serial = await serials.lock_next(conn, aid, prefix)
        await serials.take(conn, aid, serial, 1)
        new = card_number(prefix, serial)
        now = _now()
        first_name = body.first_name if body.first_name is not None else old["first_name"]
        last_name = body.last_name if body.last_name is not None else old["last_name"]
        await _insert_card(
            conn,
            number=new,
            association_id=aid,
            card_type_id=old["card_type_id"],
            account_id=account_id,
            batch_id=uuid.uuid5(uuid.NAMESPACE_URL, f"comptoir:cards/{number}/replacement"),
            issued_at=now,
            issued_by_merchant=body.issued_by_merchant,
            first_name=first_name,
            last_name=last_name,
            expires_on=old["expires_on"],
        )
        await conn.execute(
            """UPDATE cards SET status = 'replaced', replaced_by = $2, status_changed_at = $3
               WHERE number = $1""",
            number,
            new,
            now,
        )
        events = [
            _card_issued(
                new,
                account_id,
                aid,
                old["card_type_id"],
                now,
                body.issued_by_merchant,
                first_name,
                last_name,
                replaces=number,
            )
        ]
        change = None
        if old["status"] not in BLOCKED:  # a lost or stolen card is on the blacklist already
            change = await blacklist_change(conn, old, "add", "replaced", now, events)
        await outbox.write(conn, events)
        return new, True, change

    new, created, change = await db.transaction(rt.pool, work)
    card = await _load_card(rt.pool, new)
    replaced = await _load_card(rt.pool, number)
    out = Replaced(card=card, replaced=replaced, blacklist_change=change)
    return json_response(out, 201 if created else 200)


@api.route(
    "POST",
    "/v1/cards/{number}/renewal",
    summary="Extend a card's validity (subscription renewal)",
    body=RenewalIn,
    returns=Card,
    tag=CARDS,
)
async def renew_card(request: web.Request) -> web.Response:
    """The new expiry date is `expires_on`, or today plus the card type's `validity_months`; a
    date in the past is refused. Only an active card is renewed."""
    rt = back_office(request)
    number = card_param(request)
    body = await _optional_body(request, RenewalIn)

    async def work(conn: asyncpg.Connection) -> None:
        card = await _lock_card(conn, number)
        if card["status"] != "active":
            raise Problem(
                409,
                "Card not active",
                f"card {number} is {card['status']}: only an active card is renewed",
                PROBLEMS + f"card-{card['status']}",
            )
        today = _now().date()
        if body.expires_on is not None:
            if body.expires_on < today:
                raise Problem(
                    422,
                    "Date in the past",
                    f"expires_on {body.expires_on.isoformat()} is before today ({today.isoformat()})",
                    errors=[{"field": "expires_on", "message": "in the past"}],
                )
            expires_on = body.expires_on
        elif card["validity_months"] is None:
            raise Problem(
                422,
                "No validity period",
                "this card's type has no validity_months: give expires_on",
                errors=[{"field": "expires_on", "message": "required for this card type"}],
            )
        else:
            expires_on = add_months(today, card["validity_months"])
        await conn.execute("UPDATE cards SET expires_on = $2 WHERE number = $1", number, expires_on)

    await db.transaction(rt.pool, work)
    card = await _load_card(rt.pool, number)
    return json_response(card)


# --- the blacklist --------------------------------------------------------------------------


@api.route(
    "GET",
    "/v1/blacklist",
    summary="The blacklist changes since a version, for the terminals",
    query=BlacklistQuery,
    returns=BlacklistPage,
    tag=BLACKLIST,
)
async def get_blacklist(request: web.Request) -> web.Response:
    """The changes with a version above `since`, in version order, at most `limit`. Apply them,
    then ask again with `since=next` while `next` is not null; then hold `version`."""
    rt = back_office(request)
    q = read_query(request, BlacklistQuery)
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM blacklist_changes")
        rows = await conn.fetch(
            """SELECT version, card_number, association_id, action, reason, changed_at
               FROM blacklist_changes WHERE version > $1 ORDER BY version LIMIT $2""",
            q.since,
            q.limit,
        )
    changes = [BlacklistChange.model_validate(dict(r)) for r in rows]
    more = len(changes) == q.limit and changes[-1].version < version
    page = BlacklistPage(
        version=version, changes=changes, next=changes[-1].version if more else None
    )
    return json_response(page)
