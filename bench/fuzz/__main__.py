"""Fuzzing of the terminal edge against the running services, then the books checked.

    PYTHONPATH=. .venv/bin/python -m bench.fuzz [--minutes 10] [--seed 1]
        [--database comptoir_fuzz] [--vhost comptoir_fuzz] [--port-base 28180]

(or ``make fuzz``, ``make bench BENCHES=fuzz``). Not in CI: a run lasts minutes.

1. resets its own database and vhost (as bench/ingest.py does: the reset drops the services'
   schemas), starts the five services, seeds two associations (A: two merchants, four
   terminals; B: one merchant, one terminal) and issues chip cards of A;
2. for ``--minutes``, hypothesis draws operations and sends them, one at a time, round-robin:
   - **http**: a signed request to the gateway (sale, redemption, return, enrolment, request
     status, sync HELLO/CHUNK/CLOSE/UPDATES) built valid, then mutated (fields dropped, values
     of the wrong type or out of bounds, unknown fields, control characters, dates of any year
     and offset), signed right or wrong (bad MAC, stale or future timestamp, another terminal,
     no signature, a nonce replayed), sometimes not JSON at all or over 1 MiB; or an earlier
     request re-sent (same id and body: the same answer) or changed (same id: refused);
   - **line**: a TCP connection to the sync line: the greeting, then frames sealed with the
     terminal's key around mutated messages, frames MAC'd wrong or by another terminal, bad
     LRCs, cut frames, noise, oversize frames, EOT;
   - **honest**: a real offline sync (shared/sync/client/, over HTTP or the line, in turn)
     of card transactions certified as a card would (tests/cardtx.py): cards of A, a card of
     no one, a card used at B's terminal;
   every answer is judged at once (no 5xx; an error is problem+json with a ``reason`` or a
   ``code``; a line frame is answered or the line closed within 35 s);
3. then waits for the services to be idle and checks the books: each sale, redemption and
   return the gateway accepted is booked once in cards and clearing; no request left pending;
   each journal line the gateway acknowledged is booked or quarantined in cards, once; the
   cards' counters, the cards' entries and clearing's liability agree and the pivot nets to 0
   per association (tests/bookkeeping.py); clearing's reconciliation (POST /v1/reconciliation)
   is green; no dead letters; every service still up.

The last line of stdout is a JSON object with the counts and the findings (each with up to 3
examples); the exit status is 1 when there is a finding. Findings are reported, not fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench import ingest
from shared import clock, signing
from shared.contracts import card_transaction_id
from shared.sync import framing
from shared.sync.client import (
    GATEWAY_DOMAIN,
    HttpTransport,
    LineTransport,
    SyncClient,
    SyncRefused,
)
from tests import bookkeeping
from tests.cardtx import CardTxFactory, MemoryJournal, SimCard

ADMIN = {"Authorization": f"Bearer {ingest.ADMIN_TOKEN}", "Content-Type": "application/json"}
SLOW_S = 10.0  # an HTTP answer slower than this is a finding (the gateway waits 5 s at most)
LINE_WAIT_S = 35.0  # the gateway answers a frame or hangs up within this (its reply timeout 30 s)
HUGE = 1_100_000  # bytes: over the 1 MiB bodies and frames are refused at


def say(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The world the fuzzer acts in


@dataclass
class Till:
    terminal_id: str
    secret: str
    association_id: str
    merchant_id: str


@dataclass
class World:
    a: str  # association A
    b: str  # association B
    tills: list[
        Till
    ]  # A's: 0, 1 (merchant 0), 2 (merchant 1) fuzzed; 3 honest; B's: 4 fuzzed, 5 honest
    phones: list[str]
    cards: dict[str, SimCard]  # A's issued cards, as the honest terminals know them
    http: aiohttp.ClientSession
    # what the gateway accepted (status 200/201): id -> (till index, body)
    sales: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    redemptions: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    returns: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # every request sent with a good signature: (kind, id) -> (till, raw body, status)
    sent: dict[tuple[str, str], tuple[int, bytes, int]] = field(default_factory=dict)
    journals: dict[int, tuple[CardTxFactory, MemoryJournal]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    findings: dict[str, list[str]] = field(default_factory=dict)
    finding_counts: Counter[str] = field(default_factory=Counter)

    def finding(self, name: str, example: str) -> None:
        self.finding_counts[name] += 1
        seen = self.findings.setdefault(name, [])
        if len(seen) < 3:
            seen.append(example[:600])
            say(f"  FINDING {name}: {example[:300]}")


def gateway() -> str:
    return f"http://127.0.0.1:{ingest.SERVICES['terminals']}"


def service(name: str) -> str:
    return f"http://127.0.0.1:{ingest.SERVICES[name]}"


async def admin(
    http: aiohttp.ClientSession, method: str, url: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    async with http.request(
        method, url, data=None if body is None else orjson.dumps(body), headers=ADMIN
    ) as r:
        raw = await r.read()
        return r.status, orjson.loads(raw) if raw else None


async def seed(http: aiohttp.ClientSession, rng: random.Random) -> World:
    tills: list[Till] = []
    associations = []
    for label, merchants in (("A", 2), ("B", 1)):
        aid = str(uuid.uuid4())
        status, body = await admin(
            http,
            "PUT",
            f"{service('cards')}/v1/associations/{aid}",
            {
                "name": f"Fuzz {label}",
                "rate_mode": "network",
                "taux_client_bps": 500,
                "taux_uc_bps": 100,
                "issuer_prefix": f"{800000 + rng.randrange(100000)}",
            },
        )
        if status not in (200, 201):
            raise SystemExit(f"seed association: {status} {body}")
        associations.append(aid)
        for m in range(merchants):
            mid = str(uuid.uuid4())
            status, body = await admin(
                http,
                "PUT",
                f"{service('cards')}/v1/associations/{aid}/merchants/{mid}",
                {"name": f"Merchant {label}{m}"},
            )
            if status not in (200, 201):
                raise SystemExit(f"seed merchant: {status} {body}")
            for _ in range(2):
                tid, secret = str(uuid.uuid4()), secrets.token_hex(24)
                status, body = await admin(
                    http,
                    "PUT",
                    f"{gateway()}/v1/terminals/{tid}",
                    {
                        "association_id": aid,
                        "merchant_id": mid,
                        "shop_id": mid,
                        "label": f"Till {label}{m}",
                        "secret": secret,
                    },
                )
                if status not in (200, 201):
                    raise SystemExit(f"seed terminal: {status} {body}")
                tills.append(Till(tid, body.get("secret") or secret, aid, mid))
    cards: dict[str, SimCard] = {}
    for _ in range(12):
        status, body = await admin(
            http,
            "POST",
            f"{service('cards')}/v1/associations/{associations[0]}/cards",
            {"issue_id": str(uuid.uuid4())},
        )
        if status == 201:
            cards[body["number"]] = SimCard(body["number"])
        else:
            say(f"  cannot issue cards ({status} {body}): the honest syncs use unknown cards")
            break
    phones = [f"+336{n:08d}" for n in rng.sample(range(10**8), 40)]
    return World(associations[0], associations[1], tills, phones, cards, http)


# ---------------------------------------------------------------------------------------------
# Strategies

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**32, 2**63 - 1, 2**63, 10_000_000, 10_000_001]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "100",
            '=HYPERLINK("http://x","y")',
            "+cmd|' /C calc'!A0",
            "\u202eevil",
            "a\x1b[31m",
            "a\r\nb",
            "\x00",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "x" * 300,
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

OFFSETS = ["Z", "+00:00", "+01:00", "+02:00", "-05:00", "+14:00", "-12:00", "+05:45"]


@st.composite
def instants(draw: st.DrawFn) -> Any:
    """An occurred_at: mostly plausible (minutes ago, any offset), else anything."""
    kind = draw(
        st.sampled_from(
            ["recent"] * 6 + ["naive", "year1", "far", "future", "old", "epoch", "junk", "none"]
        )
    )
    now = clock.now()
    if kind == "recent":
        at = now - dt.timedelta(seconds=draw(st.integers(0, 3600)))
        off = draw(st.sampled_from(OFFSETS))
        if off == "Z":
            return at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        sign = 1 if off[0] == "+" else -1
        delta = dt.timedelta(hours=int(off[1:3]), minutes=int(off[4:6])) * sign
        return at.astimezone(dt.timezone(delta)).isoformat()
    if kind == "naive":
        return (now - dt.timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    if kind == "year1":
        return "0001-01-01T00:00:00+00:00"
    if kind == "far":
        return "9999-12-31T23:59:59+00:00"
    if kind == "future":
        return (now + dt.timedelta(days=draw(st.integers(1, 4000)))).isoformat()
    if kind == "old":
        return (now - dt.timedelta(days=draw(st.integers(46, 4000)))).isoformat()
    if kind == "epoch":
        return int(now.timestamp())
    if kind == "none":
        return None
    return draw(JUNK)


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """The body with 0 to 3 mutations: a field dropped, a field's value junk, an unknown field."""
    body = dict(body)
    for _ in range(draw(st.integers(0, 3))):
        what = draw(st.sampled_from(["drop", "junk", "extra", "nested"]))
        keys = sorted(body)
        if what == "drop" and keys:
            body.pop(draw(st.sampled_from(keys)))
        elif what == "junk" and keys:
            body[draw(st.sampled_from(keys))] = draw(JUNK)
        elif what == "extra":
            body[draw(st.text(min_size=1, max_size=12))] = draw(JUNK)
        elif what == "nested" and isinstance(body.get("customer"), dict):
            body["customer"] = draw(
                st.one_of(
                    st.just({"phone": draw(JUNK)}),
                    st.just({"card_number": draw(JUNK)}),
                    st.just({"phone": "+33600000000", "card_number": "4970100000000000"}),
                    st.just({}),
                )
            )
    return body


