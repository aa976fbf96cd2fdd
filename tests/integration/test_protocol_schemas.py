"""The published protocol against the running gateway (docs/terminal-protocol.md,
docs/schemas/): every message the gateway sends in real sessions, over HTTP and over the line,
answers and errors alike, validates against the committed JSON Schemas; the committed schemas
are what the models generate now; and the rules the document states for parameters not yet
computed, failed sessions, the line's frame counter and transports hold."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from deploy import protocol_schemas
from shared import clock, signing
from shared.sync import framing
from shared.sync.client import GATEWAY_DOMAIN, ZERO_MAC, Link
from shared.sync.messages import ERRORS
from tests import harness
from tests.cardtx import CardTxFactory
from tests.conftest import Network, NetworkFactory, eventually

pytestmark = pytest.mark.timeout(120)
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass
class Seen:
    """Every message the gateway sent, with the schema it must match."""

    messages: list[tuple[str, str, Any]] = field(default_factory=list)  # schema, what, message

    def add(self, schema: str, what: str, message: Any) -> Any:
        self.messages.append((schema, what, message))
        return message

    def codes(self) -> set[str]:
        return {
            m["code"] if s == "problem" else m["body"]["code"]
            for s, _, m in self.messages
            if s == "problem" or (s == "line-gateway-frame" and m["type"] == "error")
        }

    def assert_valid(self) -> None:
        validators: dict[str, Draft202012Validator] = {}
        bad = []
        for schema, what, message in self.messages:
            v = validators.setdefault(schema, validator(schema))
            error = best_match(v.iter_errors(message))  # the deepest, not "none of oneOf"
            if error is not None:
                bad.append(f"{what} against {schema}: {error.json_path}: {error.message}")
        assert not bad, "\n".join(bad)


# --- HTTP --------------------------------------------------------------------------------------


class Http:
    def __init__(self, http: aiohttp.ClientSession, seen: Seen) -> None:
        self.http, self.seen = http, seen

    async def post(
        self,
        kind: str,
        body: dict[str, Any] | bytes,
        terminal_id: str,
        secret: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        path = f"/v1/sync/{kind}"
        if headers is None:
            headers = signing.headers(terminal_id, secret, "POST", path, raw)
            if timestamp is not None:
                ts = str(timestamp)
                headers[signing.TIMESTAMP] = ts
                headers[signing.SIGNATURE] = signing.sign(
                    secret, "POST", path, ts, headers[signing.NONCE], raw
                )
        headers = {**headers, "Content-Type": "application/json"}
        async with self.http.post(harness.url("terminals") + path, data=raw, headers=headers) as r:
            answer = await r.json(content_type=None)
            if r.status == 200:
                assert r.content_type == "application/json"
                self.seen.add(f"{kind}-reply", f"HTTP {kind} 200", answer)
            else:
                assert r.content_type == "application/problem+json", (r.status, answer)
                assert answer.get("status") == r.status, answer
                self.seen.add("problem", f"HTTP {kind} {r.status}", answer)
            return r.status, answer


def hello_body(terminal_id: str, last: int = 0, params_version: int = 0) -> dict[str, Any]:
    return {
        "terminal_id": terminal_id,
        "software": "vendor-b/1",
        "params_version": params_version,
        "blacklist_version": 0,
        "pending_count": last,
        "journal_first_seq": 1 if last else 0,
        "journal_last_seq": last,
    }


def lines_json(lines: list[Any]) -> list[dict[str, Any]]:
    return [x.model_dump(mode="json") for x in lines]


async def parameters_at_gateway(db: asyncpg.Connection, merchant: uuid.UUID) -> None:
    """The cards service publishes a new merchant's parameters within a second or so."""

    async def stored() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM terminals.terminal_parameters WHERE merchant_id = $1", merchant
        )
        return bool(n)

    await eventually(stored, 30, "the merchant's parameters at the gateway")


