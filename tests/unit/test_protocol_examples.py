"""The worked examples of docs/terminal-protocol.md, recomputed byte for byte from the values
the document gives, with the code the gateway, the card and the terminal run: a vendor who
follows the document gets the same bytes, and a change to either shows here."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.algorithms import AES128
from cryptography.hazmat.primitives.cmac import CMAC
from jsonschema import Draft202012Validator

from services.terminals.domain.outcomes import decide
from services.terminals.domain.requests import EnrolmentIn, SaleIn
from shared import signing
from shared.card import apdu, crypto, layouts
from shared.contracts import CARD_SALE_NAMESPACE, AccountOpened, card_transaction_id
from shared.events import new_event
from shared.rules.accounts import AccountState, credit_sale
from shared.rules.engine import Sale
from shared.rules.params import TerminalParameters, compile
from shared.sync import framing

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "terminal-protocol.md").read_text()
FLAT = " ".join(DOC.split())  # the document's prose, whatever its line breaks

TERMINAL = "7d3b1c1e-2a4f-4d5e-9b8a-1c2d3e4f5a6b"
SECRET = "demo-secret-0123456789abcdef0123456789"


def in_doc(*texts: str) -> None:
    for text in texts:
        assert " ".join(text.split()) in FLAT, f"the document does not say {text!r}"


def code_block_after(marker: str, lang: str = "") -> str:
    """The first fenced block after ``marker`` in the document."""
    start = DOC.index(marker)
    m = re.compile(r"```" + lang + r"\n(.*?)```", re.S).search(DOC, start)
    assert m is not None, f"no code block after {marker!r}"
    return m.group(1)


def hex_rows(data: bytes) -> list[str]:
    return [" ".join(f"{b:02x}" for b in data[i : i + 16]) for i in range(0, len(data), 16)]


def test_the_signed_http_request_example_recomputes_byte_for_byte() -> None:
    body = code_block_after("**A signed request, byte by byte.**").strip().encode()
    timestamp, nonce = "1795347000", "9f0c2b7e4d1a6c3e8b5f0a2d7c4e1b96"
    in_doc(TERMINAL, SECRET, f"timestamp `{timestamp}`", f"nonce `{nonce}`")
    assert datetime.fromtimestamp(int(timestamp), UTC) == datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
    in_doc(f"the HELLO body ({len(body)} bytes, as sent)")
    digest = hashlib.sha256(body).hexdigest()
    in_doc(f"SHA-256 of the body: `{digest}`")
    signed = signing.canonical("POST", "/v1/sync/hello", timestamp, nonce, body)
    assert signed.decode() == code_block_after("signed string (four line feeds").strip()
    signature = signing.sign(SECRET, "POST", "/v1/sync/hello", timestamp, nonce, body)
    assert signature == hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    in_doc(f"`X-Comptoir-Signature: {signature}`")
    # The body is a valid HELLO of the published schema.
    schema = json.loads((ROOT / "docs" / "schemas" / "hello.schema.json").read_text())
    Draft202012Validator(schema).validate(json.loads(body))


def test_the_line_frame_example_recomputes_byte_for_byte() -> None:
    challenge = "5f2c9a0e8b7d4c3a1e6f0b9d8c7a6e5f"
    in_doc(f"Secret `{SECRET}`, challenge `{challenge}`")
    message = code_block_after("### A frame, byte by byte").strip().encode()
    mac = framing.frame_mac(SECRET, challenge, message)
    assert (
        mac
        == hmac.new(
            SECRET.encode(), challenge.encode() + b"\n" + message, hashlib.sha256
        ).hexdigest()
    )
    in_doc(f"`{mac}`")
    payload = mac.encode() + b" " + message
    frame = framing.encode(payload)
    in_doc(f"({len(payload)} bytes); the frame ({len(frame)} bytes)")
    dump = code_block_after(f"the frame ({len(frame)} bytes)")
    rows = [line[:48].strip() for line in dump.splitlines()]
    assert rows[0] == "02" and rows[-2] == "03"
    assert rows[1:5] == hex_rows(mac.encode())
    assert rows[5] == "20"
    assert rows[6:-2] == hex_rows(message)
    assert rows[-1] == f"{frame[-1]:02x}" == f"{framing.lrc(payload):02x}"
    assert framing.check(SECRET, challenge, mac, message)
    schema = json.loads((ROOT / "docs" / "schemas" / "line-terminal-frame.schema.json").read_text())
    Draft202012Validator(schema).validate(json.loads(message))


def test_the_card_keys_sam_mac_and_certificate_of_the_sale_example_recompute() -> None:
    number = "2500010000000018"
    keys = {}
    codes = {"credit": 0x01, "debit": 0x02, "cert": 0x03}
    for purpose, master in crypto.DEV_MASTERS.items():
        keys[purpose] = crypto.diversify(master, purpose, number)
        # AN10922 as the document writes it, with the library's AES-CMAC: 01 || M.
        mac = CMAC(AES128(master))
        mac.update(bytes((0x01, codes[purpose], 1)) + number.encode() + b"COMPTOIR")
        assert keys[purpose] == mac.finalize()
        in_doc(f'AES-CMAC({master.hex()}, 01 {codes[purpose]:02X} 01 "{number}" "COMPTOIR")')
        in_doc(f"= {keys[purpose].hex()}")
    in_doc(f"cert `{crypto.diversify(crypto.DEV_MASTERS['cert'], 'cert', number, 2).hex()}`")
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 22, 12, 30, tzinfo=paris)
    in_doc("on 2026-11-22 12:30:00 +01:00 (Unix 1795347000 = `6B02D238`)")
    assert int(at.timestamp()) == 1795347000 == 0x6B02D238
    nonce, challenge = bytes.fromhex("0f1e2d3c4b5a6978"), bytes.fromhex("a1b2c3d4e5f60718")
    data = layouts.CreditData(
        amount_cents=2460,
        available_delta=123,
        pending_delta=0,
        units_delta=0,
        visits_after=1,
        window_started_at=None,
        occurred_at=at,
        terminal_id=uuid.UUID(TERMINAL),
        seq=1,
        terminal_nonce=nonce,
    ).encode()
    assert len(data) == 80
    block = code_block_after("The `CREDIT` data (80 bytes)")
    assert _listed_bytes(block) == data
    sam = crypto.mac(keys["credit"], challenge + data)
    in_doc(" ".join(f"{b:02X}" for b in sam) + " 90 00")
    command = apdu.sam_mac("credit", number, challenge, data, key_version=1)
    in_doc(
        " ".join(f"{b:02X}" for b in command[:5])
        + " "
        + " ".join(f"{b:02X}" for b in number.encode())
    )
    certified = crypto.Certified(
        kind="sale",
        card_number=number,
        atc=1,
        amount_cents=2460,
        available_delta=123,
        pending_delta=0,
        units_delta=0,
        available_after=623,
        pending_after=0,
        units_after=0,
        visits_after=1,
        terminal_id=uuid.UUID(TERMINAL),
        seq=1,
        occurred_at=at,
        terminal_nonce=nonce,
    )
    assert len(certified.message()) == 117
    cert = crypto.certificate(keys["cert"], certified)
    in_doc(" ".join(f"{b:02X}" for b in cert) + " certificate", f'"certificate": "{cert.hex()}"')
    assert crypto.verify_certificate(crypto.DEV_MASTERS["cert"], certified, cert)


def _listed_bytes(block: str) -> bytes:
    """The bytes of a dump whose lines are hex bytes then a comment."""
    out = bytearray()
    for line in block.splitlines():
        for token in line.split():
            if re.fullmatch(r"[0-9A-Fa-f]{2}", token):
                out.append(int(token, 16))
            else:
                break
    return bytes(out)


def test_the_card_transaction_id_example_recomputes() -> None:
    tx_id = card_transaction_id(uuid.UUID(TERMINAL), 1)
    assert tx_id == uuid.uuid5(CARD_SALE_NAMESPACE, f"{TERMINAL}/1")
    assert tx_id.version == 5
    in_doc(
        f'`UUIDv5({CARD_SALE_NAMESPACE}, "<terminal_id>/<seq>")`',
        f"Terminal `{TERMINAL}`, seq 1 → `{tx_id}`",
    )


def test_the_parameters_example_validates_and_gives_the_documented_rewards() -> None:
    document = json.loads(code_block_after("**Worked example.** A merchant in mode", "json"))
    schema = json.loads((ROOT / "docs" / "schemas" / "terminal-parameters.schema.json").read_text())
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        document
    )
    params = TerminalParameters.from_json(document)
    assert params.to_json() == document  # what the gateway would send: every field, as is
    rules = compile(params)[uuid.UUID(document["card_types"][0]["card_type_id"])]
    assert rules.book is not None and rules.program is not None
    paris = timezone(timedelta(hours=1))
    rows = [
        ("epicerie", 2460, datetime(2026, 11, 22, 12, 30, tzinfo=paris), "2026-11-22 12:30 +01:00"),
        ("epicerie", 2460, datetime(2026, 11, 28, 10, 0, tzinfo=paris), "2026-11-28 10:00 +01:00"),
        ("tabac", 1000, datetime(2026, 11, 22, 12, 31, tzinfo=paris), "2026-11-22 12:31 +01:00"),
        # the card whose account holds the level "Privilège" (card_levels)
        ("epicerie", 2460, datetime(2026, 11, 22, 12, 35, tzinfo=paris), "2026-11-22 12:35 +01:00"),
    ]
    for i, (family, amount, at, said) in enumerate(rows):
        card = "2500010000000018" if i == 3 else "2500010000000026"
        evaluation = rules.book.evaluate(
            Sale(str(params.merchant_id), family, amount, at), rules.personal(card)
        )
        if i == 3:
            assert evaluation.rate_source == "level.privilege"
        credit = credit_sale(
            AccountState(available=500), evaluation, rules.program, rules.visit_threshold, at
        )
        delta = credit.state.available - 500
        row = next(
            line for line in DOC.splitlines() if line.startswith(f"| `{family}`") and said in line
        )
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2:] == [
            str(evaluation.reward_cents),
            str(delta),
            str(credit.state.available),
            str(evaluation.fee_cents),
        ], row
    tobacco = rules.book.evaluate(Sale(str(params.merchant_id), "tabac", 1000, rows[2][2]))
    assert [r.code for r in tobacco.refusals] == ["legal_tobacco"]


def _blocks_after(marker: str, count: int) -> list[str]:
    """The first ``count`` fenced blocks after ``marker``."""
    found = re.compile(r"```\n(.*?)```", re.S).findall(DOC, DOC.index(marker))
    assert len(found) >= count, f"{count} code blocks after {marker!r}"
    return [b.strip() for b in found[:count]]


def test_the_online_enrolment_by_email_example_is_what_the_gateway_takes_and_answers() -> None:
    body, answer, sale = _blocks_after("**An enrolment by e-mail, and the sale that follows.**", 3)
    for schema, example in (
        ("online-enrolment", body),
        ("online-enrolment-reply", answer),
        ("online-sale", sale),
    ):
        document = json.loads((ROOT / "docs" / "schemas" / f"{schema}.schema.json").read_text())
        Draft202012Validator(document).validate(json.loads(example))
    enrolment = EnrolmentIn.model_validate_json(body, strict=True)
    assert (enrolment.phone, enrolment.email) == (None, "lea.roux@example.fr")
    said = json.loads(answer)
    opened = AccountOpened(
        account_id=uuid.UUID(said["account_id"]),
        association_id=uuid.uuid4(),
        email=enrolment.email,
        first_name=enrolment.first_name,
        opened_at=datetime(2026, 11, 22, 11, 30, tzinfo=UTC),
        request_id=enrolment.enrolment_id,
        request_kind="enrolment",
    )
    decision = decide(new_event("cards", opened))
    assert decision is not None and (decision.http_status, decision.body) == (201, said)
    assert SaleIn.model_validate_json(sale, strict=True).customer.email == enrolment.email
    # a phone-only enrolment is answered as before the e-mail: no `email` member
    old_shape = opened.model_copy(update={"email": None, "phone": "+33612345678"})
    by_phone = decide(new_event("cards", old_shape))
    assert by_phone is not None and "email" not in by_phone.body