A_SALE = "<a sale the gateway accepted>"


@st.composite
def http_ops(draw: st.DrawFn, w: World) -> dict[str, Any]:
    till = draw(st.sampled_from([0, 1, 2, 4]))
    kind = draw(
        st.sampled_from(
            ["sale"] * 5
            + ["redemption"] * 2
            + ["return"] * 2
            + ["enrolment", "status", "resend", "conflict"]
            + ["sync-hello", "sync-chunk", "sync-close", "sync-updates"]
        )
    )
    phone_or_card = draw(
        st.one_of(
            st.builds(lambda p: {"phone": p}, st.sampled_from(w.phones)),
            st.builds(lambda c: {"card_number": c}, st.sampled_from(sorted(w.cards) or ["0"])),
        )
    )
    amount = draw(st.one_of(st.integers(1, 30_000), st.integers(1, 10_000_000)))
    body: dict[str, Any]
    if kind == "sale":
        body = {"sale_id": str(uuid.uuid4()), "customer": phone_or_card, "amount_cents": amount}
        if draw(st.booleans()):
            body["occurred_at"] = draw(instants())
        if draw(st.booleans()):
            body["product_family"] = draw(st.one_of(st.sampled_from(["epicerie", "pain"]), JUNK))
        if draw(st.integers(0, 4)) == 0:
            body["quantity"] = draw(st.one_of(st.integers(1, 10), JUNK))
    elif kind == "redemption":
        body = {
            "redemption_id": str(uuid.uuid4()),
            "customer": phone_or_card,
            "amount_cents": draw(st.integers(1, 3000)),
            "purse": draw(st.sampled_from(["cagnotte", "cagnotte", "stored_value"])),
        }
        if draw(st.booleans()):
            body["occurred_at"] = draw(instants())
    elif kind == "return":
        body = {
            "return_id": str(uuid.uuid4()),
            "sale_id": A_SALE,  # an accepted sale, chosen when played (the draws stay the same)
            "amount_cents": draw(st.integers(1, 25_000)),
            "reason": draw(st.sampled_from(["cancelled", "returned"])),
        }
        if draw(st.integers(0, 3)) == 0:
            body["occurred_at"] = draw(instants())
    elif kind == "enrolment":
        body = {
            "enrolment_id": str(uuid.uuid4()),
            "phone": draw(st.sampled_from(w.phones)),
            "first_name": draw(st.one_of(st.none(), st.text(max_size=30), JUNK)),
        }
    elif kind.startswith("sync-"):
        body = sync_body(draw, kind[5:], w, till)
    else:
        body = {}
    return {
        "kind": kind,
        "till": till,
        "body": draw(mutated(body)) if draw(st.integers(0, 2)) == 0 else body,
        "signing": draw(
            st.sampled_from(
                ["ok"] * 10 + ["bad_mac", "stale", "future", "other_terminal", "unsigned", "replay"]
            )
        ),
        "encoding": draw(st.sampled_from(["json"] * 30 + ["bytes", "huge", "deep", "text"])),
        "junk_bytes": draw(st.binary(max_size=64)),
        "pick": draw(st.integers(0, 10**6)),
    }