async def blacklist(db: asyncpg.Connection, net: Network, n: int) -> None:
    """n blacklist changes for the association, far above the cards service's own versions."""
    base = await db.fetchval(
        "SELECT greatest(coalesce(max(version), 0), 2000000000000) FROM terminals.blacklist"
    )
    async with db.transaction():
        # As the gateway writes them: its schema first (its triggers name its tables so).
        await db.execute("SET LOCAL search_path TO terminals")
        for v in range(base + 1, base + n + 1):
            await db.execute(
                """INSERT INTO blacklist (version, card_number, association_id, action,
                       reason, changed_at) VALUES ($1, $2, $3, 'add', 'lost', now())""",
                v,
                f"{v % 10**16:016d}",
                net.association_id,
            )


# --- The line ----------------------------------------------------------------------------------


class Line:
    """One line connection; every frame the gateway sends is recorded."""

    def __init__(self, link: Link, challenge: str, seen: Seen) -> None:
        self.link, self.challenge, self.seen = link, challenge, seen

    @classmethod
    async def open(cls, seen: Seen) -> Line:
        reader, writer = await asyncio.open_connection("127.0.0.1", harness.line_port())
        link = Link(reader, writer, ack_timeout_s=2)
        payload = await link.receive(5)
        assert payload is not None
        parts = framing.split(payload)
        assert parts is not None and parts[0] == ZERO_MAC
        greeting = seen.add("line-greeting", "greeting", orjson.loads(parts[1]))
        return cls(link, greeting["challenge"], seen)

    async def send_raw(self, payload: bytes, secret: str | None) -> dict[str, Any]:
        await self.link.send(payload)
        answer = await self.link.receive(10)
        assert answer is not None
        parts = framing.split(answer)
        assert parts is not None
        message: dict[str, Any] = orjson.loads(parts[1])
        sealed = secret is not None and framing.check(
            secret, self.challenge + GATEWAY_DOMAIN, parts[0], parts[1]
        )
        # An answer the gateway could not seal is an error with an all-zero MAC.
        assert sealed or (parts[0] == ZERO_MAC and message["type"] == "error"), message
        what = f"line {message['type']} {message['body'].get('code', '')}".strip()
        self.seen.add("line-gateway-frame", what, message)
        return message

    async def call(
        self,
        secret: str,
        terminal_id: str,
        counter: int,
        type_: str,
        body: dict[str, Any],
        *,
        mac_secret: str | None = None,
    ) -> dict[str, Any]:
        frame = {"terminal_id": terminal_id, "counter": counter, "type": type_, "body": body}
        payload = framing.seal(mac_secret or secret, self.challenge, frame)
        return await self.send_raw(payload, secret)

    async def close(self) -> None:
        await self.link.close()


def code(message: dict[str, Any]) -> str:
    assert message["type"] == "error", message
    return str(message["body"]["code"])


# --- The schemas are the models' ---------------------------------------------------------------


def test_the_committed_schemas_are_what_the_models_generate_now() -> None:
    assert protocol_schemas.stale() == [], "run: python -m deploy.protocol_schemas"
    for name in protocol_schemas.schemas():
        Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_the_error_schema_lists_every_code_the_gateway_can_answer() -> None:
    for name in ("error", "problem"):
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        assert set(schema["properties"]["code"]["enum"]) == set(ERRORS)


# --- Every message the gateway sends -----------------------------------------------------------


