"""The gateway's HTTP API: signed sales, redemptions, returns and enrolments from terminals and
tills, and the back-office registry of terminals."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from services.terminals import sync
from services.terminals.intake import Existing, Intake, Item, Replay
from services.terminals.keyring import Keyring
from shared import clock, signing
from shared.contracts import (
    MAX_QUANTITY,
    MAX_SALE_CENTS,
    EnrolmentRequested,
    Instant,
    Purse,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.events import Event, EventData, new_event
from shared.fields import CardNumber, FamilyCode, Name, PhoneNumber
from shared.http import Problem, json_response, parse_model, read_model, uuid_param
from shared.openapi import Api, Header
from shared.rules.dates import DateWindow
from shared.service import RUNTIME, Runtime, back_office

PROBLEMS = "https://comptoir.dev/problems/"

api = Api(
    "terminals",
    "The gateway: sales, redemptions and enrolments signed by the shops' terminals (HMAC-SHA256, "
    "see README, Terminal API), and the back-office registry of terminals.",
)
SIGNED = (
    Header(signing.TERMINAL, "the terminal's id", {"type": "string", "format": "uuid"}),
    Header(
        signing.TIMESTAMP,
        "Unix time in seconds, within the signature window of the gateway's clock",
        {"type": "string", "pattern": "^[0-9]+$"},
    ),
    Header(
        signing.NONCE,
        "single use, 16 to 64 characters",
        {"type": "string", "minLength": 16, "maxLength": 64},
    ),
    Header(
        signing.SIGNATURE,
        "hex HMAC-SHA256, with the terminal's secret, of the method, path, timestamp, nonce "
        "and the body's SHA-256",
        {"type": "string"},
    ),
)


class Customer(BaseModel):
    """The customer's phone (a cardless account) or card number: exactly one."""

    model_config = ConfigDict(extra="forbid")
    phone: PhoneNumber | None = None
    card_number: CardNumber | None = Field(
        default=None, description="16 digits with a Luhn check digit; spaces allowed"
    )

    @model_validator(mode="after")
    def _one(self) -> Customer:
        if (self.phone is None) == (self.card_number is None):
            raise ValueError("give the customer's phone or card_number, exactly one")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    occurred_at: Instant | None = Field(
        default=None,
        description="the terminal's clock, RFC 3339 with an offset; now if absent",
    )


R = TypeVar("R", bound=_Strict)


class SaleIn(_Strict):
    sale_id: UUID
    customer: Customer
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: FamilyCode | None = Field(
        default=None,
        description="a family code of the merchant's catalogue; a well-formed code it does not "
        "hold earns as a sale without family",
    )
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, description="items bought (stamps)")


class RedemptionIn(_Strict):
    redemption_id: UUID
    customer: Customer
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    purse: Purse = Field(
        default="cagnotte",
        description="cagnotte: the rewards; stored_value: money loaded on a gift card, "
        "prepaid card or e-purse",
    )


class ReturnIn(_Strict):
    return_id: UUID
    sale_id: UUID = Field(description="the sale returned or cancelled, at this merchant")
    amount_cents: int = Field(
        gt=0, le=MAX_SALE_CENTS, description="the sale's amount to cancel it, less for a return"
    )
    reason: Literal["cancelled", "returned"]


class EnrolmentIn(_Strict):
    enrolment_id: UUID
    phone: PhoneNumber
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    # Names refuse control and format characters (RLO, ESC, CR/LF...): shared/fields.py.
    first_name: Name | None = None
    last_name: Name | None = None


class TerminalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: Name
    secret: str | None = Field(default=None, min_length=32, max_length=128)
    active: bool = True


