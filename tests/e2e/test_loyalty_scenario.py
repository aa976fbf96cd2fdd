"""The loyalty rules and the card life cycle end to end (issue 3's "done when"), through the
admin API and signed terminal requests to the five real services, with every figure worked
out by hand in the comments.

The network "Rue du Marché" (mode family, 3 % / taux UC 0.5 %), its program a cagnotte with a
visit threshold of 3 purchases within 60 days, and a "fête du quartier" promotion doubling the
menus while it lasts. Merchants: a restaurant (family menu at 8 %), a tobacconist (family
tabac, tobacco), a bookshop (family livres at 7 %, books) and a florist. A second association,
a football club, issues a stamps card (5 stamps → 5.00 €) that the street accepts.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.client import AdminClient, Reply, TerminalClient
from tests import harness
from tests.conftest import eventually

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")


@dataclass
class Street:
    aid: uuid.UUID
    club: uuid.UUID
    admin: AdminClient
    merchants: dict[str, uuid.UUID]
    tills: dict[str, TerminalClient]


async def ok(reply: Reply, *statuses: int) -> Any:
    assert reply.status in (statuses or (200, 201)), reply
    return reply.body


async def make_street(http: aiohttp.ClientSession) -> Street:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    aid, club = uuid.uuid4(), uuid.uuid4()
    prefix = f"{secrets.randbelow(10**6):06d}"
    await ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}",
            {
                "name": "Rue du Marché",
                "rate_mode": "family",
                "taux_client_bps": 300,
                "taux_uc_bps": 50,
                "issuer_prefix": prefix,
            },
        )
    )
    street = await ok(await admin.call("GET", f"{CARDS}/v1/associations/{aid}"))
    await ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}/programs/{street['default_program_id']}",
            {
                "name": "Cagnotte",
                "kind": "cagnotte",
                "visit_threshold": 3,
                "visit_threshold_max_days": 60,
            },
        )
    )
    merchants, tills = {}, {}
    for name in ("resto", "tabac", "librairie", "fleuriste"):
        mid, tid, secret = uuid.uuid4(), uuid.uuid4(), secrets.token_hex(24)
        await ok(
            await admin.call(
                "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{mid}", {"name": name}
            )
        )
        await ok(
            await admin.call(
                "PUT",
                f"{harness.url('terminals')}/v1/terminals/{tid}",
                {
                    "association_id": str(aid),
                    "merchant_id": str(mid),
                    "shop_id": str(mid),
                    "label": name,
                    "secret": secret,
                },
            )
        )
        merchants[name] = mid
        tills[name] = TerminalClient(http, harness.url("terminals"), str(tid), secret)
    families = {
        "resto": ("menu", {"label": "Menu du midi", "taux_client_bps": 800}),
        "tabac": ("tabac", {"label": "Tabac", "tobacco": True}),
        "librairie": ("livres", {"label": "Livres", "taux_client_bps": 700, "book": True}),
    }
    for merchant, (code, family) in families.items():
        await ok(
            await admin.call(
                "PUT", f"{CARDS}/v1/merchants/{merchants[merchant]}/families/{code}", family
            )
        )
    now = clock.now()
    await ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}/promotions/{uuid.uuid4()}",
            {
                "name": "Fête du quartier",
                "families": ["menu"],
                "starts_at": (now - timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=1)).isoformat(),
                "multiplier": {"numerator": 2, "denominator": 1},
            },
        )
    )
    # The football club: its own association, a stamps program, a generic card type the
    # street accepts.
    await ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{club}",
            {
                "name": "FC Quartier",
                "rate_mode": "network",
                "taux_client_bps": 0,
                "taux_uc_bps": 50,
                "issuer_prefix": f"{(int(prefix) + 1) % 10**6:06d}",
            },
        )
    )
    return Street(aid, club, admin, merchants, tills)


async def issue(street: Street, association: uuid.UUID, **body: Any) -> str:
    card = await ok(
        await street.admin.call(
            "POST",
            f"{CARDS}/v1/associations/{association}/cards",
            {"issue_id": str(uuid.uuid4()), **body},
        )
    )
    number: str = card["number"]
    return number


async def account_of(street: Street, number: str) -> dict[str, Any]:
    card = await ok(await street.admin.call("GET", f"{CARDS}/v1/cards/{number}"))
    account: dict[str, Any] = await ok(
        await street.admin.call("GET", f"{CARDS}/v1/accounts/{card['account_id']}")
    )
    return account


def refused(reply: Reply, reason: str) -> None:
    assert reply.status == 422, reply
    assert reply.body["reason"] == reason, reply.body


async def test_the_rules_and_the_card_life_cycle_as_written(
    services: harness.Services, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    s = await make_street(http)
    resto, tabac, librairie = s.tills["resto"], s.tills["tabac"], s.tills["librairie"]
    alice = await issue(s, s.aid, first_name="Alice", last_name="Martin")

    # 1. 25.00 € of menus: 8 % doubled by the promotion = 16 % → 4.00 €, pending (visit 1/3).
    sale1 = str(uuid.uuid4())
    r = await ok(await resto.sale(None, 2500, "menu", sale1, card_number=alice), 201)
    assert (r["reward_cents"], r["pending_cents"], r["balance_cents"], r["visits"]) == (
        400,
        400,
        0,
        1,
    )

    # 2. 10.00 € of tobacco earns nothing by law, said with a reason; it is still visit 2.
    r = await ok(await tabac.sale(None, 1000, "tabac", card_number=alice), 201)
    assert (r["reward_cents"], r["pending_cents"], r["visits"]) == (0, 400, 2)
    assert [x["code"] for x in r["refusals"]] == ["legal_tobacco"]

    # 3. 20.00 € of books at 7 %, capped at 5 % by law: 1.00 € (not 1.40 €). Visit 3: the
    #    4.00 + 0.00 + 1.00 = 5.00 € pending move to available, counters reset.
    sale3 = str(uuid.uuid4())
    r = await ok(await librairie.sale(None, 2000, "livres", sale3, card_number=alice), 201)
    assert (r["reward_cents"], r["pending_cents"], r["balance_cents"], r["visits"]) == (
        100,
        0,
        500,
        0,
    )
    assert [x["code"] for x in r["refusals"]] == ["legal_book_cap"]

    # The dry run explains the same number.
    dry = await ok(
        await s.admin.call(
            "POST",
            f"{CARDS}/v1/associations/{s.aid}/dry-run",
            {
                "merchant_id": str(s.merchants["librairie"]),
                "product_family": "livres",
                "amount_cents": 2000,
            },
        )
    )
    assert (dry["reward_cents"], dry["taux_client_bps"], dry["fee_cents"]) == (100, 500, 10)
    assert "legal.book_cap" in [step["rule"] for step in dry["steps"] if step["applied"]]
    assert dry["explanation"]

    # 4. Half the books come back: 1.00 € × 10.00 / 20.00 = 0.50 € taken back → 4.50 €.
    r = await ok(await librairie.return_sale(sale3, 1000, "returned"), 201)
    assert (r["reward_reversed_cents"], r["balance_cents"]) == (50, 450)

    # 5. 4.00 € spent at the tobacconist → 0.50 € left.
    r = await ok(await tabac.redeem(None, 400, card_number=alice), 201)
    assert r["balance_cents"] == 50

    # 6. The first sale is cancelled, but its 4.00 € were spent: refused, never negative...
    cancel = await resto.return_sale(sale1, 2500, "cancelled")
    refused(cancel, "would_go_negative")
    assert (cancel.body["reward_cents"], cancel.body["available_cents"]) == (400, 50)
    # ... until the back office books an audited adjustment: 0.50 − 4.00 = −3.50 €.
    account = await account_of(s, alice)
    adj = await ok(
        await s.admin.call(
            "POST",
            f"{CARDS}/v1/accounts/{account['id']}/adjustments",
            {
                "adjustment_id": str(uuid.uuid4()),
                "amount_cents": -400,
                "bucket": "available",
                "reason": f"sale {sale1} cancelled after its reward was spent",
            },
        )
    )
    assert (adj["balance_after_cents"], adj["negative"]) == (-350, True)

    # 7. A birthday voucher of 10.00 €: −3.50 + 10.00 = 6.50 €; validated twice → refused.
    batch = uuid.uuid4()
    await ok(
        await s.admin.call(
            "POST",
            f"{CARDS}/v1/associations/{s.aid}/voucher-batches",
            {
                "batch_id": str(batch),
                "reason": "birthday",
                "value_cents": 1000,
                "expires_at": (clock.now() + timedelta(days=90)).isoformat(),
                "size": 2,
            },
        )
    )
    async with http.get(f"{CARDS}/v1/voucher-batches/{batch}.csv", headers=s.admin.headers) as resp:
        codes = [row["code"] for row in csv.DictReader(io.StringIO(await resp.text()))]
    assert len(codes) == 2
    validation = {"merchant_id": str(s.merchants["resto"]), "card_number": alice}
    v = await ok(
        await s.admin.call("POST", f"{CARDS}/v1/vouchers/{codes[0]}/validation", validation)
    )
    assert v["balance_cents"] == 650
    again = await s.admin.call(
        "POST",
        f"{CARDS}/v1/vouchers/{codes[0]}/validation",
        {"merchant_id": str(s.merchants["tabac"]), "card_number": alice},
    )
    assert again.status == 409, again

    # 8. Alice loses her card: blacklisted (one more version), refused at the till; her
    #    replacement carries the 6.50 €. 10.00 € of menus → 1.60 € pending (visit 1/3).
    before = (await ok(await s.admin.call("GET", f"{CARDS}/v1/blacklist")))["version"]
    await ok(await s.admin.call("POST", f"{CARDS}/v1/cards/{alice}/block", {"reason": "lost"}))
    changes = await ok(await s.admin.call("GET", f"{CARDS}/v1/blacklist?since={before}"))
    assert [(c["card_number"], c["action"]) for c in changes["changes"]] == [(alice, "add")]
    assert changes["version"] == before + 1
    refused(await resto.sale(None, 1000, "menu", card_number=alice), "card_lost")
    replaced = await ok(await s.admin.call("POST", f"{CARDS}/v1/cards/{alice}/replacement", {}))
    alice2 = replaced["card"]["number"]
    assert alice2 != alice and replaced["card"]["account_id"] == account["id"]
    r = await ok(await resto.sale(None, 1000, "menu", card_number=alice2), 201)
    assert (r["reward_cents"], r["pending_cents"], r["balance_cents"], r["visits"]) == (
        160,
        160,
        650,
        1,
    )

    # 9. Bob: 10.00 € of menus → 1.60 € pending; then his card sleeps 200 days: refused as
    #    lost. Reactivated: the 1.60 € pending are lost, written as an entry.
    bob = await issue(s, s.aid, first_name="Bob")
    r = await ok(await resto.sale(None, 1000, "menu", card_number=bob), 201)
    assert r["pending_cents"] == 160
    await db.execute(  # dormancy is judged on the services' clock, not the database's
        "UPDATE cards.cards SET last_used_at = $2, issued_at = $3 WHERE number = $1",
        bob,
        clock.now() - timedelta(days=200),
        clock.now() - timedelta(days=400),
    )
    refused(await resto.sale(None, 1000, "menu", card_number=bob), "card_dormant")
    back = await ok(await s.admin.call("POST", f"{CARDS}/v1/cards/{bob}/reactivation", {}))
    assert back["pending_lost_cents"] == 160
    bob_account = await account_of(s, bob)
    assert bob_account["pending_cents"] == 0
    latest = bob_account["entries"][0]
    assert (latest["kind"], latest["amount_cents"]) == ("pending_lost", -160)
    r = await ok(await resto.sale(None, 1000, "menu", card_number=bob), 201)
    assert (r["pending_cents"], r["visits"]) == (
        160,
        1,
    )  # a new window: the lost one's visits went too

    # 10. The club's stamps card, accepted in the street: 3 then 2 items = 5 stamps → 5.00 €
    #     (the club's program has no threshold; the street's promotion is not the club's).
    club_program = uuid.uuid4()
    await ok(
        await s.admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{s.club}/programs/{club_program}",
            {"name": "Tampons", "kind": "stamps", "units_per_reward": 5, "reward_cents": 500},
        )
    )
    club_type = uuid.uuid4()
    await ok(
        await s.admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{s.club}/card-types/{club_type}",
            {"name": "Carte supporter", "kind": "generic", "program_id": str(club_program)},
        )
    )
    fan = await issue(s, s.club, card_type_id=str(club_type))
    refused(await resto.sale(None, 1500, "menu", card_number=fan, quantity=3), "card_not_accepted")
    await ok(
        await s.admin.call("PUT", f"{CARDS}/v1/card-types/{club_type}/acceptances/{s.aid}", {})
    )
    r = await ok(await resto.sale(None, 1500, "menu", card_number=fan, quantity=3), 201)
    assert (r["program_kind"], r["units_earned"], r["units_balance"], r["reward_cents"]) == (
        "stamps",
        3,
        3,
        0,
    )
    r = await ok(await resto.sale(None, 1000, "menu", card_number=fan, quantity=2), 201)
    assert (r["units_balance"], r["reward_cents"], r["balance_cents"]) == (0, 500, 500)

    # 11. A gift card loaded with 50.00 € at the florist, 20.00 € spent at the restaurant:
    #     30.00 € left, kept apart from rewards; the card itself earns nothing.
    gift_type = uuid.uuid4()
    await ok(
        await s.admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{s.aid}/card-types/{gift_type}",
            {"name": "Carte cadeau", "kind": "gift"},
        )
    )
    gift = await issue(s, s.aid, card_type_id=str(gift_type))
    load = {
        "load_id": str(uuid.uuid4()),
        "merchant_id": str(s.merchants["fleuriste"]),
        "amount_cents": 5000,
    }
    assert (await ok(await s.admin.call("POST", f"{CARDS}/v1/cards/{gift}/loads", load)))[
        "stored_value_cents"
    ] == 5000
    r = await ok(await resto.redeem(None, 2000, card_number=gift, purse="stored_value"), 201)
    assert (r["balance_cents"], r["purse"]) == (3000, "stored_value")
    refused(await resto.sale(None, 1000, "menu", card_number=gift), "card_does_not_earn")
    refused(await resto.redeem(None, 100, card_number=gift), "insufficient_balance")

    # The books agree: rewards owed 6.50 + 1.60 (Alice) + 1.60 (Bob) + 5.00 (the fan) =
    # 14.70 €, in the cards service and in clearing; the gift card's 30.00 € apart.
    associations = [s.aid, s.club]

    async def books() -> tuple[int, int, int, int]:
        row = await db.fetchrow(
            """SELECT coalesce(sum(balance_cents + pending_cents), 0) AS owed,
                      coalesce(sum(stored_value_cents), 0) AS funds
               FROM cards.accounts WHERE association_id = ANY($1)""",
            associations,
        )
        clearing = await db.fetch(
            """SELECT a.kind, -sum(p.amount_cents) AS credit FROM clearing.postings p
               JOIN clearing.pivot_accounts a ON a.id = p.account_id
               WHERE a.association_id = ANY($1) GROUP BY a.kind""",
            associations,
        )
        by_kind = {r["kind"]: int(r["credit"]) for r in clearing}
        return (
            int(row["owed"]),
            by_kind.get("customer_liability", 0),
            int(row["funds"]),
            by_kind.get("customer_funds", 0),
        )

    async def agreed() -> bool:
        return await books() == (1470, 1470, 3000, 3000)

    await eventually(agreed, what="cards and clearing to agree")
    net = await db.fetchval(
        """SELECT sum(p.amount_cents) FROM clearing.postings p
           JOIN clearing.pivot_accounts a ON a.id = p.account_id WHERE a.association_id = ANY($1)""",
        associations,
    )
    assert net == 0