def sync_body(draw: st.DrawFn, kind: str, w: World, till: int) -> dict[str, Any]:
    """A sync message for a fuzzed terminal: plausible numbers, card lines from a card of A."""
    if kind == "hello":
        return {
            "terminal_id": w.tills[till].terminal_id,
            "software": draw(st.one_of(st.just("fuzz/1"), st.text(max_size=20))),
            "params_version": draw(st.integers(0, 5)),
            "blacklist_version": draw(st.integers(0, 5)),
            "pending_count": draw(st.integers(0, 10)),
            "journal_first_seq": draw(st.integers(0, 3)),
            "journal_last_seq": draw(st.integers(0, 12)),
        }
    if kind == "chunk":
        return {
            "session_id": str(uuid.uuid4()),
            "transactions": [card_line(draw, w, till) for _ in range(draw(st.integers(0, 3)))],
        }
    if kind == "close":
        return {
            "session_id": str(uuid.uuid4()),
            "from_seq": draw(st.integers(0, 5)),
            "to_seq": draw(st.integers(0, 20)),
            "count": draw(st.integers(0, 20)),
            "amount_cents": draw(st.integers(0, 10**6)),
        }
    return {
        "session_id": str(uuid.uuid4()),
        "params_version": draw(st.integers(0, 5)),
        "blacklist_version": draw(st.integers(0, 5)),
    }