async def test_every_http_answer_of_a_sync_session_matches_the_published_schemas(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=2)
    t, other = net.terminals[0], net.terminals[1]
    seen = Seen()
    gw = Http(http, seen)
    await parameters_at_gateway(db, net.merchants[0])
    await blacklist(db, net, 3)
    f = CardTxFactory(uuid.UUID(t.terminal_id), seed=11)
    lines = f.batch(8, cards=3)

    status, hello = await gw.post("hello", hello_body(t.terminal_id, 8), t.terminal_id, t.secret)
    assert status == 200 and hello["first_connection"] is True
    sid = hello["session_id"]

    def chunk(txs: list[dict[str, Any]], session: str = sid) -> dict[str, Any]:
        return {"session_id": session, "transactions": txs}

    first5 = lines_json(lines[:5])
    assert (await gw.post("chunk", chunk(first5), t.terminal_id, t.secret))[0] == 200
    status, again = await gw.post("chunk", chunk(first5), t.terminal_id, t.secret)
    assert (status, again["skipped"]) == (200, 5)
    # Refusals, each with its code and its extra fields.
    status, p = await gw.post("chunk", chunk(lines_json(lines[7:8])), t.terminal_id, t.secret)
    assert (status, p["code"], p["last_committed_seq"]) == (409, "out_of_order", 5)
    gap = [lines_json(lines[5:6])[0], lines_json(lines[7:8])[0]]
    status, p = await gw.post("chunk", chunk(gap), t.terminal_id, t.secret)
    assert (status, p["code"]) == (422, "not_contiguous")
    big = lines_json(CardTxFactory(uuid.UUID(t.terminal_id), start_seq=6, seed=12).batch(501))
    status, p = await gw.post("chunk", chunk(big), t.terminal_id, t.secret)
    assert (status, p["code"], p["max_chunk"]) == (413, "chunk_too_large", 500)
    bad = {**lines_json(lines[5:6])[0], "amount_cents": "ten euros"}
    status, p = await gw.post("chunk", chunk([bad]), t.terminal_id, t.secret)
    assert (status, p["code"]) == (422, "malformed") and p["errors"]
    status, p = await gw.post("chunk", chunk(first5, str(uuid.uuid4())), t.terminal_id, t.secret)
    assert (status, p["code"]) == (404, "unknown_session")
    close = {"session_id": sid, "from_seq": 1, "to_seq": 7, "count": 7, "amount_cents": 1}
    status, c = await gw.post("close", close, t.terminal_id, t.secret)
    assert (status, c["status"], c["missing"]) == (200, "mismatch", [[6, 7]])
    status, p = await gw.post("close", {**close, "from_seq": 8}, t.terminal_id, t.secret)
    assert (status, p["code"]) == (422, "bad_range")
    rest = lines_json(lines[5:8])
    assert (await gw.post("chunk", chunk(rest), t.terminal_id, t.secret))[0] == 200
    total = sum(x.amount_cents for x in lines)
    close = {"session_id": sid, "from_seq": 1, "to_seq": 8, "count": 8, "amount_cents": total}
    status, c = await gw.post("close", close, t.terminal_id, t.secret)
    assert (status, c["status"]) == (200, "ok")
    # UPDATES: the real parameters document the cards service computed, blacklist in pages.
    updates = {"session_id": sid, "params_version": 0, "blacklist_version": 0, "max_entries": 2}
    status, u = await gw.post("updates", updates, t.terminal_id, t.secret)
    assert (status, u["params_status"], u["more"]) == (200, "new", True)
    assert u["params"]["merchant_id"] == str(net.merchants[0]) and u["params"]["card_types"]
    updates |= {"params_version": u["params_version"], "blacklist_version": u["blacklist_version"]}
    status, u = await gw.post("updates", updates, t.terminal_id, t.secret)
    assert (status, u["params_status"], u["params"], u["more"]) == (200, "current", None, False)
    # Authentication and replays.
    raw = orjson.dumps(hello_body(t.terminal_id))
    signed = signing.headers(t.terminal_id, t.secret, "POST", "/v1/sync/hello", raw)
    assert (await gw.post("hello", raw, t.terminal_id, t.secret, headers=signed))[0] == 200
    status, p = await gw.post("hello", raw, t.terminal_id, t.secret, headers=signed)
    assert (status, p["code"]) == (409, "replay")
    status, p = await gw.post("hello", raw, t.terminal_id, t.secret, headers={})
    assert (status, p["code"]) == (401, "unsigned")
    old = int(clock.now().timestamp()) - 3600
    status, p = await gw.post("hello", raw, t.terminal_id, t.secret, timestamp=old)
    assert (status, p["code"]) == (401, "stale")
    status, p = await gw.post("hello", raw, t.terminal_id, "not the secret, not at all")
    assert (status, p["code"]) == (401, "bad_signature")
    stranger = str(uuid.uuid4())
    status, p = await gw.post("hello", hello_body(stranger), stranger, secrets.token_hex(24))
    assert (status, p["code"]) == (401, "unknown_terminal")
    # Signed by one terminal, naming another: in the headers, or in HELLO's body.
    forged = signing.headers(other.terminal_id, t.secret, "POST", "/v1/sync/hello", raw)
    status, p = await gw.post("hello", raw, other.terminal_id, t.secret, headers=forged)
    assert (status, p["code"]) == (401, "bad_signature")
    status, p = await gw.post("hello", hello_body(other.terminal_id), t.terminal_id, t.secret)
    assert (status, p["code"]) == (422, "malformed")
    # A session left idle past its time.
    await db.execute(
        "UPDATE terminals.sync_sessions SET last_activity_at = now() - interval '1 hour'"
        " WHERE id = $1",
        uuid.UUID(sid),
    )
    status, p = await gw.post("close", close, t.terminal_id, t.secret)
    assert (status, p["code"]) == (409, "session_expired")
    # A rewritten journal: seq_conflict, and the failed session refuses what follows.
    _, hello = await gw.post("hello", hello_body(t.terminal_id, 8), t.terminal_id, t.secret)
    sid = hello["session_id"]
    rewritten = lines_json(CardTxFactory(uuid.UUID(t.terminal_id), seed=99).batch(2))
    status, p = await gw.post("chunk", chunk(rewritten, sid), t.terminal_id, t.secret)
    assert (status, p["code"], p["seqs"]) == (409, "seq_conflict", [1, 2])
    status, p = await gw.post("close", {**close, "session_id": sid}, t.terminal_id, t.secret)
    assert (status, p["code"]) == (409, "protocol")

    # A body over the limit is refused with a code like every other error.
    status, p = await gw.post("chunk", b"{" + b" " * (1 << 20) + b"}", t.terminal_id, t.secret)
    assert (status, p["code"]) == (413, "body_too_large")

    # busy: the database failing, not provoked here; body_timeout: a body 30 s late (the
    # same problem as body_too_large, from the same code path).
    expected = set(ERRORS) - {"busy", "body_timeout"}
    assert seen.codes() >= expected, expected - seen.codes()
    seen.assert_valid()


