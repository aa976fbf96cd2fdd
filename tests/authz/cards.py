"""The cards service's rows of the authorisation matrix (tests/authz/matrix.py): every
back-office operation of its OpenAPI document, the Need its route authorises and a request that
reaches it in a target's scope. ``prepare`` makes, with the admin token, what the rows act on
in each target: a program, a promotion, card types, cards, batches, a voucher, a level and a
quarantined offline line."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

import aiohttp

from shared import clock
from shared.access import Need
from shared.client import AdminClient
from shared.sync.client import HttpTransport, SyncClient
from tests import harness
from tests.authz.matrix import (
    Request,
    Row,
    Target,
    World,
    account_only,
    association_only,
    merchant_only,
    no_association,
)
from tests.cardtx import CardTxFactory, MemoryJournal
from tests.conftest import eventually
from tests.people import new_email

CARDS = harness.url("cards")
SOON = clock.now() + timedelta(days=30)
LATER = SOON + timedelta(days=30)


def _q(t: Target) -> str:
    return str(t.association_id)


def _holder_search(t: Target) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """Finding a customer: any of the association's, by no merchant and no account yet."""
    return t.association_id, None, None


async def _ok(admin: AdminClient, method: str, path: str, body: Any = None) -> Any:
    r = await admin.call(method, CARDS + path, body)
    assert r.status in (200, 201), (method, path, r)
    return r.body


async def _issuer_prefix(admin: AdminClient, association_id: uuid.UUID) -> None:
    """Cards are numbered under the association's issuer prefix: give it one if it has none."""
    a = await _ok(admin, "GET", f"/v1/associations/{association_id}")
    if a["issuer_prefix"] is not None:
        return
    body = {k: a[k] for k in ("name", "rate_mode", "taux_client_bps", "taux_uc_bps")}
    while True:
        prefix = f"{600000 + secrets.randbelow(300000)}"
        r = await admin.call(
            "PUT", f"{CARDS}/v1/associations/{association_id}", body | {"issuer_prefix": prefix}
        )
        if r.status != 409:
            assert r.status == 200, r
            return


async def _voucher_code(http: aiohttp.ClientSession, batch_id: str) -> str:
    headers = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
    async with http.get(f"{CARDS}/v1/voucher-batches/{batch_id}.csv", headers=headers) as r:
        assert r.status == 200, await r.text()
        _header, line = (await r.text()).strip().splitlines()[:2]
    return line.split(",")[0]


