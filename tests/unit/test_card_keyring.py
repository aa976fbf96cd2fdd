"""Keyrings of card masters by key version (shared/card/keyring.py), as the cards service's
settings, the production check, the SAM and the card tools read them."""

from __future__ import annotations

import os
import stat
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from shared import production
from shared.card import keyring
from shared.card.__main__ import main as cli
from shared.card.apdu import SW_UNKNOWN_KEY_VERSION
from shared.card.application import CardApplication, SamApplication
from shared.card.crypto import DEV_MASTERS, Purpose, diversify, mac
from shared.card.state import load_state, personalize
from shared.settings import Settings
from terminal.reader import CardError, CreditOrder, DirectReader

V1 = "11" * 16
V2 = "22" * 16
NUMBER = "2500010000000018"


def test_a_certificate_keyring_reads_versions_and_keys_in_any_separator() -> None:
    text = f"# rotated 2026-12\n1:{V1}\n2:{V2.upper()}"
    assert keyring.parse_cert_keyring(text) == {1: bytes.fromhex(V1), 2: bytes.fromhex(V2)}
    assert keyring.parse_cert_keyring(f"1:{V1}, 2:{V2}") == keyring.parse_cert_keyring(text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "empty"),
        (V1, "VERSION:KEY"),
        (f"x:{V1}", "VERSION:KEY"),
        (f"256:{V1}", "not 0..255"),
        ("1:zz", "not hexadecimal"),
        ("1:0011", "16 bytes"),
        (f"1:{V1},1:{V2}", "given twice"),
    ],
)
def test_a_malformed_keyring_is_refused_without_showing_a_key(text: str, said: str) -> None:
    with pytest.raises(keyring.KeyringError, match=said) as refused:
        keyring.parse_cert_keyring(text)
    assert V1 not in str(refused.value) and V2 not in str(refused.value)


def test_the_current_version_is_the_one_named_else_the_highest() -> None:
    held = {1: b"a", 3: b"b"}
    assert keyring.current_version(held) == 3
    assert keyring.current_version(held, 1) == 1
    with pytest.raises(keyring.KeyringError, match="version 2 is not in the keyring"):
        keyring.current_version(held, 2)


def test_the_cards_service_reads_its_keyring_from_the_environment_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CARD_CERT_KEY", "CARD_CERT_KEYS", "CARD_KEY_VERSION", "CARD_CERT_KEYS_FILE"):
        monkeypatch.delenv(f"COMPTOIR_{name}", raising=False)
    legacy = Settings().card_keyring()  # no keyring: the single master is version 1
    assert (dict(legacy.masters), legacy.current) == ({1: DEV_MASTERS["cert"]}, 1)
    (tmp_path / "keys").write_text(f"1:{V1}\n2:{V2}\n")
    monkeypatch.setenv("COMPTOIR_CARD_CERT_KEYS_FILE", str(tmp_path / "keys"))
    ring = Settings().card_keyring()
    assert (ring.versions, ring.current, ring.master(1), ring.master(7)) == (
        (1, 2),
        2,
        bytes.fromhex(V1),
        None,
    )
    assert V1 not in repr(ring)
    monkeypatch.setenv("COMPTOIR_CARD_KEY_VERSION", "1")
    assert Settings().card_keyring().current == 1


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"COMPTOIR_CARD_CERT_KEYS": f"1:{V1}", "COMPTOIR_CARD_KEY_VERSION": "2"}, "version 2"),
        ({"COMPTOIR_CARD_CERT_KEYS": f"1:{V1}", "COMPTOIR_CARD_CERT_KEY": V2}, "keep the keyring"),
        ({"COMPTOIR_CARD_CERT_KEYS": f"1:{V1[:-2]}zz"}, "not hexadecimal"),
    ],
)
def test_a_keyring_the_service_cannot_use_stops_its_start_without_the_keys(
    env: dict[str, str], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=said) as refused:
        Settings()
    assert V1[:8] not in str(refused.value) and V2[:8] not in str(refused.value)