async def test_every_frame_the_gateway_sends_on_the_line_matches_the_published_schemas(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=2)
    t, other = net.terminals[0], net.terminals[1]
    tid = t.terminal_id
    seen = Seen()
    await parameters_at_gateway(db, net.merchants[0])
    await blacklist(db, net, 3)
    lines = CardTxFactory(uuid.UUID(tid), seed=21).batch(6, cards=3)

    line = await Line.open(seen)
    # Not MAC SP JSON: malformed, unsealed (no terminal yet). (Three malformed frames before
    # a HELLO hang up: the others come after it.)
    assert code(await line.send_raw(b"hello there", None)) == "malformed"
    # HELLO naming another terminal than the one whose secret MACs the frame.
    n = 1
    answer = await line.call(t.secret, tid, n, "hello", hello_body(other.terminal_id, 6))
    assert code(answer) == "malformed"
    n += 1
    hello = await line.call(t.secret, tid, n, "hello", hello_body(tid, 6))
    assert hello["type"] == "hello"
    sid = hello["body"]["session_id"]
    n += 1
    # JSON that is no frame: malformed, and the gateway cannot tell its counter (0).
    answer = await line.send_raw(ZERO_MAC.encode() + b" {}", t.secret)
    assert code(answer) == "malformed" and answer["counter"] == 0
    answer = await line.call(t.secret, tid, n, "hello", hello_body(tid, 6))
    assert code(answer) == "protocol"  # one HELLO per connection
    n += 1
    chunk = {"session_id": sid, "transactions": lines_json(lines[:4])}
    assert (await line.call(t.secret, tid, n, "chunk", chunk))["body"]["inserted"] == 4
    assert code(await line.call(t.secret, tid, n, "chunk", chunk | {"x": 1})) == "replay"
    assert code(await line.call(t.secret, tid, n + 2, "chunk", chunk)) == "protocol"
    n += 1
    late = {"session_id": sid, "transactions": lines_json(lines[5:6])}
    answer = await line.call(t.secret, tid, n, "chunk", late)
    assert (code(answer), answer["body"]["last_committed_seq"]) == ("out_of_order", 4)
    n += 1
    big = lines_json(CardTxFactory(uuid.UUID(tid), start_seq=5, seed=22).batch(501))
    answer = await line.call(t.secret, tid, n, "chunk", {"session_id": sid, "transactions": big})
    assert (code(answer), answer["body"]["max_chunk"]) == ("chunk_too_large", 500)
    n += 1
    gap = {"session_id": sid, "transactions": [lines_json(lines)[4], lines_json(lines)[5]]}
    gap["transactions"][1]["seq"] = 9
    assert code(await line.call(t.secret, tid, n, "chunk", gap)) == "not_contiguous"
    n += 1
    foreign = {"session_id": str(uuid.uuid4()), "transactions": lines_json(lines[4:5])}
    assert code(await line.call(t.secret, tid, n, "chunk", foreign)) == "unknown_session"
    n += 1
    close = {"session_id": sid, "from_seq": 1, "to_seq": 6, "count": 6, "amount_cents": 1}
    answer = await line.call(t.secret, tid, n, "close", close)
    assert answer["body"]["missing"] == [[5, 6]]
    n += 1
    assert code(await line.call(t.secret, tid, n, "close", close | {"count": 9})) == "bad_range"
    n += 1
    updates = {"session_id": sid, "params_version": 0, "blacklist_version": 0, "max_entries": 2}
    answer = await line.call(t.secret, tid, n, "updates", updates)
    assert answer["body"]["params_status"] == "new" and answer["body"]["more"] is True
    n += 1
    assert code(await line.call(t.secret, tid, n, "updates", updates | {"max_entries": 0})) == (
        "malformed"
    )
    n += 1
    # A frame MAC'd by another terminal on this terminal's connection.
    answer = await line.call(
        other.secret, other.terminal_id, n, "close", close, mac_secret=other.secret
    )
    assert code(answer) == "bad_signature"
    rewritten = lines_json(CardTxFactory(uuid.UUID(tid), seed=98).batch(1))
    answer = await line.call(
        t.secret, tid, n, "chunk", {"session_id": sid, "transactions": rewritten}
    )
    assert (code(answer), answer["body"]["seqs"]) == ("seq_conflict", [1])
    n += 1
    assert code(await line.call(t.secret, tid, n, "close", close)) == "protocol"
    await line.close()
    # An unknown terminal, and an expired session, on fresh connections.
    line = await Line.open(seen)
    stranger = str(uuid.uuid4())
    answer = await line.call(secrets.token_hex(24), stranger, 1, "hello", hello_body(stranger))
    assert code(answer) == "unknown_terminal"
    await line.close()
    line = await Line.open(seen)
    hello = await line.call(t.secret, tid, 1, "hello", hello_body(tid, 6))
    await db.execute(
        "UPDATE terminals.sync_sessions SET last_activity_at = now() - interval '1 hour'"
        " WHERE id = $1",
        uuid.UUID(hello["body"]["session_id"]),
    )
    close["session_id"] = hello["body"]["session_id"]
    assert code(await line.call(t.secret, tid, 2, "close", close)) == "session_expired"
    await line.close()

    # unsigned, stale: HTTP's headers; body_*: HTTP bodies; busy: a fault, not provoked here.
    expected = set(ERRORS) - {"busy", "unsigned", "stale", "body_too_large", "body_timeout"}
    assert seen.codes() >= expected, expected - seen.codes()
    seen.assert_valid()