async def _held_line(admin: AdminClient, t: Target, terminal: Any) -> str:
    """A line of a card this network never issued, synced by the target's merchant's terminal:
    cards holds it in quarantine."""
    tid = uuid.UUID(terminal.terminal_id)
    factory = CardTxFactory(tid, start=clock.now() - timedelta(minutes=30), reward_bps=300)
    transport = HttpTransport(harness.url("terminals"), terminal.terminal_id, terminal.secret)
    report = await SyncClient(transport).run(MemoryJournal([factory.sale(None, 1000)]))
    assert report.ok, report
    found: list[str] = []

    async def held() -> bool:
        page = await _ok(
            admin,
            "GET",
            f"/v1/associations/{t.association_id}/card-quarantine?terminal_id={tid}",
        )
        found.extend(str(line["id"]) for line in page["lines"])
        return bool(found)

    await eventually(held, what="the stranger's line held in quarantine")
    return found[0]


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    a_net, b_net = world.networks["own"], world.networks["other_association"]
    terminals = {
        "own": a_net.terminals[0],
        "other_merchant": a_net.terminals[1],
        "other_association": b_net.terminals[0],
    }
    for aid in {t.association_id for t in world.targets}:
        await _issuer_prefix(admin, aid)
    for t in world.targets:
        a, _, x = t.scope()
        assoc = await _ok(admin, "GET", f"/v1/associations/{a}")
        ids = t.ids
        ids["default_program"] = assoc["default_program_id"]
        ids["program"] = str(uuid.uuid4())
        await _ok(
            admin,
            "PUT",
            f"/v1/associations/{a}/programs/{ids['program']}",
            {"name": "matrix", "kind": "cagnotte"},
        )
        ids["promotion"] = str(uuid.uuid4())
        await _ok(admin, "PUT", f"/v1/associations/{a}/promotions/{ids['promotion']}", _promo(t))
        ids["card_type"] = str(uuid.uuid4())
        await _ok(
            admin,
            "PUT",
            f"/v1/associations/{a}/card-types/{ids['card_type']}",
            _card_type(assoc["default_program_id"]),
        )
        gift_type = str(uuid.uuid4())
        await _ok(
            admin,
            "PUT",
            f"/v1/associations/{a}/card-types/{gift_type}",
            {"name": "matrix gift", "kind": "gift"},
        )
        card = await _ok(
            admin,
            "POST",
            f"/v1/associations/{a}/cards",
            {"issue_id": str(uuid.uuid4()), "account_id": str(x)},
        )
        ids["card"] = card["number"]
        gift = await _ok(
            admin,
            "POST",
            f"/v1/associations/{a}/cards",
            {"issue_id": str(uuid.uuid4()), "account_id": str(x), "card_type_id": gift_type},
        )
        ids["gift_card"] = gift["number"]
        ids["issue"] = str(uuid.uuid4())
        ids["card_batch"] = str(uuid.uuid4())
        await _ok(admin, "POST", f"/v1/associations/{a}/card-batches", _card_batch(t))
        ids["voucher_batch"] = str(uuid.uuid4())
        await _ok(admin, "POST", f"/v1/associations/{a}/voucher-batches", _voucher_batch(t))
        ids["voucher"] = await _voucher_code(http, ids["voucher_batch"])
        ids["level"] = str(uuid.uuid4())
        await _ok(admin, "PUT", f"/v1/levels/{ids['level']}", _level(t))
        ids["account_promotion"] = str(uuid.uuid4())
        ids["email"] = new_email()
        ids["load"] = str(uuid.uuid4())
        ids["adjustment"] = str(uuid.uuid4())
        ids["donation"] = str(uuid.uuid4())
        ids["held"] = await _held_line(admin, t, terminals[t.label])
    # An acceptance is of another association's card type by the target's association.
    own, _, other = world.targets
    for t in world.targets:
        t.ids["foreign_card_type"] = (other if t is not other else own).ids["card_type"]


def _promo(t: Target) -> dict[str, Any]:
    return {
        "name": "matrix",
        "merchant_id": str(t.merchant_id),
        "starts_at": SOON.isoformat(),
        "ends_at": LATER.isoformat(),
        "taux_client_bps": 500,
    }


def _card_type(program_id: str) -> dict[str, Any]:
    return {"name": "matrix", "kind": "association", "program_id": program_id}


def _card_batch(t: Target) -> dict[str, Any]:
    return {"batch_id": t.ids["card_batch"], "size": 1}


def _voucher_batch(t: Target) -> dict[str, Any]:
    return {
        "batch_id": t.ids["voucher_batch"],
        "reason": "other",
        "value_cents": 500,
        "expires_at": LATER.isoformat(),
        "size": 1,
    }


def _level(t: Target) -> dict[str, Any]:
    return {
        "association_id": str(t.association_id),
        "merchant_id": str(t.merchant_id),
        "code": "matrix",
        "name": "Matrix",
        "rank": 1,
        "min_visits": 5,
        "taux_client_bps": 500,
    }


def _association(t: Target) -> dict[str, Any]:
    return {
        "name": f"matrix {t.association_id}",
        "rate_mode": "merchant",
        "taux_client_bps": 300,
        "taux_uc_bps": 50,
    }


def _rq(path: str, body: Any = None, **query: str) -> Request:
    return Request(path, body, dict(query))