def test_production_refuses_a_keyring_holding_the_development_master(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPTOIR_ADMIN_TOKEN", "a-real-admin-token-42")
    monkeypatch.setenv("COMPTOIR_SCOPE_PUBLIC_KEYS", "k1:" + "42" * 32)
    monkeypatch.setenv("COMPTOIR_ENV", "production")
    monkeypatch.setenv("COMPTOIR_SERVICE", "cards")
    monkeypatch.setenv("COMPTOIR_SERVICE_SIGNING_KEY", "svc-cards:" + "45" * 32)
    monkeypatch.setenv("COMPTOIR_CARD_CERT_KEYS", f"1:{DEV_MASTERS['cert'].hex()},2:{V2}")
    refused = production.refusal("cards", Settings())
    assert refused is not None and "COMPTOIR_CARD_CERT_KEYS" in refused
    # Only the keyring is used once it is set: the single master's default is not reported.
    assert "COMPTOIR_CARD_CERT_KEY " not in refused
    monkeypatch.setenv("COMPTOIR_CARD_CERT_KEYS", f"1:{V1},2:{V2}")
    assert production.refusal("cards", Settings()) is None


def _sets() -> dict[int, dict[Purpose, bytes]]:
    return {
        1: dict(DEV_MASTERS),
        2: {"credit": b"\x21" * 16, "debit": b"\x22" * 16, "cert": b"\x23" * 16},
    }


def test_a_sam_made_from_a_keyring_macs_for_each_version_and_refuses_the_others() -> None:
    sets = _sets()
    sam = SamApplication(None, by_version=sets)
    for version in (1, 2):
        state = personalize(
            NUMBER, uuid.uuid4(), date(2030, 1, 1), masters=sets[version], key_version=version
        )
        reader = DirectReader(CardApplication(state), sam)
        assert reader.read().key_version == version
    challenge, data = b"\x01" * 8, b"\x02" * 10
    key = diversify(sets[2]["credit"], "credit", NUMBER, 2)
    assert sam.process(b"\x00\xa4\x04\x00\x0c\xf0COMPTOIRSAM\x00")[-2:] == b"\x90\x00"
    command = bytes((0x90, 0x72, 0x01, 0x02, 16 + 8 + 10)) + NUMBER.encode() + challenge + data
    assert sam.process(command + b"\x08") == mac(key, challenge + data) + b"\x90\x00"
    unknown = bytes((0x90, 0x72, 0x01, 0x03)) + command[4:] + b"\x08"
    assert sam.process(unknown) == SW_UNKNOWN_KEY_VERSION.to_bytes(2, "big")


def test_a_terminal_names_the_sams_refusal_of_an_unknown_version() -> None:
    state = personalize(NUMBER, uuid.uuid4(), date(2030, 1, 1), masters=DEV_MASTERS, key_version=3)
    reader = DirectReader(CardApplication(state), SamApplication(None, by_version=_sets()))
    at = datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
    with pytest.raises(CardError) as refused:
        reader.credit(CreditOrder(1000, 50, 0, 0, 1, None, at, uuid.UUID(int=7), 1))
    assert (refused.value.code, refused.value.sw) == ("unknown_key_version", 0x6A88)


def test_the_cli_makes_the_masters_of_a_new_version_into_both_keyrings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    masters, cert = tmp_path / "masters.txt", tmp_path / "cert.txt"
    for version in (1, 2):
        args = ["masters", "--key-version", str(version), "--keyring", str(masters)]
        assert cli([*args, "--cert-keyring", str(cert)]) == 0
    assert stat.S_IMODE(os.stat(masters).st_mode) == 0o600
    sets = keyring.parse_master_sets(masters.read_text())
    certs = keyring.parse_cert_keyring(cert.read_text())
    assert sorted(sets) == sorted(certs) == [1, 2]
    assert {v: s["cert"] for v, s in sets.items()} == certs
    assert sets[1] != sets[2]
    assert cli(["masters", "--key-version", "2", "--keyring", str(masters)]) == 2  # held already

    # Personalised under the current version (the highest), or the one asked for.
    monkeypatch.setenv("COMPTOIR_CARD_MASTERS_FILE", str(masters))
    monkeypatch.delenv("COMPTOIR_CARD_MASTERS", raising=False)
    monkeypatch.delenv("COMPTOIR_CARD_KEY_VERSION", raising=False)
    args = ["personalize", "--number", NUMBER, "--card-type", str(uuid.UUID(int=1))]
    args += ["--expires", "2030-01-01"]
    assert cli([*args, "--out", str(tmp_path / "new.json")]) == 0
    card = load_state(tmp_path / "new.json")
    assert card.key_version == 2
    expected = personalize(
        NUMBER, uuid.UUID(int=1), date(2030, 1, 1), masters=sets[2], key_version=2
    )
    assert card.keys == expected.keys
    assert cli([*args, "--key-version", "1", "--out", str(tmp_path / "old.json")]) == 0
    assert load_state(tmp_path / "old.json").key_version == 1
    assert cli([*args, "--key-version", "5", "--out", str(tmp_path / "none.json")]) == 2


def test_the_rotation_example_of_the_protocol_document_recomputes() -> None:
    from services.cards.service.offline import _unknown_version

    doc = (Path(__file__).parents[2] / "docs" / "terminal-protocol.md").read_text()
    v2 = keyring.parse_master_sets(
        "2=credit:" + "21" * 16 + ",debit:" + "22" * 16 + ",cert:" + "23" * 16
    )[2]
    for code, purpose in enumerate(("credit", "debit", "cert"), start=1):
        master = v2[purpose]  # type: ignore[index]
        key = diversify(master, purpose, NUMBER, 2)
        line = f'AES-CMAC({master.hex()}, 01 {code:02X} 02 "{NUMBER}" "COMPTOIR") = {key.hex()}'
        assert line in doc
    ring = keyring.parse_cert_keyring(f"1:{DEV_MASTERS['cert'].hex()}\n2:{'23' * 16}")
    assert f"detail\n`{_unknown_version(3, ring)}`" in doc
