"""The front desk's pure rules (services/portal/domain/desk.py): what a search term names, a
price typed at the counter, and amounts written in the person's language."""

from __future__ import annotations

import pytest

from services.cards.domain.dry_run import money_for
from services.portal.domain.desk import cents, money, search_kind
from services.portal.entrypoints.desk_words import refusal
from services.portal.entrypoints.http.desk_bookings import _not_earned
from services.portal.service.calls import Refused
from services.portal.service.desk import customer_key


def test_amounts_are_written_as_each_language_writes_euros() -> None:
    assert money(1250, "fr") == "12,50\xa0€"
    assert money(1250, "en") == "€12.50"
    assert money(123456, "fr") == "1\u202f234,56\xa0€"
    assert money(-800, "en") == "-€8.00"
    assert money(0, "fr") == "0,00\xa0€"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("12,50", 1250), ("12.5", 1250), (" 7 ", 700), ("7 €", 700), ("1 234,56", 123456)],
)
def test_a_price_typed_either_way_is_read_in_cents(typed: str, expected: int) -> None:
    assert cents(typed) == expected


@pytest.mark.parametrize("typed", ["", "0", "0,00", "-3", "12,505", "abc", "1e3", "2000000"])
def test_what_is_not_a_price_at_a_counter_is_refused(typed: str) -> None:
    assert cents(typed) is None


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Lea.Roux@Example.FR", ("email", "lea.roux@example.fr")),
        ("9123 4500 0000 0018", ("card", "9123450000000018")),
        ("9123-4500-0000-0018", ("card", "9123450000000018")),
        ("06 12 34 56 78", ("phone", "06 12 34 56 78")),
        ("+33612345678", ("phone", "+33612345678")),
        ("Roux", ("name", "Roux")),
        ("  Léa   Roux ", ("name", "Léa Roux")),
    ],
)
def test_the_one_search_field_tells_a_card_a_phone_an_email_and_a_name(
    term: str, expected: tuple[str, str]
) -> None:
    assert search_kind(term) == expected


@pytest.mark.parametrize(
    ("reason", "status", "fr"),
    [
        ("insufficient_balance", 422, "La cagnotte ne contient pas autant."),
        ("return_exceeds_sale", 422, "C'est plus que le montant acheté."),
        (
            "card_lost",
            422,
            "Cette carte ne peut pas servir : bloquée, expirée ou non acceptée ici.",
        ),
        (
            "card_expired",
            422,
            "Cette carte ne peut pas servir : bloquée, expirée ou non acceptée ici.",
        ),
        ("id_conflict", 409, "Ce formulaire a déjà servi à autre chose : rechargez la page."),
        ("already_enrolled", 409, "Ce client est déjà inscrit."),
        ("something_new", 422, "La demande a été refusée (something_new)."),
    ],
)
def test_each_refusal_of_a_booking_is_one_sentence(reason: str, status: int, fr: str) -> None:
    assert refusal(reason, status, "fr") == fr
    assert refusal(reason, status, "en") != fr


def test_the_desk_books_by_the_customers_card_else_mobile_else_email() -> None:
    card = {"number": "9123450000000018", "status": "active"}
    lost = {"number": "9123450000000026", "status": "lost"}
    account = {"phone": "+33612345678", "email": "a@example.org", "cards": [lost, card]}
    assert customer_key(account) == {"card_number": "9123450000000018"}
    assert customer_key({**account, "cards": [lost]}) == {"phone": "+33612345678"}
    assert customer_key({**account, "cards": [], "phone": None}) == {"email": "a@example.org"}
    with pytest.raises(Refused):
        customer_key({"cards": [lost], "phone": None, "email": None})


@pytest.mark.parametrize("language", ["fr", "en"])
def test_cards_writes_the_whys_amounts_as_the_portal_does(language: str) -> None:
    for cents_ in (0, 75, 2500, 123456):
        assert money_for(language)(cents_) == money(cents_, language)  # type: ignore[arg-type]


def test_a_booked_sales_refusals_are_said_as_the_dry_run_said_them() -> None:
    answer = {"refusals": [{"code": "legal_book_cap", "detail": "books earn at most 500 bp"}]}
    run = {"refusals": [{"code": "legal_book_cap", "detail": "…", "said": "les livres…"}]}
    assert _not_earned(answer, run) == ["les livres…"]
    # one the dry run did not meet: cards' own words rather than nothing
    assert _not_earned(answer, {"refusals": []}) == ["books earn at most 500 bp"]
    assert _not_earned({"refusals": []}, run) == []