class TerminalOut(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: str
    active: bool
    secret: str | None = Field(
        default=None, description="only when the terminal is created or its secret is set"
    )


class TerminalSummary(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: str
    active: bool


class TerminalList(RootModel[list[TerminalSummary]]):
    pass


class Pending(BaseModel):
    id: UUID
    status: Literal["pending"]


class RuleRefusalOut(BaseModel):
    code: str
    detail: str


class SaleAccepted(BaseModel):
    sale_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    amount_cents: int
    reward_cents: int = Field(description="euros credited, pending or available")
    balance_cents: int = Field(description="available after the sale")
    pending_cents: int = Field(description="waiting for the visit threshold")
    visits: int = Field(description="visits counted towards the threshold")
    program_kind: Literal["cagnotte", "points", "stamps"]
    units_earned: int
    units_balance: int
    refusals: list[RuleRefusalOut] = Field(
        description="rules that refused the reward in whole or in part (law, scope, program)"
    )
    card_number: str | None
    account_opened: bool


class RedemptionAccepted(BaseModel):
    redemption_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    amount_cents: int
    balance_cents: int
    purse: Purse
    card_number: str | None


class ReturnAccepted(BaseModel):
    return_id: UUID
    status: Literal["accepted"]
    sale_id: UUID
    account_id: UUID
    amount_cents: int
    reward_reversed_cents: int
    balance_cents: int
    pending_cents: int


class EnrolmentAccepted(BaseModel):
    enrolment_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    phone: str


class SaleAnswer(RootModel[SaleAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/sales/{id}."""


class RedemptionAnswer(RootModel[RedemptionAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/redemptions/{id}."""


class ReturnAnswer(RootModel[ReturnAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/returns/{id}."""


class EnrolmentAnswer(RootModel[EnrolmentAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/enrolments/{id}."""


@dataclass(frozen=True, slots=True)
class Terminal:
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    secret: str
    active: bool


class Gateway:
    """Authenticates terminals, records their requests and waits for the cards service's verdict."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.intake = Intake(rt.pool)
        self.keyring = Keyring.from_settings(rt.settings)
        self.terminals: dict[UUID, Terminal] = {}
        self.waiters: dict[UUID, list[asyncio.Future[tuple[int, Any] | None]]] = defaultdict(list)

    async def terminal(self, terminal_id: UUID) -> Terminal | None:
        t = self.terminals.get(terminal_id)
        if t is None:
            r = await self.rt.pool.fetchrow("SELECT * FROM terminals WHERE id = $1", terminal_id)
            if r is None:
                return None
            t = Terminal(
                r["id"],
                r["association_id"],
                r["merchant_id"],
                r["shop_id"],
                self.keyring.secret_of(r),  # sealed at rest (keyring.py)
                r["active"],
            )
            self.terminals[terminal_id] = t
        return t

    async def authenticate(self, request: web.Request, body: bytes) -> tuple[Terminal, str]:
        h = request.headers
        missing = [
            k
            for k in (signing.TERMINAL, signing.TIMESTAMP, signing.NONCE, signing.SIGNATURE)
            if k not in h
        ]
        if missing:
            raise Problem(
                401,
                "Unsigned request",
                f"missing headers: {', '.join(missing)}",
                type_=PROBLEMS + "unsigned",
                code="unsigned",
            )
        try:
            terminal_id = UUID(h[signing.TERMINAL])
            ts = int(h[signing.TIMESTAMP])
        except ValueError as exc:
            raise Problem(
                401,
                "Bad signature headers",
                "terminal must be a UUID and timestamp an integer",
                type_=PROBLEMS + "unsigned",
                code="unsigned",
            ) from exc
        nonce = h[signing.NONCE]
        if not 16 <= len(nonce) <= 64:
            raise Problem(
                401,
                "Bad nonce",
                "the nonce must have 16 to 64 characters",
                type_=PROBLEMS + "unsigned",
                code="unsigned",
            )
        t = await self.terminal(terminal_id)
        if t is None or not t.active:
            raise Problem(
                401,
                "Unknown terminal",
                "this terminal is not registered or is disabled",
                type_=PROBLEMS + "unknown-terminal",
                code="unknown_terminal",
            )
        if abs(clock.now().timestamp() - ts) > self.rt.settings.signature_window_s:
            raise Problem(
                401,
                "Stale request",
                "the timestamp is outside the accepted window; check the terminal's clock",
                type_=PROBLEMS + "stale",
                code="stale",
            )
        if not signing.verify(
            t.secret,
            request.method,
            request.path_qs,
            h[signing.TIMESTAMP],
            nonce,
            body,
            h[signing.SIGNATURE],
        ):
            raise Problem(
                401,
                "Bad signature",
                "the signature does not match the request",
                type_=PROBLEMS + "bad-signature",
                code="bad_signature",
            )
        return t, nonce

    async def submit(
        self, kind: str, request_id: UUID, t: Terminal, nonce: str, body: bytes, event: Event[Any]
    ) -> web.Response:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, Any] | None] = loop.create_future()
        self.waiters[request_id].append(waiter)
        # One timer per request: cheaper than wait_for(shield(...)) on the hot path.
        timer = loop.call_later(self.rt.settings.outcome_timeout_s, _expire, waiter)
        digest = hashlib.sha256(body).digest()
        try:
            known = await self.intake.submit(Item(kind, request_id, t.id, nonce, digest, event))
            if isinstance(known, Replay):
                raise Problem(
                    409,
                    "Replayed request",
                    "this nonce was already used",
                    type_=PROBLEMS + "replay",
                    code="replay",
                )
            if isinstance(known, Existing):
                if (known.kind, known.terminal_id, known.body_sha256) != (kind, t.id, digest):
                    raise Problem(
                        409,
                        "Id already used",
                        f"{request_id} names another request",
                        type_=PROBLEMS + "id-conflict",
                        code="id_conflict",
                    )
                if known.status != "pending":
                    return _answer(
                        known.http_status or 200, known.outcome, f"/v1/{kind}s/{request_id}"
                    )
            decided = await waiter
            if decided is None:  # no verdict in time: the terminal polls the request's status
                return await self.status(kind, request_id, t)
            return _answer(decided[0], decided[1], f"/v1/{kind}s/{request_id}")
        finally:
            timer.cancel()
            waiters = self.waiters.get(request_id)
            if waiters is not None:
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    del self.waiters[request_id]

    async def status(self, kind: str, request_id: UUID, t: Terminal) -> web.Response:
        r = await self.rt.pool.fetchrow(
            "SELECT status, http_status, outcome FROM requests WHERE id = $1 AND kind = $2 AND terminal_id = $3",
            request_id,
            kind,
            t.id,
        )
        if r is None:
            raise Problem(
                404,
                "Unknown request",
                f"no {kind} {request_id} from this terminal",
                code="unknown_request",
            )
        if r["status"] == "pending":
            return json_response({"id": str(request_id), "status": "pending"}, 202)
        return _answer(r["http_status"], r["outcome"], f"/v1/{kind}s/{request_id}")

    def resolve(self, decided: list[tuple[UUID, int, Any]]) -> None:
        for request_id, status, outcome in decided:
            for w in self.waiters.get(request_id, ()):
                if not w.done():
                    w.set_result((status, outcome))


def _expire(waiter: asyncio.Future[tuple[int, Any] | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _answer(status: int, outcome: Any, instance: str) -> web.Response:
    if status >= 400:
        return Problem(
            status,
            outcome["title"],
            outcome["detail"],
            type_=outcome["type"],
            **outcome.get("extra", {}),
        ).response(instance)
    return json_response(outcome, status)


def _gw(request: web.Request) -> Gateway:
    gw: Gateway | None = request.app[RUNTIME].state.get("gateway")
    if gw is None:
        raise Problem(503, "Not ready", "the gateway is starting", code="busy")
    return gw


_DATE_TITLES = {
    "occurred_in_future": "Dated in the future",
    "occurred_too_long_ago": "Dated too long ago",
    "occurred_before_books_start": "Dated before the books start",
}


def _occurred(at: datetime | None, window: DateWindow) -> datetime:
    """When the operation happened: the terminal's time if it is within reason (refused at
    once otherwise, with the window's reason, before anything is recorded), else now.
    Cards checks again with the association's books start (shared/rules/dates.py)."""
    now = clock.now()
    if at is None:
        return now
    refusal = window.refusal(at, now)
    if refusal is not None:
        raise Problem(
            422,
            _DATE_TITLES[refusal],
            f"occurred_at {at.isoformat()} is outside the accepted window at "
            f"{now.isoformat()} (at most {int(window.future_tolerance.total_seconds())} s "
            f"ahead, {window.max_age.days} days back): check the terminal's clock",
            type_=PROBLEMS + refusal.replace("_", "-"),
            reason=refusal,
        )
    return at


def _at(t: Terminal, occurred_at: datetime) -> dict[str, Any]:
    return {
        "association_id": t.association_id,
        "merchant_id": t.merchant_id,
        "shop_id": t.shop_id,
        "terminal_id": t.id,
        "occurred_at": occurred_at,
    }


def _sale(s: SaleIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return s.sale_id, SaleRecorded(
        **at,
        sale_id=s.sale_id,
        phone=s.customer.phone,
        card_number=s.customer.card_number,
        amount_cents=s.amount_cents,
        product_family=s.product_family,
        quantity=s.quantity,
    )


def _redemption(r: RedemptionIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return r.redemption_id, RedemptionRequested(
        **at,
        redemption_id=r.redemption_id,
        phone=r.customer.phone,
        card_number=r.customer.card_number,
        amount_cents=r.amount_cents,
        purse=r.purse,
    )


def _return(r: ReturnIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return r.return_id, ReturnRecorded(
        **at,
        return_id=r.return_id,
        sale_id=r.sale_id,
        amount_cents=r.amount_cents,
        reason=r.reason,
    )


def _enrolment(e: EnrolmentIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return e.enrolment_id, EnrolmentRequested(
        **at,
        enrolment_id=e.enrolment_id,
        phone=e.phone,
        email=e.email,
        first_name=e.first_name,
        last_name=e.last_name,
    )


def _signed_request(
    kind: str, model: type[R], to_event: Callable[[R, dict[str, Any]], tuple[UUID, EventData]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Authenticate, validate, record and answer one kind of terminal request."""

    async def handler(request: web.Request) -> web.Response:
        gw = _gw(request)
        body = await request.read()
        t, nonce = await gw.authenticate(request, body)
        # Strict (issue 11, finding 12): "100" is not an amount, true is not a quantity.
        parsed = parse_model(body, model, strict=True)
        at = _at(t, _occurred(parsed.occurred_at, gw.rt.settings.date_window()))
        request_id, data = to_event(parsed, at)
        event = new_event("terminals", data, subject=f"{kind}/{request_id}")
        return await gw.submit(kind, request_id, t, nonce, body, event)

    return handler


def _get_status(kind: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        gw = _gw(request)
        t, _ = await gw.authenticate(request, b"")
        return await gw.status(kind, uuid_param(request, "request_id"), t)

    return handler


@api.route(
    "PUT",
    "/v1/terminals/{terminal_id}",
    summary="Register or update a terminal (its secret is shown once)",
    body=TerminalIn,
    returns=TerminalOut,
    status=201,
    also=(200,),
    tag="back office",
)
async def put_terminal(request: web.Request) -> web.Response:
    rt = back_office(request)
    gw = _gw(request)  # its terminal cache forgets the old secret
    terminal_id = uuid_param(request, "terminal_id")
    body = await read_model(request, TerminalIn)
    secret = body.secret or secrets.token_urlsafe(32)
    sealed, sealed_by = gw.keyring.seal(terminal_id, secret)  # never stored in clear
    row = await rt.pool.fetchrow(
        """INSERT INTO terminals (id, association_id, merchant_id, shop_id, label,
                                  secret_sealed, secret_kek_id, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET association_id = excluded.association_id,
               merchant_id = excluded.merchant_id, shop_id = excluded.shop_id, label = excluded.label,
               active = excluded.active,
               secret = CASE WHEN $9 THEN NULL ELSE terminals.secret END,
               secret_sealed = CASE WHEN $9 THEN excluded.secret_sealed
                                    ELSE terminals.secret_sealed END,
               secret_kek_id = CASE WHEN $9 THEN excluded.secret_kek_id
                                    ELSE terminals.secret_kek_id END
           RETURNING xmax = 0 AS created""",
        terminal_id,
        body.association_id,
        body.merchant_id,
        body.shop_id,
        body.label,
        sealed,
        sealed_by,
        body.active,
        body.secret is not None,
    )
    gw.terminals.pop(terminal_id, None)
    out: dict[str, Any] = {
        "id": str(terminal_id),
        **body.model_dump(mode="json", exclude={"secret"}),
    }
    if row["created"] or body.secret is not None:
        out["secret"] = secret  # shown once, at creation or when the operator sets it
    return json_response(out, 201 if row["created"] else 200)


@api.route("GET", "/v1/terminals", summary="All terminals", returns=TerminalList, tag="back office")
async def list_terminals(request: web.Request) -> web.Response:
    rt = back_office(request)
    rows = await rt.pool.fetch(
        """SELECT id, association_id, merchant_id, shop_id, label, active
           FROM terminals ORDER BY label"""
    )
    return json_response(
        [{k: str(v) if isinstance(v, UUID) else v for k, v in dict(r).items()} for r in rows]
    )


class LastSession(BaseModel):
    id: UUID
    transport: Literal["http", "line"]
    status: Literal["open", "ok", "mismatch", "failed", "abandoned"]
    started_at: datetime
    closed_at: datetime | None
    chunks: int
    inserted: int
    skipped: int
    missing: list[list[int]] = Field(description="inclusive ranges the close found missing")
    error_code: str | None


class SyncRegistryEntry(BaseModel):
    terminal_id: UUID
    label: str
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    active: bool
    health: Literal["ok", "late", "failing"] = Field(
        description="failing: the last session failed, mismatched or was cut off; late: no "
        "successful sync for 36 h (or never)"
    )
    last_sync_at: datetime | None = Field(description="the last session that closed ok")
    last_hello_at: datetime | None
    last_committed_seq: int
    committed_total: int
    pending_count: int = Field(description="journal lines the terminal holds and we do not")
    software: str | None
    params_version: int | None = Field(description="as the terminal said at its last HELLO")
    blacklist_version: int | None
    delivered_params_version: int | None
    delivered_blacklist_version: int | None
    last_session: LastSession | None


class SyncRegistry(RootModel[list[SyncRegistryEntry]]):
    pass


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, datetime):
        return v.isoformat()
    return v


@api.route(
    "GET",
    "/v1/terminals/{terminal_id}/sync",
    summary="A terminal's sync state: last sync, versions, pending lines, health, last session",
    returns=SyncRegistryEntry,
    tag="back office",
)
async def get_terminal_sync(request: web.Request) -> web.Response:
    rt = back_office(request)
    terminal_id = uuid_param(request, "terminal_id")
    entries = await sync.registry(rt.pool, terminal_id)
    if not entries:
        raise Problem(
            404, "Unknown terminal", f"no terminal {terminal_id}", reason="unknown_terminal"
        )
    return json_response(_plain(entries[0]))


@api.route(
    "GET",
    "/v1/sync/registry",
    summary="Every terminal's sync state (the registry of offline terminals)",
    returns=SyncRegistry,
    tag="back office",
)
async def list_terminal_sync(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response([_plain(e) for e in await sync.registry(rt.pool)])


def _signed_routes(
    kind: str,
    model: type[R],
    to_event: Callable[[R, dict[str, Any]], tuple[UUID, EventData]],
    answer: type[BaseModel],
    what: str,
) -> None:
    """POST /v1/<kind>s and GET /v1/<kind>s/{request_id}, signed by a terminal."""
    signed: dict[str, Any] = {
        "returns": answer,
        "status": 201,
        "also": (202,),
        "admin": False,
        "headers": SIGNED,
        "tag": "terminal",
    }
    api.route("POST", f"/v1/{kind}s", summary=what, body=model, **signed)(
        _signed_request(kind, model, to_event)
    )
    api.route("GET", f"/v1/{kind}s/{{request_id}}", summary=f"The answer to: {what}", **signed)(
        _get_status(kind)
    )


_signed_routes("sale", SaleIn, _sale, SaleAnswer, "Record a sale (credits the cagnotte)")
_signed_routes("redemption", RedemptionIn, _redemption, RedemptionAnswer, "Spend from the cagnotte")
_signed_routes("enrolment", EnrolmentIn, _enrolment, EnrolmentAnswer, "Enrol a customer")
_signed_routes(
    "return", ReturnIn, _return, ReturnAnswer, "Cancel a sale or return goods (reverses the reward)"
)


def routes(app: web.Application, _: Runtime) -> None:
    api.install(app)


async def prune_nonces(pool: asyncpg.Pool, window_s: int) -> None:
    """Nonces older than twice the window can never be replayed (the timestamp check refuses)."""
    while True:
        await asyncio.sleep(60)
        # A failed prune is retried at the next tick.
        with contextlib.suppress(Exception):
            await pool.execute(
                "DELETE FROM nonces WHERE seen_at < now() - make_interval(secs => $1)", 2 * window_s
            )
