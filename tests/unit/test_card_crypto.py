"""The card's MAC is AES-CMAC (the published test vectors) and its keys are diversified per
card, purpose and key version, so that master keys can rotate (shared/card/crypto.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.card import crypto
from shared.card.application import CardApplication, SamApplication
from shared.card.state import personalize
from terminal.reader import CardError, CreditOrder, DirectReader

# RFC 4493, section 4 (= NIST SP 800-38B, appendix D.1): AES-128 key and messages.
RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MESSAGE = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
RFC4493_EXAMPLES = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]
NUMBER = "2500010000000018"


@pytest.mark.parametrize(("length", "tag"), RFC4493_EXAMPLES)
def test_the_cmac_gives_the_rfc_4493_tags(length: int, tag: str) -> None:
    assert crypto.cmac(RFC4493_KEY, RFC4493_MESSAGE[:length]).hex() == tag


def test_the_apdu_mac_is_the_cmac_truncated_to_8_bytes() -> None:
    assert crypto.mac(RFC4493_KEY, RFC4493_MESSAGE[:16]).hex() == "070a16b46b4d4144"


def test_the_diversification_input_is_an10922_shaped() -> None:
    d = crypto.diversification_input("cert", NUMBER, 7)
    assert d == b"\x01\x03\x07" + NUMBER.encode() + b"COMPTOIR"
    # Between one and two blocks: CMAC pads with its second subkey, as AN10922 asks.
    assert 16 < len(d) < 32


def test_the_key_version_is_part_of_the_diversification() -> None:
    master = crypto.DEV_MASTERS["cert"]
    keys = {v: crypto.diversify(master, "cert", NUMBER, v) for v in (0, 1, 2, 255)}
    assert len(set(keys.values())) == 4
    assert crypto.diversify(master, "cert", NUMBER) == keys[1]  # version 1 by default
    assert crypto.diversify(master, "debit", NUMBER, 1) != keys[1]
    assert crypto.diversify(master, "cert", "2500010000000026", 1) != keys[1]
    with pytest.raises(ValueError):
        crypto.diversification_input("cert", NUMBER, 256)


def _certified(key_version: int) -> crypto.Certified:
    return crypto.Certified(
        kind="sale",
        card_number=NUMBER,
        atc=1,
        amount_cents=2460,
        available_delta=123,
        pending_delta=0,
        units_delta=0,
        available_after=623,
        pending_after=0,
        units_after=0,
        visits_after=1,
        terminal_id=uuid.UUID(int=7),
        seq=1,
        occurred_at=datetime(2026, 11, 22, 11, 30, tzinfo=UTC),
        terminal_nonce=bytes(8),
        key_version=key_version,
    )


def test_a_card_of_key_version_2_is_verified_with_the_version_2_master() -> None:
    old, new = crypto.DEV_MASTERS["cert"], bytes.fromhex("22" * 16)
    fields = _certified(2)
    cert = crypto.certificate(crypto.diversify(new, "cert", NUMBER, 2), fields)
    rotating = {1: old, 2: new}
    assert crypto.verify_certificate(rotating, fields, cert)
    assert crypto.verify_certificate(new, fields, cert)
    assert not crypto.verify_certificate(old, fields, cert)
    assert not crypto.verify_certificate({1: old}, fields, cert)  # version 2 not held
    # The same certificate claimed under version 1 does not verify: the version is bound.
    assert not crypto.verify_certificate(rotating, _certified(1), cert)


def test_a_card_personalised_under_version_2_is_written_by_a_sam_holding_both_versions() -> None:
    v2: dict[crypto.Purpose, bytes] = {
        "credit": bytes([0x21]) * 16,
        "debit": bytes([0x22]) * 16,
        "cert": bytes([0x23]) * 16,
    }
    state = personalize(
        NUMBER, uuid.uuid4(), datetime(2030, 1, 1).date(), masters=v2, key_version=2
    )
    sam = SamApplication(crypto.DEV_MASTERS, by_version={2: v2})
    reader = DirectReader(CardApplication(state), sam)
    reader.read()
    receipt = reader.credit(
        CreditOrder(
            amount_cents=1000,
            available_delta=50,
            pending_delta=0,
            units_delta=0,
            visits_after=1,
            window_started_at=None,
            occurred_at=datetime(2026, 11, 22, 11, 30, tzinfo=UTC),
            terminal_id=uuid.UUID(int=7),
            seq=1,
        )
    )
    assert receipt.key_version == 2
    fields = crypto.Certified(
        kind="sale",
        card_number=NUMBER,
        atc=receipt.atc,
        amount_cents=1000,
        available_delta=50,
        pending_delta=0,
        units_delta=0,
        available_after=receipt.available_after,
        pending_after=receipt.pending_after,
        units_after=receipt.units_after,
        visits_after=receipt.visits_after,
        terminal_id=uuid.UUID(int=7),
        seq=1,
        occurred_at=receipt.occurred_at,
        terminal_nonce=receipt.terminal_nonce,
        key_version=2,
    )
    assert crypto.verify_certificate(
        {1: crypto.DEV_MASTERS["cert"], 2: v2["cert"]}, fields, receipt.certificate
    )
    # A SAM with the version-1 masters only cannot write it: the card refuses its MAC.
    with pytest.raises(CardError) as refused:
        DirectReader(CardApplication(state), SamApplication(crypto.DEV_MASTERS)).credit(
            CreditOrder(
                1000,
                50,
                0,
                0,
                1,
                None,
                datetime(2026, 11, 22, 11, 31, tzinfo=UTC),
                uuid.UUID(int=7),
                2,
            )
        )
    assert refused.value.code == "bad_mac"
