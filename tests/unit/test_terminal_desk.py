"""The front desk offline, with the card and SAM applications in process (the same APDUs as
through pcscd, which tests/integration/test_terminal_pcsc.py covers)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.cards.domain.card_checks import certified
from shared.card.application import CardApplication, SamApplication
from shared.card.crypto import DEV_MASTERS, verify_certificate
from shared.card.state import personalize
from shared.rules.catalogue import CalculationMode
from shared.rules.params import (
    CardTypeParams,
    FamilyParams,
    NetworkParams,
    ProgramParams,
    TerminalParameters,
    VisitThresholdParams,
)
from shared.rules.programs import ProgramKind
from terminal.adapters.journal import Journal
from terminal.app import Desk
from terminal.reader import DirectReader
from terminal.terminal import Terminal

CARD = "2500010000000018"
CARD_TYPE = uuid.uuid4()
MERCHANT = uuid.uuid4()
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def params(visit_threshold: int = 1) -> dict[str, object]:
    return TerminalParameters(
        rules_version=7,
        association_id=uuid.uuid4(),
        merchant_id=MERCHANT,
        families=[
            FamilyParams(code="livres", book=True),
            FamilyParams(code="tabac", tobacco=True),
        ],
        card_types=[
            CardTypeParams(
                card_type_id=CARD_TYPE,
                kind="generic",
                program=ProgramParams(program_id="p", kind=ProgramKind.CAGNOTTE),
                network=NetworkParams(
                    mode=CalculationMode.NETWORK, taux_client_bps=1000, taux_uc_bps=50
                ),
                visit_threshold=VisitThresholdParams(visits_needed=visit_threshold),
            )
        ],
    ).to_json()


def desk(
    tmp_path: Path,
    *,
    capacity: int = 2000,
    expires: date = date(2028, 12, 31),
    card_type: uuid.UUID = CARD_TYPE,
    masters: dict[str, bytes] | None = None,
    visit_threshold: int = 1,
) -> Desk:
    journal = Journal(tmp_path / "terminal.db", capacity=capacity)
    journal.set(terminal_id=str(uuid.uuid4()), secret="s" * 32, gateway="http://127.0.0.1:1")
    journal.apply_updates(
        {"merchant_id": str(MERCHANT), "label": "till"}, params(visit_threshold), 7, [], 0
    )
    state = personalize(CARD, card_type, expires, masters=masters or DEV_MASTERS)  # type: ignore[arg-type]
    reader = DirectReader(CardApplication(state), SamApplication())
    return Desk(Terminal(journal, reader, now=lambda: NOW), "fr")


async def test_a_sale_writes_the_card_and_journals_a_certified_transaction(tmp_path: Path) -> None:
    d = desk(tmp_path)
    assert await d.handle("carte") == [
        "Carte 2500010000000018 — cagnotte 0,00 €, en attente 0,00 €, visites 0",
        "Valable jusqu'au 2028-12-31",
    ]
    assert await d.handle("vente 25,00") == [
        "Vente 25,00 € enregistrée : +2,50 € de cagnotte. Cagnotte 2,50 €, en attente 0,00 €, "
        "visites 0"
    ]
    ((tx, committed),) = d.journal.recent()
    assert not committed and tx.seq == 1 and tx.atc == 1 and tx.reward_cents == 250
    fields = certified(tx, d.terminal.terminal_id)  # what the cards service checks
    assert verify_certificate(DEV_MASTERS["cert"], fields, bytes.fromhex(tx.certificate))


async def test_the_law_and_the_reason_are_on_screen(tmp_path: Path) -> None:
    d = desk(tmp_path)
    out = await d.handle("vente 20 tabac")
    assert out[0].startswith("Vente 20,00 € enregistrée : +0,00 €")
    # the reason in the screen's language (shared.rules.wording), not the engine's English
    law = "la famille tabac est du tabac : aucune récompense de fidélité selon la loi"
    assert out[1] == f"Sans récompense complète : {law}", out
    livres = await d.handle("vente 100 livres")
    assert livres[0].startswith("Vente 100,00 € enregistrée : +5,00 €")
    assert livres[1].startswith("Sans récompense complète : les livres rapportent au plus 500 pb")
    assert "€ → 5,00 €" in livres[1], livres


async def test_redeeming_part_then_all_and_never_more(tmp_path: Path) -> None:
    d = desk(tmp_path)
    await d.handle("vente 100")
    assert await d.handle("payer 4") == ["Paiement de 4,00 € avec la cagnotte. Reste 6,00 €"]
    assert await d.handle("payer 7") == ["Cagnotte insuffisante : 6,00 € disponible"]
    assert await d.handle("pay all") == ["Paiement de 6,00 € avec la cagnotte. Reste 0,00 €"]
    assert [t.kind for t, _ in d.journal.recent()] == ["redemption", "redemption", "sale"]


async def test_pending_rewards_wait_for_the_visit_threshold(tmp_path: Path) -> None:
    d = desk(tmp_path, visit_threshold=2)
    out = await d.handle("vente 10")
    assert "Cagnotte 0,00 €, en attente 1,00 €, visites 1" in out[0]
    out = await d.handle("vente 10")  # the threshold reached: the count starts again
    assert "Cagnotte 2,00 €, en attente 0,00 €, visites 0" in out[0]


async def test_a_blacklisted_card_is_refused_offline_with_its_reason(tmp_path: Path) -> None:
    d = desk(tmp_path)
    d.journal.apply_updates(
        None, None, 7, [{"version": 9, "card_number": CARD, "action": "add", "reason": "lost"}], 9
    )
    assert await d.handle("carte") == ["Carte refusée : déclarée perdue"]
    await d.handle("langue en")
    assert await d.handle("sale 10") == ["Card refused: reported lost"]
    assert d.journal.recent() == []


async def test_an_expired_card_and_a_foreign_card_type_are_refused(tmp_path: Path) -> None:
    assert await desk(tmp_path / "a", expires=date(2026, 1, 31)).handle("vente 10") == [
        "Carte refusée : expirée le 2026-01-31"
    ]
    assert await desk(tmp_path / "b", card_type=uuid.uuid4()).handle("vente 10") == [
        "Carte refusée : ce type de carte n'est pas accepté dans ce commerce"
    ]


async def test_a_card_from_other_keys_is_refused_by_the_card_itself(tmp_path: Path) -> None:
    other = {p: bytes(16) for p in ("credit", "debit", "cert")}
    out = await desk(tmp_path, masters=other).handle("vente 10")
    assert out == ["Carte refusée : clé invalide (carte ou module de sécurité)"]


async def test_the_journal_warns_then_refuses_cards_when_full(tmp_path: Path) -> None:
    d = desk(tmp_path, capacity=5)
    for _ in range(3):
        assert len(await d.handle("vente 1")) == 1
    out = await d.handle("vente 1")
    assert out[1] == "Attention : journal rempli à 80 % (4/5). Synchronisez."
    await d.handle("vente 1")
    assert await d.handle("vente 1") == [
        "Journal plein (5 ventes) : synchronisez avant d'utiliser une carte. La vente peut se "
        "faire sans fidélité."
    ]
    card = d.terminal.reader.card  # type: ignore[attr-defined]
    assert card.state.atc == 5  # the refused sale never reached the card


@pytest.mark.parametrize("line", ["vente", "vente douze", "vente -3", "payer", "xyz", 'vente "'])
async def test_bad_input_gets_a_clear_message(tmp_path: Path, line: str) -> None:
    (out,) = await desk(tmp_path).handle(line)
    assert out.startswith(("Saisie invalide", "Commande inconnue"))


async def test_a_sale_without_a_member_needs_the_gateway_and_is_not_kept_offline(
    tmp_path: Path,
) -> None:
    d = desk(tmp_path)
    assert await d.handle("anonyme 12,50 livres") == [
        "Hors ligne : la vente sans client n'est pas enregistrée"
    ]
    assert (await d.handle("anonyme"))[0].startswith("Saisie invalide")
    assert d.journal.recent() == []