# --- The rules the document states -------------------------------------------------------------


async def test_updates_tells_parameters_not_yet_computed_apart_from_current_ones(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    gw = Http(http, Seen())
    # A merchant whose parameters the gateway does not hold yet: as right after it was created
    # (the cards service publishes them within a second or so; here they are taken away).
    await parameters_at_gateway(db, net.merchants[0])
    await db.execute(
        "DELETE FROM terminals.terminal_parameters WHERE merchant_id = $1", net.merchants[0]
    )
    _, hello = await gw.post("hello", hello_body(t.terminal_id), t.terminal_id, t.secret)
    updates = {"session_id": hello["session_id"], "params_version": 0, "blacklist_version": 0}
    status, u = await gw.post("updates", updates, t.terminal_id, t.secret)
    assert (status, u["params"], u["params_version"]) == (200, None, 0)
    assert u["params_status"] == "not_computed"
    # Once computed: sent, then current.
    await db.execute(
        """INSERT INTO terminals.terminal_parameters (merchant_id, association_id, rules_version,
               document) VALUES ($1, $2, 7, $3)""",
        net.merchants[0],
        net.association_id,
        orjson.dumps({"rules_version": 7}).decode(),
    )
    status, u = await gw.post("updates", updates, t.terminal_id, t.secret)
    assert (u["params_status"], u["params_version"]) == ("new", 7)
    status, u = await gw.post("updates", updates | {"params_version": 7}, t.terminal_id, t.secret)
    assert (u["params_status"], u["params"], u["params_version"]) == ("current", None, 7)


async def test_a_session_marked_failed_refuses_every_later_message(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    gw = Http(http, Seen())
    lines = lines_json(CardTxFactory(uuid.UUID(t.terminal_id), seed=31).batch(3))
    _, hello = await gw.post("hello", hello_body(t.terminal_id, 3), t.terminal_id, t.secret)
    sid = hello["session_id"]
    await gw.post("chunk", {"session_id": sid, "transactions": lines}, t.terminal_id, t.secret)
    rewritten = lines_json(CardTxFactory(uuid.UUID(t.terminal_id), seed=32).batch(3))
    status, p = await gw.post(
        "chunk", {"session_id": sid, "transactions": rewritten}, t.terminal_id, t.secret
    )
    assert (status, p["code"]) == (409, "seq_conflict")
    # The terminal's original journal closes "ok" on counts and totals it may well share with
    # the rewritten one; the failed session must not end "ok" all the same.
    amount = sum(x["amount_cents"] for x in lines)
    close = {"session_id": sid, "from_seq": 1, "to_seq": 3, "count": 3, "amount_cents": amount}
    for kind, body in (
        ("close", close),
        ("chunk", {"session_id": sid, "transactions": lines}),
        ("updates", {"session_id": sid, "params_version": 0, "blacklist_version": 0}),
    ):
        status, p = await gw.post(kind, body, t.terminal_id, t.secret)
        assert (status, p.get("code")) == (409, "protocol"), (kind, p)
    row = await db.fetchrow(
        "SELECT status, error_code FROM terminals.sync_sessions WHERE id = $1", uuid.UUID(sid)
    )
    assert (row["status"], row["error_code"]) == ("failed", "seq_conflict")
    # A new session works (and fails the same way while the journal is the rewritten one).
    status, hello = await gw.post("hello", hello_body(t.terminal_id, 3), t.terminal_id, t.secret)
    assert status == 200 and hello["last_committed_seq"] == 3


async def test_a_refused_message_uses_up_its_frame_counter_and_an_unauthenticated_frame_does_not(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    tid = t.terminal_id
    line = await Line.open(Seen())
    # Refused before the counter is read (bad MAC): counter 1 is still free.
    answer = await line.call(t.secret, tid, 1, "hello", hello_body(tid), mac_secret="x" * 32)
    assert code(answer) == "bad_signature"
    hello = await line.call(t.secret, tid, 1, "hello", hello_body(tid))
    assert hello["type"] == "hello" and hello["counter"] == 1
    sid = hello["body"]["session_id"]
    # Refused after (an invalid body): counter 2 is spent, the next frame is 3.
    answer = await line.call(t.secret, tid, 2, "close", {"session_id": sid})
    assert code(answer) == "malformed" and answer["counter"] == 2
    close = {"session_id": sid, "from_seq": 0, "to_seq": 0, "count": 0, "amount_cents": 0}
    assert code(await line.call(t.secret, tid, 2, "close", close)) == "replay"
    answer = await line.call(t.secret, tid, 3, "close", close)
    assert answer["type"] == "close" and answer["body"]["status"] == "ok"
    await line.close()


async def test_a_session_is_bound_to_the_line_connection_that_opened_it(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    tid = t.terminal_id
    gw = Http(http, Seen())
    _, hello = await gw.post("hello", hello_body(tid), tid, t.secret)
    line = await Line.open(Seen())
    close = {
        "session_id": hello["session_id"],
        "from_seq": 0,
        "to_seq": 0,
        "count": 0,
        "amount_cents": 0,
    }
    # Before its own HELLO the line takes nothing; after, only its own session.
    assert code(await line.call(t.secret, tid, 1, "close", close)) == "protocol"
    own = await line.call(t.secret, tid, 2, "hello", hello_body(tid))
    assert own["type"] == "hello"
    assert code(await line.call(t.secret, tid, 3, "close", close)) == "unknown_session"
    await line.close()
