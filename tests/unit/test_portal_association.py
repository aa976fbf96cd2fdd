"""What the association back office's forms read and its pages write
(services/portal/domain/association.py)."""

from __future__ import annotations

import uuid
from datetime import date

from services.portal.domain import association as a


def test_a_month_is_a_year_and_a_month_number() -> None:
    assert a.month(" 2026-10 ") == "2026-10"
    for wrong in ("2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", "", "2026/10"):
        assert a.month(wrong) is None, wrong
    assert a.month_written("2026-10", "fr") == "octobre 2026"
    assert a.month_written("2026-02", "en") == "February 2026"


def test_a_rate_is_typed_as_a_percentage_and_kept_in_basis_points() -> None:
    assert [a.bps(t) for t in ("2,5", "2.5", "3", "0,75 %", "100", "0")] == [
        250, 250, 300, 75, 10_000, 0,
    ]  # fmt: skip
    for wrong in ("abc", "-1", "100,01", "2,555", "1e3", ""):
        assert a.bps(wrong) is None, wrong
    assert (a.percent(250, "fr"), a.percent(250, "en"), a.percent(300, "fr")) == ("2,5", "2.5", "3")
    assert a.percent(None, "fr") == ""
    assert (a.percent(1_000, "fr"), a.percent(10_000, "en")) == ("10", "100")  # not 1 %
    assert all(a.bps(a.percent(v, "fr")) == v for v in (1, 75, 250, 1_000, 9_999, 10_000))


def test_an_amount_and_a_day_are_written_to_be_typed_again() -> None:
    assert (a.euros(500, "fr"), a.euros(1_234, "en")) == ("5,00", "12.34")
    assert a.day(" 2026-10-31 ") == date(2026, 10, 31)
    assert a.day("31/10/2026") is None


def test_who_an_actor_is_said_by_name_or_in_words_never_as_recorded() -> None:
    aid, elsewhere = uuid.uuid4(), uuid.uuid4()
    me, colleague, operator, stranger, gone = (uuid.uuid4() for _ in range(5))
    people = {
        me: a.Known("Moi", "association_admin", aid),
        colleague: a.Known("Alice Martin", "association_admin", aid),
        operator: a.Known("Opé Rateur", "operator", None),
        stranger: a.Known("Bob", "association_admin", elsewhere),
    }

    def who(actor: str | None) -> tuple[str, str]:
        return a.who(actor, f"person:{me}", aid, people)

    assert who(f"person:{me}") == ("actor.you", "")
    assert who(f"person:{colleague}") == ("actor.person", "Alice Martin")
    assert who(f"person:{operator}") == ("actor.operator_person", "Opé Rateur")
    assert who(f"person:{stranger}") == ("actor.outsider", "")  # another association's
    assert who(f"person:{gone}") == ("actor.former", "")
    assert who("person:not-a-uuid") == ("actor.former", "")
    assert who("service:clearing") == ("actor.service", "clearing")
    assert who("service:x@example.org") == ("actor.machine", "")  # never an address
    assert who("operator:bootstrap") == ("actor.operator", "")
    assert who(f"token:{uuid.uuid4()}") == ("actor.api_token", "")
    assert who("treasurer@example.org") == ("actor.machine", "")
    assert who(None) == ("actor.nobody", "")
