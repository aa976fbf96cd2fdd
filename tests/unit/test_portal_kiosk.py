"""The kiosk's pure rules (services/portal/domain/kiosk.py) and the reader program's loop
(terminal/kiosk.py) with a reader and a portal of the test's making."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.portal.domain import kiosk as rules
from shared.settings import Settings
from terminal import kiosk
from terminal.reader import CardError, CardView

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SHOP, OTHER = uuid.uuid4(), uuid.uuid4()


def test_a_code_is_six_digits_as_typed_with_spaces_or_a_dash() -> None:
    assert rules.normal_code(" 123 456 ") == "123456"
    assert rules.normal_code("123-456") == "123456"
    for wrong in ("12345", "1234567", "12a456", "١٢٣٤٥٦", ""):
        assert rules.normal_code(wrong) is None, wrong
    drawn = rules.new_code()
    assert len(drawn) == 6 and drawn.isdigit()


def test_a_code_s_hash_is_its_network_s_only() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert rules.code_digest(a, "123456") == rules.code_digest(a, "123456")
    assert rules.code_digest(a, "123456") != rules.code_digest(b, "123456")


def test_the_offers_shown_are_the_network_s_and_this_shop_s_live_ones() -> None:
    promotions = [
        {"name": "Triple", "merchant_id": None, "withdrawn_at": None},
        {"name": "Ours", "merchant_id": str(SHOP), "withdrawn_at": None},
        {"name": "Theirs", "merchant_id": str(OTHER), "withdrawn_at": None},
        {"name": "Gone", "merchant_id": None, "withdrawn_at": "2026-12-01T00:00:00Z"},
        {"name": "Triple", "merchant_id": str(SHOP), "withdrawn_at": None},
    ]
    assert rules.offers_here(promotions, SHOP) == ["Triple", "Ours"]


def test_the_screen_keeps_a_first_name_and_the_buckets_only() -> None:
    account = {
        "first_name": "Léa",
        "last_name": "Martin",
        "email": "lea@example.org",
        "balance_cents": 128,
        "pending_cents": 40,
        "stored_value_cents": 0,
        "visits": 3,
    }
    seen = rules.screen_of(account, [{"name": "Or"}], ["Triple"], NOW)
    assert (seen.first_name, seen.balance_cents, seen.pending_cents, seen.levels) == (
        "Léa",
        128,
        40,
        ["Or"],
    )
    assert "Martin" not in repr(seen) and "example.org" not in repr(seen)
    shown_until = rules.shown_until(NOW, 20)
    assert shown_until == NOW + timedelta(seconds=20)
    assert rules.still_shown(shown_until, NOW + timedelta(seconds=19))
    assert not rules.still_shown(shown_until, shown_until)


def test_a_card_stays_20_s_on_screen_unless_set_between_3_and_300_s() -> None:
    assert Settings().kiosk_shown_s == 20
    assert Settings(kiosk_shown_s=3).kiosk_shown_s == 3
    for wrong in (0, 2, 301):
        with pytest.raises(ValidationError, match="kiosk_shown_s"):
            Settings(kiosk_shown_s=wrong)


def _view(number: str) -> CardView:
    return CardView(
        number=number,
        card_type_id=uuid.uuid4(),
        expires_on=date(2099, 12, 31),
        available=0,
        pending=0,
        units=0,
        visits=0,
        window_started_at=None,
        last_used_on=None,
        atc=0,
        key_version=1,
        blocked=False,
        log=(),
    )


@dataclass
class Reader:
    """A card in the reader for some polls, then none, then another: ``script`` of numbers
    (None: the reader is empty; "!" a card that cannot be read)."""

    script: list[str | None]
    polls: int = 0

    def present(self) -> bool:
        return self.script[min(self.polls, len(self.script) - 1)] is not None

    def read(self) -> CardView:
        number = self.script[min(self.polls, len(self.script) - 1)]
        if number == "!":
            raise CardError("io", 0, "unreadable")
        assert number is not None
        return _view(number)

    def tick(self) -> bool:
        self.polls += 1
        return self.polls > len(self.script)


@dataclass
class Portal:
    answers: dict[str, int] = field(default_factory=dict)
    posted: list[str] = field(default_factory=list)

    def post(self, number: str) -> tuple[int, str]:
        self.posted.append(number)
        return self.answers.get(number, 202), ""


def test_each_card_put_in_is_posted_once_while_it_stays() -> None:
    reader = Reader(["111", "111", "111", None, "111", None, "!", "222", None])
    portal = Portal()
    out = io.StringIO()
    status = kiosk.run(reader, portal.post, out, poll_s=0, stop=lambda: reader.tick() and True)
    assert status == 0
    # the same card, still in, once; out and in again, again; an unreadable read is said
    assert portal.posted == ["111", "111", "222"]
    assert "could not be read" in out.getvalue() and "111" not in out.getvalue()


def test_a_refused_key_stops_the_reader_and_once_answers_the_first_card() -> None:
    reader = Reader(["111"] * 5)
    assert kiosk.run(reader, Portal({"111": 401}).post, io.StringIO(), poll_s=0) == 2
    assert kiosk.run(Reader(["111"]), Portal().post, io.StringIO(), once=True, poll_s=0) == 0
    unknown = Portal({"111": 404})
    assert kiosk.run(Reader(["111"]), unknown.post, io.StringIO(), once=True, poll_s=0) == 1
