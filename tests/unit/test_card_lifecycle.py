"""The card life cycle's transitions (services/cards/domain/cards.py), without a database: what
blocking, reactivating, replacing and renewing a card cause, and what each refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.cards.domain import identifiers
from services.cards.domain.cards import (
    BlacklistEntry,
    CardState,
    Refused,
    add_months,
    block,
    expiry,
    issuer_prefix,
    pending_lost_reference,
    reactivate,
    renew,
    replace_card,
    replacement_batch_id,
)
from shared.rules.accounts import AccountState, Movement

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
DORMANT_AFTER = 180


def card(status: str = "active", last_used: datetime | None = T0, **kw: object) -> CardState:
    return CardState(
        "6280010000000011",
        status,
        kw.get("expires_on"),  # type: ignore[arg-type]
        last_used,
        T0 - timedelta(days=400),
        kw.get("replaced_by"),  # type: ignore[arg-type]
    )


def account(pending: int = 0, visits: int = 0) -> AccountState:
    return AccountState(
        available=500,
        pending=pending,
        units=3,
        stored_value=0,
        visits=visits,
        window_started_at=T0 if visits else None,
    )


# --- blocking ----------------------------------------------------------------------------------


def test_blocking_an_active_card_puts_it_on_the_blacklist() -> None:
    assert block(card(), "lost") == BlacklistEntry("add", "lost")
    assert block(card(), "stolen") == BlacklistEntry("add", "stolen")


def test_blocking_again_for_the_same_reason_changes_nothing() -> None:
    assert block(card("lost"), "lost") is None
    assert block(card("stolen"), "stolen") is None


def test_a_lost_card_can_be_declared_stolen_but_not_back() -> None:
    assert block(card("lost"), "stolen") == BlacklistEntry("add", "stolen")
    with pytest.raises(Refused) as refused:
        block(card("stolen"), "lost")
    assert (refused.value.title, refused.value.slug, refused.value.conflict) == (
        "Cannot block",
        "card-stolen",
        True,
    )


@pytest.mark.parametrize("status", ["replaced", "cancelled", "cloned"])
def test_a_card_out_of_use_is_not_blocked(status: str) -> None:
    with pytest.raises(Refused) as refused:
        block(card(status), "lost")
    assert refused.value.slug == f"card-{status}"


# --- reactivation ------------------------------------------------------------------------------


def test_reactivating_a_dormant_card_forfeits_its_pending_rewards_and_visits() -> None:
    idle = T0 - timedelta(days=DORMANT_AFTER)
    done = reactivate(card(last_used=idle), account(pending=120, visits=4), T0, DORMANT_AFTER)
    assert done.was_dormant and not done.was_lost
    assert done.forfeit is not None
    assert done.forfeit.cents == 120
    assert done.forfeit.movement == Movement("pending_lost", "pending", -120)
    assert done.forfeit.reference == pending_lost_reference("6280010000000011", idle)
    after = done.forfeit.account_after
    assert (after.pending, after.visits, after.window_started_at) == (0, 0, None)
    assert (after.available, after.units) == (500, 3)  # only what was pending is lost
    assert done.blacklist is None


def test_one_dormant_spell_forfeits_once_whatever_the_retries() -> None:
    idle = T0 - timedelta(days=DORMANT_AFTER + 3)
    first = reactivate(card(last_used=idle), account(pending=50), T0, DORMANT_AFTER)
    again = reactivate(
        card(last_used=idle), account(pending=50), T0 + timedelta(minutes=1), DORMANT_AFTER
    )
    assert first.forfeit is not None and again.forfeit is not None
    assert first.forfeit.reference == again.forfeit.reference


def test_a_dormant_card_without_pending_rewards_loses_nothing() -> None:
    idle = T0 - timedelta(days=DORMANT_AFTER)
    done = reactivate(card(last_used=idle), account(pending=0, visits=2), T0, DORMANT_AFTER)
    assert done.was_dormant and done.forfeit is None


def test_a_card_used_lately_is_left_as_it_is() -> None:
    done = reactivate(card(), account(pending=80), T0 + timedelta(days=1), DORMANT_AFTER)
    assert (done.was_dormant, done.was_lost, done.forfeit, done.blacklist) == (
        False,
        False,
        None,
        None,
    )


def test_a_lost_card_found_again_comes_off_the_blacklist() -> None:
    done = reactivate(card("lost"), account(pending=80), T0 + timedelta(days=1), DORMANT_AFTER)
    assert done.was_lost and not done.was_dormant
    assert done.blacklist == BlacklistEntry("remove", "found")
    assert done.forfeit is None  # found before it went dormant: its rewards stay


@pytest.mark.parametrize(
    ("status", "title"), [("stolen", "Stolen card"), ("cloned", "Cloned card")]
)
def test_a_stolen_or_cloned_card_is_never_reactivated(status: str, title: str) -> None:
    with pytest.raises(Refused) as refused:
        reactivate(card(status), account(), T0, DORMANT_AFTER)
    assert (refused.value.title, refused.value.slug) == (title, f"card-{status}")
    assert "replacement" in refused.value.detail


def test_a_replaced_card_is_out_of_use_and_says_by_which() -> None:
    with pytest.raises(Refused) as refused:
        reactivate(card("replaced", replaced_by="6280010000000029"), account(), T0, 1)
    assert refused.value.title == "Card out of use"
    assert refused.value.detail.endswith("by 6280010000000029")


# --- replacement -------------------------------------------------------------------------------


def test_replacing_an_active_card_blacklists_it_and_keeps_its_expiry() -> None:
    plan = replace_card(card(expires_on=date(2027, 5, 31)))
    assert plan.already is None
    assert plan.expires_on == date(2027, 5, 31)
    assert plan.blacklist == BlacklistEntry("add", "replaced")


@pytest.mark.parametrize("status", ["lost", "stolen", "cloned"])
def test_replacing_a_blocked_card_adds_nothing_to_the_blacklist(status: str) -> None:
    assert replace_card(card(status)).blacklist is None


def test_replacing_again_answers_the_first_replacement() -> None:
    plan = replace_card(card("replaced", replaced_by="6280010000000029"))
    assert plan.already == "6280010000000029"
    assert plan.blacklist is None


def test_a_cancelled_card_is_not_replaced() -> None:
    with pytest.raises(Refused) as refused:
        replace_card(card("cancelled"))
    assert refused.value.slug == "card-cancelled"


def test_a_card_has_one_replacement_batch() -> None:
    assert replacement_batch_id("6280010000000011") == replacement_batch_id("6280010000000011")
    assert replacement_batch_id("6280010000000011") != replacement_batch_id("6280010000000029")


# --- renewal and issuance ----------------------------------------------------------------------


def test_renewal_defaults_to_today_plus_the_validity() -> None:
    assert renew(card(), date(2026, 1, 31), None, 1) == date(2026, 2, 28)
    assert renew(card(), date(2026, 1, 31), date(2027, 1, 1), None) == date(2027, 1, 1)


def test_renewal_refuses_a_past_date_a_missing_validity_and_a_blocked_card() -> None:
    with pytest.raises(Refused) as past:
        renew(card(), date(2026, 3, 1), date(2026, 2, 28), 12)
    assert not past.value.conflict
    assert past.value.errors == [{"field": "expires_on", "message": "in the past"}]
    with pytest.raises(Refused) as missing:
        renew(card(), date(2026, 3, 1), None, None)
    assert missing.value.title == "No validity period"
    with pytest.raises(Refused) as blocked:
        renew(card("lost"), date(2026, 3, 1), None, 12)
    assert blocked.value.conflict and blocked.value.slug == "card-lost"


def test_months_end_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert expiry(T0, None) is None
    assert expiry(T0, 24) == date(2028, 11, 2)


def test_an_association_without_an_issuer_prefix_issues_no_card() -> None:
    assert issuer_prefix(T0_ID, "628001") == "628001"
    with pytest.raises(Refused) as refused:
        issuer_prefix(T0_ID, None)
    assert refused.value.slug == "no-issuer-prefix"


T0_ID = pending_lost_reference("x", T0)  # any UUID


# --- identifiers -------------------------------------------------------------------------------


def test_an_email_address_is_lower_cased_and_a_token_checked() -> None:
    assert identifiers.email("  Ana@Example.FR ") == "ana@example.fr"
    with pytest.raises(ValueError, match="not an e-mail"):
        identifiers.email("ana @example.fr")
    assert identifiers.token("tok_1234") == "tok_1234"
    with pytest.raises(ValueError, match="token"):
        identifiers.token("abc")