def card_line(draw: st.DrawFn, w: World, till: int) -> dict[str, Any]:
    """A journal line: certified by a copy of a card (so the honest cards' chains stay theirs),
    at a seq the fuzzed terminal may or may not have used, then perhaps mutated."""
    number = draw(st.sampled_from(sorted(w.cards))) if w.cards else "9990420000000000"
    card = w.cards[number].copy() if number in w.cards else SimCard(number)
    amount = draw(st.integers(1, 20_000))
    reward = draw(st.sampled_from([amount * 500 // 10_000, 0, 50_000]))
    at = clock.now().replace(microsecond=0) - dt.timedelta(minutes=draw(st.integers(1, 600)))
    tx = card.sale(
        uuid.UUID(w.tills[till].terminal_id), draw(st.integers(1, 40)), amount, reward, at
    )
    line = orjson.loads(tx.model_dump_json())
    return draw(mutated(line)) if draw(st.booleans()) else line


# ---------------------------------------------------------------------------------------------
# HTTP


def encode(op: dict[str, Any]) -> bytes:
    enc = op["encoding"]
    if enc == "bytes":
        return bytes(op["junk_bytes"])
    if enc == "huge":
        return b'{"x":"' + b"a" * HUGE + b'"}'
    if enc == "deep":
        return b"[" * 5000 + b"]" * 5000
    if enc == "text":
        return str(op["body"]).encode()
    return dumps(op["body"])


def dumps(value: Any) -> bytes:
    """JSON as any client may write it: integers of any size (orjson stops at 64 bits)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def path_of(op: dict[str, Any], w: World) -> tuple[str, str, str | None]:
    """(method, path, the request's id or None)."""
    kind, body = op["kind"], op["body"]
    if kind in ("sale", "redemption", "return", "enrolment"):
        key = body.get(f"{kind}_id") if isinstance(body, dict) else None
        return "POST", f"/v1/{kind}s", key if isinstance(key, str) else None
    if kind.startswith("sync-"):
        return "POST", f"/v1/sync/{kind[5:]}", None
    known = sorted(w.sent) or [("sale", str(uuid.uuid4()))]
    k, rid = known[op["pick"] % len(known)]
    return "GET", f"/v1/{k}s/{rid}", None


async def http_case(w: World, op: dict[str, Any]) -> None:
    kind = op["kind"]
    if kind in ("resend", "conflict"):
        await resend(w, op)
        return
    till = w.tills[op["till"]]
    if isinstance(op["body"], dict) and op["body"].get("sale_id") == A_SALE:
        known = sorted(w.sales)
        pick = known[op["pick"] % len(known)] if known else str(uuid.uuid4())
        op = {**op, "body": {**op["body"], "sale_id": pick}}
    method, path, rid = path_of(op, w)
    raw = b"" if method == "GET" else encode(op)
    headers = signing.headers(till.terminal_id, till.secret, method, path, raw)
    sig = op["signing"]
    if sig == "bad_mac":
        headers[signing.SIGNATURE] = "0" * 64
    elif sig == "stale":
        headers = _resigned(till, method, path, raw, clock.now().timestamp() - 3600)
    elif sig == "future":
        headers = _resigned(till, method, path, raw, clock.now().timestamp() + 3600)
    elif sig == "other_terminal":
        other = w.tills[(op["till"] + 1) % len(w.tills)]
        headers[signing.TERMINAL] = other.terminal_id
    elif sig == "unsigned":
        headers = {}
    headers["Content-Type"] = "application/json"
    status, ctype, body = await send(w, method, path, raw, headers)
    if sig == "replay" and status < 500:
        # the very same headers again: the nonce is spent
        status2, _, body2 = await send(w, method, path, raw, headers)
        if status2 in (200, 201, 202) and method == "POST":
            w.finding("replay_accepted", f"{method} {path} -> {status2} {body2!r:.200}")
        else:
            w.counts[f"http.replay_answered_{status2}"] += 1
    judge(w, f"http.{kind}", method, path, raw, status, ctype, body)
    good = sig in ("ok", "replay")
    if good and rid and method == "POST" and status < 500:
        w.sent[(kind, rid)] = (op["till"], raw, status)
    if good and status in (200, 201) and isinstance(body, dict):
        table = {"sale": w.sales, "redemption": w.redemptions, "return": w.returns}.get(kind)
        if table is not None and rid:
            table[rid] = (op["till"], op["body"])
    if not good and status in (200, 201, 202):
        w.finding("bad_signature_accepted", f"{sig} {method} {path} -> {status}")


def _resigned(till: Till, method: str, path: str, raw: bytes, ts: float) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    stamp = str(int(ts))
    return {
        signing.TERMINAL: till.terminal_id,
        signing.TIMESTAMP: stamp,
        signing.NONCE: nonce,
        signing.SIGNATURE: signing.sign(till.secret, method, path, stamp, nonce, raw),
    }


async def resend(w: World, op: dict[str, Any]) -> None:
    """An earlier request again with a fresh signature: the same body must get the same
    answer (idempotent); another body under the same id must be refused."""
    known = [k for k, v in w.sent.items() if v[2] in (200, 201, 202)]
    if not known:
        return
    kind, rid = known[op["pick"] % len(known)]
    till_i, raw, first = w.sent[(kind, rid)]
    till = w.tills[till_i]
    path = f"/v1/{kind}s"
    if op["kind"] == "conflict":
        body = orjson.loads(raw)
        amount = body.get("amount_cents")
        body["amount_cents"] = amount + 1 if isinstance(amount, int) else 1
        raw = dumps(body)
    headers = signing.headers(till.terminal_id, till.secret, "POST", path, raw)
    headers["Content-Type"] = "application/json"
    status, ctype, answer = await send(w, "POST", path, raw, headers)
    judge(w, f"http.{op['kind']}", "POST", path, raw, status, ctype, answer)
    if op["kind"] == "resend" and status != first and not (first == 202 and status in (200, 201)):
        w.finding("resend_changed_answer", f"{kind} {rid}: first {first}, again {status}")
    if op["kind"] == "conflict" and status in (200, 201, 202):
        w.finding("conflicting_resend_accepted", f"{kind} {rid}: {status} {answer!r:.200}")


async def send(
    w: World, method: str, path: str, raw: bytes, headers: dict[str, str]
) -> tuple[int, str, Any]:
    started = time.monotonic()
    try:
        async with w.http.request(
            method,
            gateway() + path,
            data=raw if method != "GET" else None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=60),
        ) as r:
            data = await r.read()
            status, ctype = r.status, r.headers.get("Content-Type", "")
    except (aiohttp.ClientError, TimeoutError) as exc:
        w.finding("http_no_answer", f"{method} {path}: {exc!r}")
        return 0, "", None
    took = time.monotonic() - started
    if took > SLOW_S:
        w.finding("http_slow", f"{method} {path}: {took:.1f} s")
    w.statuses[str(status)] += 1
    try:
        body = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        body = data[:200]
    return status, ctype, body


def judge(
    w: World, what: str, method: str, path: str, raw: bytes, status: int, ctype: str, body: Any
) -> None:
    w.counts[what] += 1
    if status == 0:
        return
    example = f"{method} {path} {raw[:300]!r} -> {status} {body!r:.300}"
    if status >= 500 and status != 503:
        w.finding(f"http_{status}", example)
    if status >= 400:
        if "problem+json" not in ctype or not isinstance(body, dict):
            w.finding("error_not_problem_json", example)
        elif not (body.get("reason") or body.get("code")):
            w.finding("problem_without_reason_or_code", example)
        elif any(s in str(body) for s in ("violates", "constraint", "asyncpg", "Traceback")):
            w.finding("database_text_in_answer", example)


# ---------------------------------------------------------------------------------------------
# The line


@st.composite
def line_ops(draw: st.DrawFn, w: World) -> dict[str, Any]:
    till = draw(st.sampled_from([0, 1, 2, 4]))
    actions = []
    for counter in range(1, draw(st.integers(1, 6)) + 1):
        what = draw(
            st.sampled_from(
                ["frame"] * 6
                + ["foreign_mac", "zero_mac", "bad_lrc", "cut", "noise", "oversize", "eot"]
            )
        )
        kind = draw(st.sampled_from(["hello", "chunk", "close", "updates", "bogus"]))
        body = sync_body(draw, kind if kind != "bogus" else "hello", w, till)
        message: Any = {
            "terminal_id": w.tills[till].terminal_id,
            "counter": draw(st.sampled_from([counter] * 4 + [0, counter + 5, -1])),
            "type": kind,
            "body": draw(mutated(body)) if draw(st.booleans()) else body,
        }
        if draw(st.integers(0, 5)) == 0:
            message = draw(mutated(message))
        actions.append((what, message, draw(st.binary(min_size=1, max_size=40))))
    return {"till": till, "actions": actions}


async def read_frame(
    reader: asyncio.StreamReader, decoder: framing.Decoder, timeout: float
) -> list[framing.Event] | None:
    """The next events from the gateway; None if the connection closed, [] on silence."""
    try:
        data = await asyncio.wait_for(reader.read(65536), timeout)
    except TimeoutError:
        return []
    except ConnectionError:
        return None
    if not data:
        return None
    return decoder.feed(data)


async def line_case(w: World, op: dict[str, Any]) -> None:
    w.counts["line.session"] += 1
    till = w.tills[op["till"]]
    other = w.tills[(op["till"] + 1) % len(w.tills)]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", ingest.LINE_PORT), 10
        )
    except (OSError, TimeoutError) as exc:
        w.finding("line_unreachable", repr(exc))
        return
    decoder = framing.Decoder()
    try:
        greeting = None
        deadline = time.monotonic() + 10
        while greeting is None and time.monotonic() < deadline:
            events = await read_frame(reader, decoder, 10)
            if not events:
                break
            for e in events:
                if isinstance(e, framing.Frame):
                    parts = framing.split(e.payload)
                    greeting = orjson.loads(parts[1]) if parts else None
        if not isinstance(greeting, dict) or "challenge" not in greeting:
            w.finding("line_no_greeting", repr(greeting))
            return
        writer.write(bytes((framing.ACK,)))
        challenge = str(greeting["challenge"])
        session: dict[str, str] = {}
        for what, message, junk in op["actions"]:
            w.counts[f"line.{what}"] += 1
            inner = message.get("body") if isinstance(message, dict) else None
            if session and isinstance(inner, dict) and "session_id" in inner:
                # the session the gateway opened, so that the fuzz reaches past that check
                message = {**message, "body": {**inner, "session_id": session["id"]}}
            body = dumps(message)
            mac = framing.frame_mac(till.secret, challenge, body)
            if what == "foreign_mac":
                mac = framing.frame_mac(other.secret, challenge, body)
            elif what == "zero_mac":
                mac = "0" * framing.MAC_HEX
            payload = mac.encode() + b" " + body
            if framing.STX in payload or framing.ETX in payload:
                payload = payload.replace(b"\x02", b"").replace(b"\x03", b"")
            if what == "bad_lrc":
                wire = (
                    bytes((framing.STX,)) + payload + bytes((framing.ETX, framing.lrc(payload) ^ 1))
                )
            elif what == "cut":
                wire = bytes((framing.STX,)) + payload[: len(payload) // 2]
            elif what == "noise":
                wire = bytes(junk)
            elif what == "oversize":
                wire = (
                    bytes((framing.STX,))
                    + b"a" * (framing.MAX_PAYLOAD + 10)
                    + bytes((framing.ETX, 0))
                )
            elif what == "eot":
                wire = bytes((framing.EOT,))
            else:
                wire = framing.encode(payload)
            writer.write(wire)
            await writer.drain()
            if what == "eot":
                break
            answered = await await_answer(
                w, reader, writer, decoder, challenge, till, what, session
            )
            if not answered:
                return
    except ConnectionError:
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def await_answer(
    w: World,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    decoder: framing.Decoder,
    challenge: str,
    till: Till,
    what: str,
    session: dict[str, str],
) -> bool:
    """Wait for what the gateway does with our bytes: a NAK, or an ACK then an answer frame,
    or a hang-up. False when the connection is over."""
    deadline = time.monotonic() + LINE_WAIT_S
    got_ack = False
    # noise and cut frames may get their NAK only at the next frame or after the 5 s
    # inter-byte timeout: silence for 8 s is an answer too for them
    quiet = 8.0 if what in ("cut", "noise") else LINE_WAIT_S
    while time.monotonic() < deadline:
        events = await read_frame(reader, decoder, min(quiet, deadline - time.monotonic()))
        if events is None:
            w.counts["line.hangup"] += 1
            return False
        if not events:
            if what in ("cut", "noise"):
                return True
            break
        for e in events:
            if isinstance(e, framing.Control):
                if e.byte == framing.NAK:
                    w.counts["line.nak"] += 1
                    return True
                if e.byte == framing.ACK:
                    got_ack = True
                if e.byte == framing.EOT:
                    w.counts["line.eot"] += 1
                    return False
            elif isinstance(e, framing.Frame):
                writer.write(bytes((framing.ACK,)))  # as a terminal acknowledges
                judge_line_frame(w, e.payload, challenge, till, session)
                return True
            else:
                w.counts[f"line.gateway_{e.reason}"] += 1
    w.finding("line_silent", f"{what}: no answer in {LINE_WAIT_S} s (ack {got_ack})")
    return False


def judge_line_frame(
    w: World, payload: bytes, challenge: str, till: Till, session: dict[str, str]
) -> None:
    parts = framing.split(payload)
    if parts is None:
        w.finding("line_frame_not_mac_json", repr(payload[:200]))
        return
    mac, body = parts
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        w.finding("line_frame_bad_json", repr(body[:200]))
        return
    sealed = framing.check(till.secret, challenge + GATEWAY_DOMAIN, mac, body)
    if not isinstance(message, dict):
        w.finding("line_frame_not_object", repr(body[:200]))
        return
    kind = message.get("type")
    w.counts[f"line.answer.{kind}"] += 1
    if kind == "error":
        code = (message.get("body") or {}).get("code")
        w.counts[f"line.error.{code}"] += 1
        if not code:
            w.finding("line_error_without_code", repr(body[:300]))
    elif not sealed:
        w.finding("line_answer_not_sealed", repr(body[:300]))
    elif kind == "hello" and isinstance(message.get("body"), dict):
        session["id"] = str(message["body"].get("session_id"))


# ---------------------------------------------------------------------------------------------
# Honest offline terminals


@st.composite
def honest_ops(draw: st.DrawFn, w: World) -> dict[str, Any]:
    return {
        "till": draw(st.sampled_from([3, 5])),
        "lines": draw(st.integers(1, 6)),
        "transport": draw(st.sampled_from(["http", "line"])),
        "unknown_card": draw(st.integers(0, 9)) == 0,
        "seed": draw(st.integers(0, 2**31)),
    }


class _Telling:
    """A transport that keeps the detail of each refusal (the report keeps only the code)."""

    def __init__(self, inner: Any, refusals: list[str]) -> None:
        self.inner = inner
        self.refusals = refusals
        self.terminal_id: str = inner.terminal_id

    async def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(await self.inner.call(kind, body))
        except SyncRefused as exc:
            self.refusals.append(f"{kind}: {exc.code} {exc.detail[:300]}")
            raise

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def honest_case(w: World, op: dict[str, Any]) -> None:
    """A terminal's journal grows by a few card transactions and is synced as the reference
    client does: the gateway must acknowledge every line (booked or held by cards later)."""
    till = w.tills[op["till"]]
    if op["till"] not in w.journals:
        factory = CardTxFactory(
            uuid.UUID(till.terminal_id),
            cards=w.cards,
            seed=op["seed"],
            start=clock.now().replace(microsecond=0) - dt.timedelta(hours=2),
        )
        w.journals[op["till"]] = (factory, MemoryJournal(software="fuzz-honest/1"))
    factory, journal = w.journals[op["till"]]
    rng = random.Random(op["seed"])
    for _ in range(op["lines"]):
        if op["unknown_card"] or not w.cards:
            journal.lines.append(factory.sale(factory.card()))
            continue
        card = w.cards[rng.choice(sorted(w.cards))]
        if card.available > 500 and rng.random() < 0.2:
            journal.lines.append(factory.redemption(card, card.available // 3))
        else:
            # the reward as the rules give it (5 %, half up), as an up-to-date terminal does
            seq, at, nonce = factory._next()
            amount = rng.randrange(100, 20_000)
            reward = (amount * 500 + 5_000) // 10_000
            journal.lines.append(
                card.sale(uuid.UUID(till.terminal_id), seq, amount, reward, at, None, nonce)
            )
    # the terminal's clock must not run ahead of the server's: the factory steps 1-90 s a line
    factory.clock = min(factory.clock, clock.now().replace(microsecond=0) - dt.timedelta(minutes=1))
    transport: Any = (
        HttpTransport(gateway(), till.terminal_id, till.secret, session=w.http)
        if op["transport"] == "http"
        else LineTransport("127.0.0.1", ingest.LINE_PORT, till.terminal_id, till.secret)
    )
    refusals: list[str] = []
    report = await SyncClient(_Telling(transport, refusals), max_sessions=3).run(journal)
    w.counts[f"honest.{op['transport']}"] += 1
    if not report.ok:
        w.finding(
            "honest_sync_failed",
            f"{op['transport']} till {op['till']}: {report.error} {report.failures} "
            f"committed {journal.committed_through} of {journal.lines[-1].seq}; {refusals}",
        )


# ---------------------------------------------------------------------------------------------
# The checks at the end


async def wait_idle(conn: asyncpg.Connection, cap_s: float = 120) -> None:
    """Until no request is pending and the outboxes are empty (or cap_s)."""
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        pending = await conn.fetchval(
            "SELECT count(*) FROM terminals.requests WHERE status = 'pending'"
        )
        outbox = sum(
            [
                await conn.fetchval(f"SELECT count(*) FROM {s}.outbox")
                for s in ("terminals", "cards", "clearing", "crm")
            ]
        )
        if not pending and not outbox:
            await asyncio.sleep(3)  # the last messages consumed after their outbox rows left
            return
        await asyncio.sleep(1)


async def check_books(w: World, conn: asyncpg.Connection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    await wait_idle(conn)
    # each sale the gateway accepted (its answer then, or its request's end since) booked once
    # in cards; in clearing once when it moved money
    accepted = {
        r["kind"]: r["ids"]
        for r in await conn.fetch(
            """SELECT kind, array_agg(id) AS ids FROM terminals.requests
               WHERE status = 'accepted' GROUP BY kind"""
        )
    }
    sales = list(accepted.get("sale", []))
    for sid in set(w.sales) - {str(x) for x in sales}:
        w.finding("answered_201_but_request_not_accepted", f"sale {sid}")
    rows = await conn.fetch(
        """SELECT s.id, (SELECT count(*) FROM cards.cagnotte_entries e WHERE e.kind = 'cagnottage'
                          AND e.reference_id = s.id AND e.purchase_cents IS NOT NULL) AS cards,
                  (SELECT count(*) FROM clearing.journal_entries j WHERE j.kind = 'accrual'
                          AND j.reference_id = s.id) AS clearing,
                  (SELECT coalesce(sum(abs(e.amount_cents) + coalesce(e.fee_cents, 0)), 0)
                     FROM cards.cagnotte_entries e WHERE e.kind = 'cagnottage' AND e.reference_id = s.id) AS moved
           FROM unnest($1::uuid[]) s(id)""",
        sales,
    )
    for r in rows:
        if r["cards"] != 1:
            w.finding("sale_not_once_in_cards", f"{r['id']}: {r['cards']} times")
        if r["clearing"] > 1 or (r["moved"] and r["clearing"] != 1):
            w.finding("sale_not_once_in_clearing", f"{r['id']}: {r['clearing']} times")
    out["sales_accepted"] = len(sales)
    reds = list(accepted.get("redemption", []))
    for r in await conn.fetch(
        """SELECT s.id, (SELECT count(*) FROM cards.cagnotte_entries e WHERE e.kind = 'decagnottage'
                          AND e.reference_id = s.id) AS cards,
                  (SELECT count(*) FROM clearing.journal_entries j
                    WHERE j.kind IN ('redemption', 'stored_value_spend') AND j.reference_id = s.id) AS clearing
           FROM unnest($1::uuid[]) s(id)""",
        reds,
    ):
        if r["cards"] != 1 or r["clearing"] != 1:
            w.finding(
                "redemption_not_once", f"{r['id']}: cards {r['cards']}, clearing {r['clearing']}"
            )
    out["redemptions_accepted"] = len(reds)
    # what returns took back never exceeds the sale (amount, and reward reversed)
    for r in await conn.fetch(
        """SELECT e.reference_id AS sale, max(e.purchase_cents) FILTER (WHERE e.kind = 'cagnottage') AS amount,
                  coalesce(sum(e.amount_cents) FILTER (WHERE e.kind = 'cagnottage' AND e.bucket IN ('available', 'pending')), 0) AS reward,
                  (SELECT coalesce(sum(x.purchase_cents), 0) FROM cards.cagnotte_entries x
                    WHERE x.kind = 'reversal' AND x.reverses = e.reference_id AND x.purchase_cents IS NOT NULL) AS returned,
                  (SELECT -coalesce(sum(x.amount_cents), 0) FROM cards.cagnotte_entries x
                    WHERE x.kind = 'reversal' AND x.reverses = e.reference_id AND x.bucket IN ('available', 'pending')) AS reversed
           FROM cards.cagnotte_entries e WHERE e.reference_id = ANY($1::uuid[]) GROUP BY 1""",
        sales,
    ):
        if r["amount"] is not None and (r["returned"] > r["amount"] or r["reversed"] > r["reward"]):
            w.finding("returned_more_than_sold", dict(r).__repr__())
    out["returns_accepted"] = len(accepted.get("return", []))
    for r in await conn.fetch(
        """SELECT s.id, (SELECT count(*) FROM cards.cagnotte_entries e WHERE e.kind = 'reversal'
                          AND e.reference_id = s.id AND e.purchase_cents IS NOT NULL) AS cards
           FROM unnest($1::uuid[]) s(id)""",
        list(accepted.get("return", [])),
    ):
        if r["cards"] > 1:
            w.finding("return_booked_twice", f"{r['id']}: {r['cards']} times")
    pending = await conn.fetch(
        "SELECT id, kind FROM terminals.requests WHERE status = 'pending' LIMIT 5"
    )
    for r in pending:
        w.finding("request_left_pending", f"{r['kind']} {r['id']}")
    # each journal line the gateway acknowledged: booked or quarantined in cards, once
    acked = await conn.fetch(
        "SELECT terminal_id, seq FROM terminals.offline_transactions ORDER BY terminal_id, seq"
    )
    ids = [card_transaction_id(r["terminal_id"], r["seq"]) for r in acked]
    has_quarantine = await conn.fetchval("SELECT to_regclass('cards.card_quarantine') IS NOT NULL")
    quarantine_sql = (
        "(SELECT count(*) FROM cards.card_quarantine q WHERE q.transaction_id = t.id)"
        if has_quarantine
        else "0"
    )
    for r in await conn.fetch(
        f"""SELECT t.id, (SELECT count(*) FROM cards.card_transactions c WHERE c.transaction_id = t.id) AS booked,
                   {quarantine_sql} AS held
            FROM unnest($1::uuid[]) t(id)""",
        ids,
    ):
        if r["booked"] + r["held"] != 1:
            w.finding(
                "acked_line_not_booked_or_held_once",
                f"{r['id']}: booked {r['booked']}, held {r['held']}",
            )
    out["lines_acknowledged"] = len(ids)
    out["lines_booked"] = await conn.fetchval("SELECT count(*) FROM cards.card_transactions")
    out["lines_held"] = (
        await conn.fetchval("SELECT count(*) FROM cards.card_quarantine")
        if has_quarantine
        else None
    )
    # the books of each association agree, and the pivot nets to 0
    for label, aid in (("A", w.a), ("B", w.b)):
        try:
            await bookkeeping.assert_books_agree(conn, uuid.UUID(aid))
        except AssertionError as exc:
            w.finding("books_disagree", f"association {label}: {exc}")
        out[f"pivot_net_{label}"] = await bookkeeping.pivot_net(conn, uuid.UUID(aid))
        out[f"liability_{label}"] = await bookkeeping.liability_check(conn, uuid.UUID(aid))
    dead = {
        s: await conn.fetchval(f"SELECT count(*) FROM {s}.dead_letters")
        for s in ("terminals", "cards", "clearing", "crm", "notifications")
    }
    out["dead_letters"] = dead
    for s, n in dead.items():
        if n:
            types = await conn.fetch(f"SELECT * FROM {s}.dead_letters LIMIT 3")
            w.finding("dead_letters", f"{s}: {n}; {[dict(t) for t in types]!r:.400}")
    status, body = await admin(
        w.http, "POST", f"{service('clearing')}/v1/reconciliation", {"settle_seconds": 0}
    )
    out["reconciliation"] = {"status": status, "body": body}
    if status != 200 or not (isinstance(body, dict) and body.get("ok")):
        failed = (
            [c for c in (body or {}).get("checks", []) if not c.get("ok")]
            if isinstance(body, dict)
            else body
        )
        w.finding("reconciliation_red", f"{status} {failed!r:.500}")
    return out


# ---------------------------------------------------------------------------------------------
# Driving hypothesis


def fuzz(w: World, loop: asyncio.AbstractEventLoop, until: float, seed: int) -> None:
    """Hypothesis draws the cases; each is played at once against the services. Findings are
    recorded, not raised: one run explores for the whole time instead of stopping to shrink
    the first one."""

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
        which = draw(st.sampled_from(["http"] * 6 + ["line"] * 3 + ["honest"]))
        op = {"http": http_ops, "line": line_ops, "honest": honest_ops}[which](w)
        return which, draw(op)

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(cases())
    def play(case: tuple[str, dict[str, Any]]) -> None:
        if time.monotonic() > until:
            return
        which, op = case
        runner = {"http": http_case, "line": line_case, "honest": honest_case}[which]
        try:
            loop.run_until_complete(asyncio.wait_for(runner(w, op), 90))
        except TimeoutError:
            w.finding(f"{which}_case_timeout", repr(op)[:400])
        except Exception as exc:  # the fuzzer's own bug or a service's: both worth a look
            w.finding(f"{which}_case_raised", f"{exc!r} for {repr(op)[:300]}")

    rounds = 0
    while time.monotonic() < until:
        rounds += 1
        try:
            play()
        except Exception as exc:  # hypothesis' own complaints: note them, go on fuzzing
            w.counts["fuzzer.round_error"] += 1
            say(f"  round {rounds} ended by {type(exc).__name__}: {str(exc)[:200]}")
        say(
            f"  round {rounds}: {sum(w.counts.values())} actions, statuses {dict(w.statuses)}, "
            f"findings {dict(w.finding_counts)}"
        )


async def start_services(run_dir: Path) -> dict[str, ingest.Proc]:
    def start(name: str, attempt: int = 0) -> ingest.Proc:
        env = ingest.child_env(
            {
                "COMPTOIR_DATABASE_URL": ingest.DSN,
                "COMPTOIR_AMQP_URL": ingest.AMQP,
                "COMPTOIR_PORT": str(ingest.SERVICES[name]),
                "COMPTOIR_SYNC_LINE_PORT": str(ingest.LINE_PORT),
                "COMPTOIR_CARDS_URL": service("cards"),
                "COMPTOIR_TERMINALS_URL": gateway(),
                "COMPTOIR_ADMIN_TOKEN": ingest.ADMIN_TOKEN,
                "COMPTOIR_ENV": "development",
                "COMPTOIR_LOG_LEVEL": "WARNING",
                # small pools: the PostgreSQL of this machine is shared (100 connections)
                "COMPTOIR_DB_POOL_MAX": "4",
            }
        )
        return ingest.Proc(
            name,
            [ingest.PY, "-m", f"services.{name}"],
            env,
            run_dir / f"{name}{f'.{attempt}' if attempt else ''}.log",
            remember_it=False,
        )

    procs = {name: start(name) for name in ingest.SERVICES}
    async with aiohttp.ClientSession() as session:
        await ingest.wait_ready(session, procs, start)
    return procs


async def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()  # made inside the loop it will run on


def main(args: argparse.Namespace) -> int:
    ingest.configure(args.database, args.vhost, args.port_base)
    run_dir = ingest.ROOT / "run" / "fuzz" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    say(f"logs in {run_dir}; database {ingest.DB}, vhost {ingest.VHOST}")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ingest.ports_free([*ingest.SERVICES.values(), ingest.LINE_PORT])
    loop.run_until_complete(ingest.reset())
    procs = loop.run_until_complete(start_services(run_dir))
    result: dict[str, Any] = {
        "bench": "fuzz",
        "machine": ingest.machine(),
        "code": ingest.code_version(),
        "minutes": args.minutes,
        "seed": args.seed,
    }
    try:
        http = loop.run_until_complete(new_session())
        w = loop.run_until_complete(seed(http, random.Random(args.seed)))
        say(f"seeded: associations A and B, {len(w.tills)} terminals, {len(w.cards)} cards of A")
        started = time.monotonic()
        fuzz(w, loop, started + 60 * args.minutes, args.seed)
        result["fuzz_seconds"] = round(time.monotonic() - started, 1)
        alive = {n: p.popen.poll() is None for n, p in procs.items()}
        for n, up in alive.items():
            if not up:
                w.finding(
                    "service_died", f"{n} exited {procs[n].popen.returncode}; see {procs[n].log}"
                )
        conn = loop.run_until_complete(asyncpg.connect(ingest.DSN))
        try:
            result["books"] = loop.run_until_complete(check_books(w, conn))
        finally:
            loop.run_until_complete(conn.close())
        loop.run_until_complete(http.close())
        result["actions"] = dict(sorted(w.counts.items()))
        result["http_statuses"] = dict(sorted(w.statuses.items()))
        result["findings"] = {
            k: {"count": w.finding_counts[k], "examples": v} for k, v in sorted(w.findings.items())
        }
    finally:
        say("stopping the services (SIGTERM)")
        result["exit_codes"] = {n: loop.run_until_complete(p.stop()) for n, p in procs.items()}
    (run_dir / "result.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    say(f"== fuzz: {sum(w.counts.values())} actions in {result['fuzz_seconds']} s")
    say(f"   findings: { {k: v['count'] for k, v in result['findings'].items()} or 'none' }")
    print(orjson.dumps(result, default=str).decode())
    return 1 if result["findings"] else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--minutes", type=float, default=10, help="how long to fuzz")
    p.add_argument("--seed", type=int, default=1, help="the seed of the world (phones, prefixes)")
    p.add_argument("--database", default="comptoir_fuzz", help="its own database (reset)")
    p.add_argument("--vhost", default="comptoir_fuzz", help="its own RabbitMQ vhost (reset)")
    p.add_argument("--port-base", type=int, default=28180, help="first of the 6 ports used")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
