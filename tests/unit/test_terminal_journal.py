"""The offline terminal's journal, its messages and its clock rules (no card, no network)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.contracts import CardTransaction
from terminal import i18n
from terminal.adapters.journal import Journal, JournalFull
from terminal.app import next_nightly


def tx(seq: int, amount: int = 1000) -> CardTransaction:
    return CardTransaction(
        seq=seq,
        kind="sale",
        card_number="2500010000000018",
        atc=seq,
        occurred_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        amount_cents=amount,
        reward_cents=30,
        available_delta=30,
        pending_delta=0,
        available_after=30 * seq,
        pending_after=0,
        visits_after=seq,
        terminal_nonce="00" * 8,
        certificate="11" * 8,
    )


def test_the_journal_survives_a_restart_and_keeps_the_sequence(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.db")
    for s in (1, 2, 3):
        j.append(tx(s))
    j.close()
    j = Journal(tmp_path / "t.db")
    assert j.next_seq() == 4
    assert [t.seq for t in j.unsynced(1, 10)] == [2, 3]
    assert j.totals(1, 3) == (3, 3000)
    assert j.uncommitted_range() == (1, 3)


def test_committed_transactions_leave_room_but_not_the_sequence(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.db", capacity=3)
    for s in (1, 2, 3):
        j.append(tx(s))
    assert j.fill().full
    with pytest.raises(JournalFull):
        j.append(tx(4))
    j.committed(3)
    assert j.fill().pending == 0 and j.uncommitted_range() is None
    assert j.next_seq() == 4


def test_the_warning_starts_at_80_percent(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.db", capacity=10)
    for s in range(1, 8):
        j.append(tx(s))
    assert not j.fill().warning
    j.append(tx(8))
    assert j.fill().warning and not j.fill().full


def test_the_sequence_survives_the_purge_of_committed_lines(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.db", keep_committed=50)
    for s in range(1, 121):
        j.append(tx(s))
    j.committed(120)
    assert len(j.recent(1000)) == 50
    assert j.next_seq() == 121


def test_updates_apply_all_or_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path / "t.db")
    j.apply_updates(
        {"merchant_id": str(uuid.uuid4())},
        {"rules_version": 3},
        3,
        [
            {"version": 1, "card_number": "2500010000000018", "action": "add", "reason": "lost"},
            {"version": 2, "card_number": "2500010000000026", "action": "add", "reason": "stolen"},
            {
                "version": 3,
                "card_number": "2500010000000018",
                "action": "remove",
                "reason": "found",
            },
        ],
        3,
    )
    assert j.blacklisted("2500010000000018") is None
    assert j.blacklisted("2500010000000026") == "stolen"
    assert j.get("params_version") == 3 and j.get("blacklist_version") == 3
    with pytest.raises(KeyError):  # a malformed change: nothing of the update is kept
        j.apply_updates(None, {"rules_version": 4}, 4, [{"version": 4}], 4)
    assert j.get("params_version") == 3 and j.get("blacklist_version") == 3


def test_every_message_exists_in_both_languages() -> None:
    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LANGS), key


def test_amounts_are_read_and_shown_in_cents() -> None:
    assert i18n.parse_euros("12,50") == 1250
    assert i18n.parse_euros("12.5") == 1250
    assert i18n.parse_euros("7") == 700
    for bad in ("-3", "1,234", "abc", "١٢"):
        with pytest.raises(ValueError):
            i18n.parse_euros(bad)
    assert i18n.euros(1250, "fr") == "12,50 €"
    assert i18n.euros(1250, "en") == "€12.50"
    assert i18n.say("fr", "card_expired") == "Carte refusée : expirée le ?"


def test_the_nightly_sync_is_tonight_or_tomorrow_night() -> None:
    evening = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    assert next_nightly(evening, 2, 30, 0) == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    early = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    at = next_nightly(early, 2, 30, 1800)
    assert (
        datetime(2026, 11, 22, 2, 30, tzinfo=UTC) <= at <= datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    )
