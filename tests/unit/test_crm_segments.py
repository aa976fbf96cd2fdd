"""Segments' pure logic (issue 14, item 4): which filters are refused and why, the filters as a
campaign records them (and as campaigns made before saved segments recorded them), what an
export line shows in each scope, and the WHERE clause built from the filters: one clause a
filter, every value a parameter, nothing from the filters in the SQL text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.crm.adapters.segments import selection
from services.crm.domain.segments import Filters, Segment, exported, problems

A, M = uuid.uuid4(), uuid.uuid4()
MAY, JUNE = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def test_filters_that_can_hold_are_valid_even_when_they_select_no_one_today() -> None:
    assert problems(Filters()) == []
    assert problems(Filters(MAY, JUNE, 100, 100, 1, 1, ("menu",), (3, 12), "email")) == []
    assert problems(Filters(max_visits=0, not_seen_since=MAY)) == []


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        (Filters(min_spent_cents=2, max_spent_cents=1), "min_spent_cents is above"),
        (Filters(min_visits=2, max_visits=1), "min_visits is above"),
        (Filters(seen_since=JUNE, not_seen_since=MAY), "not_seen_since is not after"),
        (Filters(seen_since=MAY, not_seen_since=MAY), "not_seen_since is not after"),
        (Filters(max_visits=0, seen_since=MAY), "max_visits 0"),
        (Filters(max_visits=0, product_families=("menu",)), "max_visits 0"),
        (Filters(birth_months=(0,)), "1 to 12"),
        (Filters(birth_months=(3, 3)), "twice"),
        (Filters(product_families=("menu", "menu")), "twice"),
        (Filters(level_codes=("gold", "gold")), "twice"),
        (Filters(min_visits=-1), "negative"),
        (Filters(consent_channel="fax"), "consent_channel"),
    ],
)
def test_filters_that_cannot_hold_are_refused_with_a_reason(filters: Filters, says: str) -> None:
    found = problems(filters)
    assert len(found) == 1 and says in found[0], found


def test_the_recorded_filters_read_back_as_they_were() -> None:
    f = Filters(MAY, JUNE, 100, 900, 2, 8, ("menu", "cafe"), (3,), "sms", ("gold",))
    assert Filters.from_json(f.as_json()) == f
    assert Filters().as_json() == {}
    assert Filters(max_visits=0).as_json() == {"max_visits": 0}


def test_a_campaign_s_segment_recorded_before_saved_segments_still_reads() -> None:
    older = {"seen_since": MAY.isoformat(), "min_spent_cents": 500, "product_families": ["menu"]}
    assert Filters.from_json(older) == Filters(
        seen_since=MAY, min_spent_cents=500, product_families=("menu",)
    )


LINE = {
    "account_id": A,
    "last_name": "Martin",
    "email": "a@example.fr",
    "phone": "+33611111111",
    "address": "1 rue Haute",
    "postal_code": "29200",
    "town": "Brest",
    "visit_count": 3,
}


def test_an_export_line_shows_what_the_scope_may_see() -> None:
    assert exported(LINE, False, None, set(), None) == LINE
    # the merchant's own customer: all of it
    assert exported(LINE, True, "enrolment", set(), None) == LINE
    # a member imported from another shop's file: the channels consented to here only
    seen = exported(LINE, True, "import", {"sms"}, None)
    assert (seen["phone"], seen["email"], seen["address"], seen["town"]) == (
        "+33611111111",
        None,
        None,
        None,
    )
    assert seen["last_name"] == "Martin" and seen["visit_count"] == 3


def test_a_marketing_export_shows_only_its_channel_s_contact_details() -> None:
    seen = exported(LINE, False, None, set(), "email")
    assert (seen["email"], seen["phone"], seen["postal_code"]) == ("a@example.fr", None, None)
    post = exported(LINE, True, "visit", set(), "post")
    assert (post["address"], post["postal_code"], post["email"]) == ("1 rue Haute", "29200", None)
    # imported, consented to SMS only, exported for e-mail: no contact detail at all
    none = exported(LINE, True, "import", {"sms"}, "email")
    assert (none["email"], none["phone"]) == (None, None)


def test_the_network_s_selection_reads_the_file_s_counters() -> None:
    sel = selection(Segment(A, None, Filters(min_spent_cents=500, min_visits=2)))
    assert sel.sql.startswith("FROM customers c WHERE")
    assert "c.total_spent_cents >= $2::bigint" in sel.sql
    assert "c.visit_count >= $3::bigint" in sel.sql
    assert sel.args == [A, 500, 2]


def test_a_merchant_s_selection_reads_its_file_s_counters_and_visits_there() -> None:
    sel = selection(Segment(A, M, Filters(seen_since=MAY, product_families=("menu",))))
    assert "merchant_customers m JOIN customers c" in sel.sql
    assert "m.last_visit_at >= " in sel.sql and "c.last_visit_at" not in sel.sql
    assert "v.merchant_id = " in sel.sql
    assert sel.args == [A, M, MAY, M, ["menu"]]


def test_a_level_is_the_scope_s_own() -> None:
    network = selection(Segment(A, None, Filters(level_codes=("gold",))))
    assert "l.merchant_id IS NULL" in network.sql and network.args == [A, ["gold"]]
    shop = selection(Segment(A, M, Filters(level_codes=("gold",))))
    assert "l.merchant_id = $" in shop.sql and shop.args[-2:] == [M, ["gold"]]


# What a request may put in a filter's text (marked, to be found): never in the SQL text.
MARK = "\u2603"
hostile = st.text(max_size=20).map(lambda s: MARK + s + "'; DROP TABLE customers; --")


@settings(deadline=None)  # a machine under load is slow, not wrong
@given(families=st.lists(hostile, min_size=1, max_size=3), months=st.lists(st.integers(1, 12)))
def test_no_value_of_a_filter_reaches_the_sql_text(families: list[str], months: list[int]) -> None:
    f = Filters(MAY, JUNE, 1, 2, 3, 4, tuple(families), tuple(months), "post", tuple(families))
    sel = selection(Segment(A, M, f))
    assert families in sel.args and "post" in sel.args
    assert MARK not in sel.sql and "DROP" not in sel.sql
    # one parameter a placeholder, numbered in order
    assert [f"${n}::" in sel.sql for n in range(1, len(sel.args) + 1)] == [True] * len(sel.args)
