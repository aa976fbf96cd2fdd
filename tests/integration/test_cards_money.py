"""The cards service's money routes against the running services: gift vouchers, loads of
stored value, audited adjustments and the customer file import, each idempotent, and their
bookings at the compte pivot."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.access import Principal, dev_token
from shared.client import AdminClient, Reply
from shared.rules.codes import (
    ALPHABET,
    card_number,
    format_voucher_code,
    parse_voucher_code,
    voucher_code,
)
from tests import harness
from tests.conftest import eventually

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")


@dataclass
class Money:
    admin: AdminClient
    association_id: uuid.UUID
    prefix: str
    merchants: list[uuid.UUID]
    merchant_names: list[str]
    gift_type: uuid.UUID

    def url(self, path: str) -> str:
        return CARDS + path


async def _association(admin: AdminClient) -> tuple[uuid.UUID, str]:
    aid = uuid.uuid4()
    for _ in range(20):  # the prefix is unique across associations: draw again if taken
        prefix = f"{secrets.randbelow(900_000) + 100_000}"
        r = await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}",
            {
                "name": f"money {aid}",
                "rate_mode": "merchant",
                "taux_client_bps": 300,
                "taux_uc_bps": 50,
                "issuer_prefix": prefix,
            },
        )
        if r.status == 201:
            return aid, prefix
        assert r.status == 409, r
    raise AssertionError("no free issuer prefix")


async def _network(http: aiohttp.ClientSession) -> Money:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    aid, prefix = await _association(admin)
    mids, names = [], []
    for i in range(2):
        mid = uuid.uuid4()
        name = f"merchant {i} of {aid}"
        r = await admin.call(
            "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{mid}", {"name": name}
        )
        assert r.status == 201, r
        mids.append(mid)
        names.append(name)
    gift = uuid.uuid4()
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/card-types/{gift}", {"name": "Gift", "kind": "gift"}
    )
    assert r.status == 201, r
    return Money(admin, aid, prefix, mids, names, gift)


@pytest.fixture
async def money(services: harness.Services, http: aiohttp.ClientSession) -> Money:
    return await _network(http)


def _phone() -> str:
    return "06" + f"{secrets.randbelow(10**8):08d}"


def _e164(phone: str) -> str:
    return "+33" + phone[1:]


async def _import(
    http: aiohttp.ClientSession, aid: uuid.UUID, text: str, import_id: uuid.UUID | None = None
) -> Reply:
    query = f"?import_id={import_id}" if import_id else ""
    async with http.post(
        f"{CARDS}/v1/associations/{aid}/imports{query}",
        data=text.encode(),
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}", "Content-Type": "text/csv"},
    ) as r:
        return Reply(r.status, await r.json(content_type=None))


async def _account(
    http: aiohttp.ClientSession, db: asyncpg.Connection, money: Money, balance: str = ""
) -> uuid.UUID:
    """A cardless account, opened by importing a one-line file."""
    phone = _phone()
    r = await _import(http, money.association_id, f"telephone;solde\n{phone};{balance}\n")
    assert r.status == 200 and r.body["counts"]["created"] == 1, r
    account: uuid.UUID = await db.fetchval(
        "SELECT id FROM cards.accounts WHERE association_id = $1 AND phone = $2",
        money.association_id,
        _e164(phone),
    )
    return account


async def _gift_card(money: Money, db: asyncpg.Connection, card_type: uuid.UUID) -> dict[str, Any]:
    r = await money.admin.call(
        "POST",
        money.url(f"/v1/associations/{money.association_id}/cards"),
        {"issue_id": str(uuid.uuid4()), "card_type_id": str(card_type)},
    )
    assert r.status == 201, r
    number = r.body["number"]
    account = r.body.get("account_id") or await db.fetchval(
        "SELECT account_id FROM cards.cards WHERE number = $1", number
    )
    return {"number": number, "account_id": uuid.UUID(str(account))}


async def _batch(money: Money, size: int, expires_in: timedelta = timedelta(days=90)) -> Reply:
    return await money.admin.call(
        "POST",
        money.url(f"/v1/associations/{money.association_id}/voucher-batches"),
        {
            "batch_id": str(uuid.uuid4()),
            "reason": "birthday",
            "value_cents": 1500,
            "expires_at": (clock.now() + expires_in).isoformat(),
            "size": size,
        },
    )


async def _codes(http: aiohttp.ClientSession, batch_id: str) -> list[str]:
    async with http.get(
        f"{CARDS}/v1/voucher-batches/{batch_id}.csv",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        assert r.status == 200, await r.text()
        assert r.content_type == "text/csv"
        lines = (await r.text()).splitlines()
    assert lines[0] == "code,value_cents,expires_at"
    return [line.split(",")[0] for line in lines[1:]]


def _validate(money: Money, code: str, merchant: int, account: uuid.UUID) -> Any:
    return money.admin.call(
        "POST",
        money.url(f"/v1/vouchers/{code}/validation"),
        {"merchant_id": str(money.merchants[merchant]), "account_id": str(account)},
    )


async def _available(db: asyncpg.Connection, account: uuid.UUID) -> int:
    value: int = await db.fetchval(
        "SELECT balance_cents FROM cards.accounts WHERE id = $1", account
    )
    return value


# --- vouchers ----------------------------------------------------------------------------------


async def test_a_voucher_is_validated_once_and_a_second_validation_says_when_and_where(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    r = await _batch(money, 3)
    assert r.status == 201, r
    batch = r.body
    assert (batch["issued"], batch["outstanding"], batch["value_outstanding_cents"]) == (3, 3, 4500)
    again = await money.admin.call(
        "POST",
        money.url(f"/v1/associations/{money.association_id}/voucher-batches"),
        {k: batch[k] for k in ("batch_id", "reason", "value_cents", "expires_at", "size")},
    )
    assert again.status == 200 and again.body["batch_id"] == batch["batch_id"], again
    assert again.body["issued"] == 3  # the retry issued no more codes
    codes = await _codes(http, batch["batch_id"])
    assert len(codes) == len(set(codes)) == 3
    assert all(format_voucher_code(parse_voucher_code(c)) == c for c in codes)

    alice, bob = await _account(http, db, money), await _account(http, db, money)
    first = await _validate(money, codes[0], 0, alice)
    assert first.status == 201, first
    assert first.body["value_cents"] == 1500 and first.body["balance_cents"] == 1500
    assert await _available(db, alice) == 1500
    # The very same request repeated (a lost answer): the first result, nothing credited again.
    repeat = await _validate(money, codes[0].lower(), 0, alice)
    assert repeat.status == 200 and repeat.body == first.body, repeat
    assert await _available(db, alice) == 1500

    for other in ((0, bob), (1, alice)):
        refused = await _validate(money, codes[0], *other)
        assert refused.status == 409, refused
        assert refused.body["title"] == "Voucher already validated"
        assert money.merchant_names[0] in refused.body["detail"]
        assert refused.body["validated_at"][:19] in refused.body["detail"]
    assert await _available(db, bob) == 0

    entries = await db.fetch(
        "SELECT kind, bucket, amount_cents, merchant_id FROM cards.cagnotte_entries "
        "WHERE account_id = $1 AND kind = 'voucher'",
        alice,
    )
    assert [tuple(e) for e in entries] == [("voucher", "available", 1500, money.merchants[0])]
    r = await money.admin.call("GET", money.url(f"/v1/voucher-batches/{batch['batch_id']}"))
    assert r.status == 200, r
    assert (r.body["validated"], r.body["outstanding"], r.body["value_validated_cents"]) == (
        1,
        2,
        1500,
    )


async def test_two_concurrent_validations_of_one_voucher_credit_one_account(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    r = await _batch(money, 1)
    assert r.status == 201, r
    (code,) = await _codes(http, r.body["batch_id"])
    alice, bob = await _account(http, db, money), await _account(http, db, money)
    answers = await asyncio.gather(_validate(money, code, 0, alice), _validate(money, code, 1, bob))
    assert sorted(a.status for a in answers) == [201, 409], answers
    assert sorted([await _available(db, alice), await _available(db, bob)]) == [0, 1500]
    count = await db.fetchval(
        "SELECT count(*) FROM cards.cagnotte_entries WHERE kind = 'voucher' "
        "AND account_id = ANY($1::uuid[])",
        [alice, bob],
    )
    assert count == 1


async def test_expired_mistyped_and_unknown_vouchers_are_refused_with_the_reason(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    r = await _batch(money, 1, expires_in=timedelta(seconds=1))
    assert r.status == 201, r
    (code,) = await _codes(http, r.body["batch_id"])
    account = await _account(http, db, money)
    await asyncio.sleep(
        max(0.0, (datetime.fromisoformat(r.body["expires_at"]) - clock.now()).total_seconds()) + 0.2
    )
    expired = await _validate(money, code, 0, account)
    assert expired.status == 422, expired
    assert expired.body["reason"] == "voucher_expired"
    assert r.body["expires_at"][:10] in expired.body["detail"]

    body = parse_voucher_code(code)
    wrong = ALPHABET[(ALPHABET.index(body[3]) + 1) % len(ALPHABET)]
    mistyped = await _validate(money, body[:3] + wrong + body[4:], 0, account)
    assert mistyped.status == 400, mistyped
    assert "mistyped" in mistyped.body["detail"]

    unknown = await _validate(money, voucher_code(secrets.randbelow), 0, account)
    assert unknown.status == 404, unknown
    assert await _available(db, account) == 0


# --- stored value ------------------------------------------------------------------------------


async def test_a_gift_card_is_loaded_once_per_load_id_on_its_stored_value(
    money: Money, db: asyncpg.Connection
) -> None:
    card = await _gift_card(money, db, money.gift_type)
    number, account = card["number"], card["account_id"]

    def load(load_id: uuid.UUID, amount: int, merchant: int = 0, on: str = number) -> Any:
        return money.admin.call(
            "POST",
            money.url(f"/v1/cards/{on}/loads"),
            {
                "load_id": str(load_id),
                "merchant_id": str(money.merchants[merchant]),
                "amount_cents": amount,
            },
        )

    first_id = uuid.uuid4()
    first = await load(first_id, 2500)
    assert first.status == 201, first
    assert first.body["stored_value_cents"] == 2500 and first.body["account_id"] == str(account)
    repeat = await load(first_id, 2500)
    assert repeat.status == 200 and repeat.body == first.body, repeat
    reused = await load(first_id, 9999)
    assert reused.status == 409, reused
    second = await load(uuid.uuid4(), 1000, merchant=1)
    assert second.status == 201 and second.body["stored_value_cents"] == 3500, second

    row = await db.fetchrow(
        "SELECT balance_cents, stored_value_cents FROM cards.accounts WHERE id = $1", account
    )
    assert (row["balance_cents"], row["stored_value_cents"]) == (0, 3500)
    entries = await db.fetch(
        "SELECT kind, bucket, amount_cents, balance_after_cents, merchant_id, card_number "
        "FROM cards.cagnotte_entries WHERE account_id = $1 ORDER BY id",
        account,
    )
    assert [tuple(e) for e in entries] == [
        ("load", "stored_value", 2500, 2500, money.merchants[0], number),
        ("load", "stored_value", 1000, 3500, money.merchants[1], number),
    ]

    # A loyalty card holds no stored value; a blocked gift card takes no more money.
    association = await money.admin.call(
        "GET", money.url(f"/v1/associations/{money.association_id}")
    )
    loyalty = await _gift_card(money, db, uuid.UUID(association.body["default_card_type_id"]))
    refused = await load(uuid.uuid4(), 500, on=loyalty["number"])
    assert refused.status == 409 and refused.body["reason"] == "no_stored_value", refused
    lost = await _gift_card(money, db, money.gift_type)
    blocked = await money.admin.call(
        "POST", money.url(f"/v1/cards/{lost['number']}/block"), {"reason": "lost"}
    )
    assert blocked.status == 200, blocked
    refused = await load(uuid.uuid4(), 500, on=lost["number"])
    assert refused.status == 409 and refused.body["reason"] == "card_lost", refused
    bad = await load(uuid.uuid4(), 500, on=number[:-1] + str((int(number[-1]) + 1) % 10))
    assert bad.status == 400, bad


# --- adjustments -------------------------------------------------------------------------------


async def test_an_adjustment_may_take_the_cagnotte_below_zero_and_is_audited(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    account = await _account(http, db, money, balance="5,00")
    assert await _available(db, account) == 500
    url = money.url(f"/v1/accounts/{account}/adjustments")
    adjustment_id = uuid.uuid4()
    adjustment: dict[str, Any] = {
        "adjustment_id": str(adjustment_id),
        "amount_cents": -800,
        "bucket": "available",
        "reason": "sale 42 returned after its reward was spent",
    }
    # Who corrects is who signed in (issue 15): the association's administrator here; a
    # merchant's manager, the holder or another association's administrator may not.
    aid = money.association_id
    claire = AdminClient(http, dev_token(Principal("claire@back-office", "association_admin", aid)))
    for outsider in (
        Principal("m", "manager", aid, money.merchants[0]),
        Principal("h", "cardholder", aid, account_id=account),
        Principal("o", "association_admin", uuid.uuid4()),
    ):
        r = await AdminClient(http, dev_token(outsider)).call("POST", url, adjustment)
        assert (r.status, r.body["reason"]) == (403, "out_of_scope"), (outsider, r)
    first = await claire.call("POST", url, adjustment)
    assert first.status == 201, first
    assert (first.body["balance_after_cents"], first.body["negative"]) == (-300, True)
    assert first.body["actor"] == "claire@back-office"
    repeat = await money.admin.call("POST", url, adjustment)  # a retry by another: the same
    assert repeat.status == 200 and repeat.body == first.body, repeat
    assert await _available(db, account) == -300

    wrongs: list[dict[str, Any]] = [
        {"reason": "oops"},
        {"actor": "claire"},  # the body no longer says who
        {"amount_cents": 0},
        {"bucket": "units"},
    ]
    for wrong in wrongs:
        refused = await claire.call(
            "POST", url, adjustment | {"adjustment_id": str(uuid.uuid4())} | wrong
        )
        assert refused.status == 422, (wrong, refused)
    missing = {k: v for k, v in adjustment.items() if k != "reason"}
    assert (await claire.call("POST", url, missing)).status == 422
    unknown = await money.admin.call(
        "POST", money.url(f"/v1/accounts/{uuid.uuid4()}/adjustments"), adjustment
    )
    assert unknown.status == 404, unknown

    trail = await money.admin.call("GET", url)
    assert trail.status == 200, trail
    assert [
        (a["adjustment_id"], a["amount_cents"], a["actor"], a["reason"], a["negative"])
        for a in trail.body["adjustments"]
    ] == [(adjustment["adjustment_id"], -800, "claire@back-office", adjustment["reason"], True)]
    entry = await db.fetchrow(
        "SELECT actor, note, balance_after_cents FROM cards.cagnotte_entries "
        "WHERE kind = 'adjustment' AND reference_id = $1",
        adjustment_id,
    )
    assert tuple(entry) == ("claire@back-office", adjustment["reason"], -300)


# --- customer file import ----------------------------------------------------------------------


async def _cagnotte_sum(db: asyncpg.Connection, aid: uuid.UUID) -> tuple[int, int]:
    row = await db.fetchrow(
        """SELECT count(*) AS n, coalesce(sum(e.amount_cents), 0)::bigint AS total
           FROM cards.cagnotte_entries e JOIN cards.accounts a ON a.id = e.account_id
           WHERE a.association_id = $1""",
        aid,
    )
    return row["n"], row["total"]


async def test_an_import_reports_rejected_lines_and_running_it_again_duplicates_nothing(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    taken = await _gift_card(money, db, money.gift_type)  # another account's card
    phones = [_phone() for _ in range(4)]
    cards = [card_number(money.prefix, 900_000_000 + i) for i in range(2)]
    text = "\n".join(
        [
            "Téléphone;Nom;Prénom;E-mail;Carte;Solde;Couleur préférée",
            f"{phones[0]};Martin;Anne;anne@example.org;{cards[0]};12,50;bleu",
            f"{phones[1]};Durand;Paul;;{cards[1]};;vert",
            f"{phones[2]};Petit;Zoé;zoe@example.org;;3.20;",
            "12;Faux;Numéro;;;;",  # invalid phone
            f"{phones[0]};Doublon;Anne;;;;",  # same phone as line 2
            f"{phones[3]};Vol;Carte;;{taken['number']};;",  # card of another account
            f"{_phone()};Deux;Fois;;{cards[0]};;",  # card already on line 2
            f"{_phone()};Autre;Anne;Anne@Example.org;;;",  # e-mail already on line 2
            "",
        ]
    )
    before = await _cagnotte_sum(db, money.association_id)
    first = await _import(http, money.association_id, text)
    assert first.status == 200, first
    counts = first.body["counts"]
    assert counts == counts | {
        "lines": 8,
        "accepted": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 5,
        "opening_balances": 2,
        "opening_balance_cents": 1570,
        "cards_linked": 2,
    }, counts
    rejected = {r["line"]: r for r in first.body["rejected_lines"]}
    assert sorted(rejected) == [5, 6, 7, 8, 9]
    assert "phone" in rejected[5]["reasons"][0]
    assert "line 2" in rejected[6]["reasons"][0]
    assert "another account" in rejected[7]["reasons"][0] and phones[3] in rejected[7]["raw"]
    assert "line 2" in rejected[8]["reasons"][0]
    assert "e-mail anne@example.org is already on line 2" in rejected[9]["reasons"][0]
    assert first.body["ignored_columns"] == ["Couleur préférée"]
    after_first = await _cagnotte_sum(db, money.association_id)
    assert after_first == (before[0] + 2, before[1] + 1570)
    anne = await db.fetchrow(
        "SELECT id, balance_cents, first_name, email FROM cards.accounts "
        "WHERE association_id = $1 AND phone = $2",
        money.association_id,
        _e164(phones[0]),
    )
    assert (anne["balance_cents"], anne["first_name"], anne["email"]) == (
        1250,
        "Anne",
        "anne@example.org",
    )
    assert (
        await db.fetchval("SELECT account_id FROM cards.cards WHERE number = $1", cards[0])
        == (anne["id"])
    )

    second = await _import(http, money.association_id, text)
    assert second.status == 200, second
    assert second.body["counts"] == counts | {
        "created": 0,
        "unchanged": 3,
        "opening_balances": 0,
        "opening_balance_cents": 0,
        "cards_linked": 0,
    }
    assert await _cagnotte_sum(db, money.association_id) == after_first
    n_accounts = await db.fetchval(
        "SELECT count(*) FROM cards.accounts WHERE association_id = $1 AND phone = ANY($2)",
        money.association_id,
        [_e164(p) for p in phones],
    )
    assert n_accounts == 3  # the phone of the rejected line 7 opened nothing

    # A later file completes what is missing, never overwrites what is set.
    later = (
        "phone,email,first_name\n"
        f"{phones[1]},paul@example.org,Pierre\n"
        f"{phones[0]},,Annie\n"
        f"{_phone()},zoe@example.org,Zed\n"  # Zoé's e-mail address
    )
    third = await _import(http, money.association_id, later)
    assert third.status == 200, third
    assert (third.body["counts"]["updated"], third.body["counts"]["unchanged"]) == (1, 1)
    assert [(r["line"], r["reasons"]) for r in third.body["rejected_lines"]] == [
        (4, ["e-mail zoe@example.org belongs to another account"])
    ]
    paul = await db.fetchrow(
        "SELECT first_name, email FROM cards.accounts WHERE association_id = $1 AND phone = $2",
        money.association_id,
        _e164(phones[1]),
    )
    assert tuple(paul) == ("Paul", "paul@example.org")


async def test_a_ten_thousand_line_file_imports_in_batches(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    lines = ["phone;first_name;last_name;email;card_number;balance"]
    for i in range(10_000):
        number = card_number(money.prefix, 100_000_000 + i) if i % 2 else ""
        lines.append(
            f"07{i:08d};Prénom{i};Nom{i};client{i}@example.org;{number};{i % 7},{i % 100:02d}"
        )
    text = "\n".join(lines) + "\n"
    started = time.perf_counter()
    first = await _import(http, money.association_id, text)
    elapsed = time.perf_counter() - started
    assert first.status == 200, first
    print(
        f"\nimport of 10,000 lines ({len(text) / 1e6:.1f} MB): {elapsed:.2f} s, {first.body['counts']}"
    )
    assert first.body["counts"]["created"] == 10_000
    assert first.body["counts"]["cards_linked"] == 5_000
    started = time.perf_counter()
    second = await _import(http, money.association_id, text)
    elapsed = time.perf_counter() - started
    assert second.status == 200, second
    print(f"the same file again: {elapsed:.2f} s, {second.body['counts']}")
    assert second.body["counts"]["unchanged"] == 10_000


# --- bookings at the compte pivot --------------------------------------------------------------


async def test_clearing_books_the_voucher_the_load_and_the_adjustment(
    money: Money, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    r = await _batch(money, 1)
    assert r.status == 201, r
    (code,) = await _codes(http, r.body["batch_id"])
    account = await _account(http, db, money)
    validated = await _validate(money, code, 0, account)
    assert validated.status == 201, validated
    card = await _gift_card(money, db, money.gift_type)
    load_id, adjustment_id = uuid.uuid4(), uuid.uuid4()
    r = await money.admin.call(
        "POST",
        money.url(f"/v1/cards/{card['number']}/loads"),
        {"load_id": str(load_id), "merchant_id": str(money.merchants[1]), "amount_cents": 2000},
    )
    assert r.status == 201, r
    r = await money.admin.call(
        "POST",
        money.url(f"/v1/accounts/{account}/adjustments"),
        {
            "adjustment_id": str(adjustment_id),
            "amount_cents": -200,
            "bucket": "available",
            "reason": "wrong amount typed at the till",
        },
    )
    assert r.status == 201, r
    wanted = {
        ("voucher", uuid.UUID(validated.body["movement_id"])),
        ("load", load_id),
        ("adjustment", adjustment_id),
    }

    async def booked() -> bool:
        rows = await db.fetch(
            "SELECT kind, reference_id FROM clearing.journal_entries WHERE reference_id = ANY($1)",
            [ref for _, ref in wanted],
        )
        return {(r["kind"], r["reference_id"]) for r in rows} == wanted

    await eventually(
        booked, timeout=10, what="clearing's bookings of the voucher, load, adjustment"
    )
    balances = await money.admin.call(
        "GET", f"{harness.url('clearing')}/v1/associations/{money.association_id}/balances"
    )
    assert balances.status == 200 and balances.body["net_cents"] == 0, balances