A = "/v1/associations/{association_id}"
ROWS: list[Row] = [
    # --- catalogue: associations, merchants, product families
    Row(
        "PUT",
        A,
        Need.OPERATOR,
        lambda t: _rq(f"/v1/associations/{t.association_id}", _association(t)),
        no_association,
    ),
    Row(
        "GET",
        A,
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}"),
        association_only,
    ),
    Row(
        "PUT",
        A + "/merchants/{merchant_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/merchants/{t.merchant_id}",
            {"name": f"matrix {t.label}"},
        ),
        merchant_only,
    ),
    Row(
        "GET",
        A + "/merchants/{merchant_id}",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/merchants/{t.merchant_id}"),
        merchant_only,
    ),
    Row(
        "GET",
        A + "/merchants",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/merchants"),
        association_only,
    ),
    Row(
        "GET",
        A + "/directory",
        Need.DIRECTORY,
        lambda t: _rq(f"/v1/associations/{t.association_id}/directory"),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/merchants/{merchant_id}/families/{code}",
        Need.MANAGER,
        lambda t: _rq(f"/v1/merchants/{t.merchant_id}/families/matrix", {"label": "Matrix"}),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/merchants/{merchant_id}/families",
        Need.STAFF,
        lambda t: _rq(f"/v1/merchants/{t.merchant_id}/families"),
        merchant_only,
    ),
    Row(
        "DELETE",
        "/v1/merchants/{merchant_id}/families/{code}",
        Need.MANAGER,
        lambda t: _rq(f"/v1/merchants/{t.merchant_id}/families/matrix"),
        merchant_only,
    ),
    # --- programs and promotions
    Row(
        "PUT",
        A + "/programs/{program_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/programs/{t.ids['program']}",
            {"name": "matrix", "kind": "cagnotte"},
        ),
        association_only,
    ),
    Row(
        "GET",
        A + "/programs/{program_id}",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/programs/{t.ids['program']}"),
        association_only,
    ),
    Row(
        "GET",
        A + "/programs",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/programs"),
        association_only,
    ),
    Row(
        "POST",
        A + "/programs/{program_id}/suspend",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/programs/{t.ids['program']}/suspend"),
        association_only,
    ),
    Row(
        "POST",
        A + "/programs/{program_id}/resume",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/programs/{t.ids['program']}/resume"),
        association_only,
    ),
    Row(
        "DELETE",
        A + "/programs/{program_id}",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/programs/{t.ids['program']}"),
        association_only,
    ),
    Row(
        "PUT",
        A + "/promotions/{promotion_id}",
        Need.MANAGER,  # a merchant's own promotion; network-wide ones are the association's
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/promotions/{t.ids['promotion']}", _promo(t)
        ),
        merchant_only,
    ),
    Row(
        "GET",
        A + "/promotions",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/promotions"),
        association_only,
    ),
    Row(
        "DELETE",
        A + "/promotions/{promotion_id}",
        Need.MANAGER,
        lambda t: _rq(f"/v1/associations/{t.association_id}/promotions/{t.ids['promotion']}"),
        merchant_only,
    ),
    # --- card types, their rates and acceptances, the dry run
    Row(
        "PUT",
        A + "/card-types/{card_type_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/card-types/{t.ids['card_type']}",
            _card_type(t.ids["default_program"]),
        ),
        association_only,
    ),
    Row(
        "GET",
        A + "/card-types",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/card-types"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/card-types/{card_type_id}",
        Need.NETWORK,
        lambda t: _rq(f"/v1/card-types/{t.ids['card_type']}"),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/card-types/{card_type_id}/rates/{merchant_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/card-types/{t.ids['card_type']}/rates/{t.merchant_id}",
            {"taux_client_bps": 400},
        ),
        association_only,
    ),
    Row(
        "DELETE",
        "/v1/card-types/{card_type_id}/rates/{merchant_id}",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/card-types/{t.ids['card_type']}/rates/{t.merchant_id}"),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/card-types/{card_type_id}/acceptances/{association_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/card-types/{t.ids['foreign_card_type']}/acceptances/{t.association_id}"
        ),
        association_only,
    ),
    Row(
        "DELETE",
        "/v1/card-types/{card_type_id}/acceptances/{association_id}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/card-types/{t.ids['foreign_card_type']}/acceptances/{t.association_id}"
        ),
        association_only,
    ),
    Row(
        "POST",
        A + "/dry-run",
        Need.STAFF,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/dry-run",
            {"merchant_id": str(t.merchant_id), "amount_cents": 1000},
        ),
        merchant_only,
    ),
    # --- accounts
    Row(
        "POST",
        A + "/enrolments",
        Need.STAFF,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/enrolments",
            {
                "enrolment_id": str(uuid.uuid4()),
                "merchant_id": str(t.merchant_id),
                "email": new_email(),
            },
        ),
        merchant_only,
    ),
    Row(
        "GET",
        A + "/accounts",
        Need.HOLDER,
        lambda t: _rq(f"/v1/associations/{t.association_id}/accounts", card=t.ids["card"]),
        _holder_search,
    ),
    Row(
        "GET",
        "/v1/accounts/{account_id}",
        Need.HOLDER,
        lambda t: _rq(f"/v1/accounts/{t.account_id}"),
        account_only,
    ),
    Row(
        "PATCH",
        "/v1/accounts/{account_id}",
        Need.HOLDER,
        lambda t: _rq(f"/v1/accounts/{t.account_id}", {"first_name": "Camille"}),
        account_only,
    ),
    Row(
        "POST",
        "/v1/accounts/{account_id}/identifiers",
        Need.HOLDER,
        lambda t: _rq(
            f"/v1/accounts/{t.account_id}/identifiers", {"kind": "email", "value": t.ids["email"]}
        ),
        account_only,
    ),
    Row(
        "PUT",
        "/v1/accounts/{account_id}/promotions/{promotion_id}",
        Need.MANAGER,  # one merchant's offer (at its cost); for every merchant, the association's
        lambda t: _rq(
            f"/v1/accounts/{t.account_id}/promotions/{t.ids['account_promotion']}",
            {
                "reason": "birthday",
                "merchant_id": str(t.merchant_id),
                "starts_at": SOON.isoformat(),
                "ends_at": LATER.isoformat(),
                "multiplier": {"numerator": 2},
            },
        ),
    ),
    Row(
        "GET",
        "/v1/accounts/{account_id}/promotions",
        Need.HOLDER,
        lambda t: _rq(f"/v1/accounts/{t.account_id}/promotions"),
        account_only,
    ),
    # --- status levels
    Row(
        "PUT",
        "/v1/levels/{level_id}",
        Need.MANAGER,  # a merchant's level; the association's own are the association's
        lambda t: _rq(f"/v1/levels/{t.ids['level']}", _level(t)),
        merchant_only,
    ),
    Row(
        "GET",
        A + "/levels",
        Need.NETWORK,
        lambda t: _rq(f"/v1/associations/{t.association_id}/levels"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/accounts/{account_id}/levels",
        Need.HOLDER,
        lambda t: _rq(f"/v1/accounts/{t.account_id}/levels"),
        account_only,
    ),
    Row(
        "POST",
        A + "/level-reviews/{day}",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/associations/{t.association_id}/level-reviews/"
            f"{(clock.today_paris() - timedelta(days=1)).isoformat()}"
        ),
        association_only,
    ),
    # --- issuance and the card life cycle
    Row(
        "POST",
        A + "/cards",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/cards", {"issue_id": t.ids["issue"]}),
        association_only,
    ),
    Row(
        "POST",
        A + "/card-batches",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/card-batches", _card_batch(t)),
        association_only,
    ),
    Row(
        "GET",
        A + "/card-batches",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/card-batches"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/card-batches/{batch_id}.csv",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/card-batches/{t.ids['card_batch']}.csv"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/cards/{number}",
        Need.HOLDER,
        lambda t: _rq(f"/v1/cards/{t.ids['card']}"),
        account_only,
    ),
    Row(
        "POST",
        "/v1/cards/{number}/block",
        Need.HOLDER,
        lambda t: _rq(f"/v1/cards/{t.ids['card']}/block", {"reason": "lost"}),
        account_only,
    ),
    Row(
        "POST",
        "/v1/cards/{number}/reactivation",
        Need.HOLDER,
        lambda t: _rq(f"/v1/cards/{t.ids['card']}/reactivation"),
        account_only,
    ),
    Row(
        "POST",
        "/v1/cards/{number}/renewal",
        Need.ASSOCIATION,  # a subscription paid for: not the holder's to extend
        lambda t: _rq(
            f"/v1/cards/{t.ids['card']}/renewal", {"expires_on": LATER.date().isoformat()}
        ),
        association_only,
    ),
    Row(
        "POST",
        "/v1/cards/{number}/replacement",
        Need.HOLDER,
        lambda t: _rq(f"/v1/cards/{t.ids['card']}/replacement", {}),
        account_only,
    ),
    Row("GET", "/v1/blacklist", Need.OPERATOR, lambda t: _rq("/v1/blacklist"), no_association),
    # --- vouchers
    Row(
        "POST",
        A + "/voucher-batches",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/voucher-batches", _voucher_batch(t)),
        association_only,
    ),
    Row(
        "GET",
        "/v1/voucher-batches/{batch_id}.csv",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/voucher-batches/{t.ids['voucher_batch']}.csv"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/voucher-batches/{batch_id}",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/voucher-batches/{t.ids['voucher_batch']}"),
        association_only,
    ),
    Row(
        "POST",
        "/v1/vouchers/{code}/validation",
        Need.STAFF,
        lambda t: _rq(
            f"/v1/vouchers/{t.ids['voucher']}/validation",
            {"merchant_id": str(t.merchant_id), "account_id": str(t.account_id)},
        ),
    ),
    # --- money: stored value, adjustments, donations, the customer file import
    Row(
        "POST",
        "/v1/cards/{number}/loads",
        Need.STAFF,
        lambda t: _rq(
            f"/v1/cards/{t.ids['gift_card']}/loads",
            {"load_id": t.ids["load"], "merchant_id": str(t.merchant_id), "amount_cents": 1000},
        ),
    ),
    Row(
        "POST",
        "/v1/accounts/{account_id}/adjustments",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/accounts/{t.account_id}/adjustments",
            {
                "adjustment_id": t.ids["adjustment"],
                "amount_cents": 100,
                "bucket": "available",
                "reason": "matrix correction",
            },
        ),
        account_only,
    ),
    Row(
        "GET",
        "/v1/accounts/{account_id}/adjustments",
        Need.HOLDER,
        lambda t: _rq(f"/v1/accounts/{t.account_id}/adjustments"),
        account_only,
    ),
    Row(
        "POST",
        "/v1/accounts/{account_id}/donations",
        Need.HOLDER,
        lambda t: _rq(
            f"/v1/accounts/{t.account_id}/donations",
            {"donation_id": t.ids["donation"], "partner_id": str(uuid.uuid4()), "amount_cents": 1},
        ),
        account_only,
    ),
    Row(
        "POST",
        A + "/imports",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/imports"),
        association_only,
    ),
    # --- offline card transactions: quarantine, reconciliation, anomalies, liability
    Row(
        "GET",
        A + "/card-quarantine",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/card-quarantine"),
        association_only,
    ),
    Row(
        "POST",
        "/v1/card-quarantine/{id}/approve",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/card-quarantine/{t.ids['held']}/approve", {"reason": "matrix ok"}),
        association_only,
    ),
    Row(
        "POST",
        "/v1/card-quarantine/{id}/reject",
        Need.ASSOCIATION,
        lambda t: _rq(
            f"/v1/card-quarantine/{t.ids['held']}/reject",
            {"reason": "matrix no", "card_at_fault": False},
        ),
        association_only,
    ),
    Row(
        "GET",
        "/v1/card-transactions/accounted",
        Need.OPERATOR,
        lambda t: _rq("/v1/card-transactions/accounted"),
        no_association,
    ),
    Row(
        "GET",
        "/v1/card-transactions/reconciliation",
        Need.ASSOCIATION,  # one association's terminals; all of them: the operator's
        lambda t: _rq("/v1/card-transactions/reconciliation", association_id=_q(t), settle_s="0"),
        association_only,
    ),
    Row(
        "GET",
        "/v1/card-anomalies",
        Need.ASSOCIATION,  # one association's shops; all of them: the operator's
        lambda t: _rq("/v1/card-anomalies", association_id=_q(t)),
        association_only,
    ),
    Row(
        "GET",
        A + "/liability",
        Need.ASSOCIATION,
        lambda t: _rq(f"/v1/associations/{t.association_id}/liability"),
        association_only,
    ),
]
