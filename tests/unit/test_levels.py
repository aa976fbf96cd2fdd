"""Customer status levels (issue 14, item 2): the level as a personal promotion of the rules
engine (named ``level.<code>``, within the caps), the daily review's verdicts (up at once, down
after the grace), and the offline terminal computing the reward the server checks, from the
card levels of the parameters it held."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.cards.domain.base import Refused
from services.cards.domain.card_checks import check_reward
from services.cards.domain.levels import Definition, Terms, reached, review, window
from shared.card.application import CardApplication, SamApplication
from shared.card.crypto import DEV_MASTERS
from shared.card.state import personalize
from shared.clock import PARIS
from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.levels import Level
from shared.rules.params import (
    CardLevelParams,
    CardTypeParams,
    FamilyParams,
    LevelParams,
    NetworkParams,
    ProgramParams,
    TerminalParameters,
    compile,
)
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from terminal.adapters.journal import Journal
from terminal.reader import DirectReader
from terminal.terminal import Terminal

AT = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
SHOP = Merchant.with_families(
    "shop", [ProductFamily("novels", book=True), ProductFamily("cigarettes", tobacco=True)]
)
NETWORK = NetworkRates(CalculationMode.NETWORK, 300, 50)
RULES = RuleBook(NETWORK, [SHOP, Merchant("bakery")], Program("p"))
PRIVILEGE = Level("l-1", "privilege", "Privilège", RateOverride(500))


def test_a_level_gives_its_rate_and_the_statement_says_which_level() -> None:
    ev = RULES.evaluate(Sale("shop", None, 10_000, AT), [PRIVILEGE.promotion()])
    assert (ev.reward_cents, ev.taux_client_bps, ev.rate_source) == (500, 500, "level.privilege")
    assert "status privilege" in ev.steps[-1].detail
    plain = RULES.evaluate(Sale("shop", None, 10_000, AT))
    assert (plain.reward_cents, plain.rate_source) == (300, "rate.network")


def test_a_level_stays_within_the_law_and_never_lowers_the_rate() -> None:
    gold = Level("l-2", "gold", "Or", Multiplier(3))
    books = RULES.evaluate(Sale("shop", "novels", 10_000, AT), [gold.promotion()])
    assert (books.reward_cents, books.rate_source) == (500, "legal.book_cap")
    tobacco = RULES.evaluate(Sale("shop", "cigarettes", 10_000, AT), [gold.promotion()])
    assert tobacco.reward_cents == 0
    low = Level("l-3", "low", "Bas", RateOverride(100))
    ev = RULES.evaluate(Sale("shop", None, 10_000, AT), [low.promotion()])
    assert (ev.reward_cents, ev.rate_source) == (300, "rate.network")


def test_a_level_at_one_merchant_gives_nothing_elsewhere_and_combines_with_a_birthday() -> None:
    mine = Level("l-4", "vip-shop", "VIP", Multiplier(3, 2), merchant_id="shop")
    assert RULES.evaluate(Sale("bakery", None, 10_000, AT), [mine.promotion()]).reward_cents == 300
    birthday = Promotion(
        "b", AT - timedelta(days=1), AT + timedelta(days=1), Multiplier(2), reason="birthday"
    )
    ev = RULES.evaluate(Sale("shop", None, 10_000, AT), [birthday, mine.promotion()])
    assert ev.taux_client_bps == 900  # 300 x 2 x 3/2
    assert ev.rate_source == "level.vip-shop"


def test_a_level_held_online_applies_from_the_moment_it_was_granted() -> None:
    since = AT - timedelta(minutes=5)
    assert (
        RULES.evaluate(Sale("shop", None, 1000, since), [PRIVILEGE.promotion(since)]).reward_cents
        == 50
    )
    before = since - timedelta(seconds=1)
    assert (
        RULES.evaluate(Sale("shop", None, 1000, before), [PRIVILEGE.promotion(since)]).reward_cents
        == 30
    )


def definition(
    code: str, rank: int, spent: int | None, visits: int | None, grace: int = 30
) -> Definition:
    return Definition(
        uuid.uuid4(), uuid.uuid4(), None, code, code.title(), rank, spent, visits, 12,
        RateOverride(400 + rank), grace,
    )  # fmt: skip


SILVER = definition("silver", 1, 20_000, 6)
GOLD = definition("gold", 2, 50_000, 12)
DAY = date(2026, 12, 20)


def test_reached_by_spend_or_by_visits_whichever_comes_first() -> None:
    assert reached([SILVER, GOLD], {12: (50_000, 1)}) is GOLD
    assert reached([SILVER, GOLD], {12: (100, 12)}) is GOLD
    assert reached([SILVER, GOLD], {12: (49_999, 11)}) is SILVER
    assert reached([SILVER, GOLD], {12: (19_999, 5)}) is None
    assert reached([SILVER, GOLD], {6: (90_000, 90)}) is None  # another window's figures


def test_up_at_once_down_only_after_the_grace() -> None:
    first_level = review(None, None, GOLD, DAY)
    assert (first_level.level, first_level.below_since, first_level.changed) == (GOLD, None, True)
    up = review(SILVER, None, GOLD, DAY)
    assert (up.level, up.below_since, up.changed) == (GOLD, None, True)
    kept = review(GOLD, None, GOLD, DAY)
    assert (kept.level, kept.changed) == (GOLD, False)
    # below: the grace starts the first day found below, and runs
    first = review(GOLD, None, SILVER, DAY)
    assert (first.level, first.below_since, first.changed) == (GOLD, DAY, False)
    later = review(GOLD, DAY, None, DAY + timedelta(days=29))
    assert (later.level, later.below_since, later.changed) == (GOLD, DAY, False)
    # back above within the grace: the countdown is cancelled
    back = review(GOLD, DAY, GOLD, DAY + timedelta(days=10))
    assert (back.level, back.below_since, back.changed) == (GOLD, None, False)
    # the grace over: down to what the account reaches that day
    down = review(GOLD, DAY, SILVER, DAY + timedelta(days=30))
    assert (down.level, down.below_since, down.changed) == (SILVER, None, True)
    gone = review(GOLD, DAY, None, DAY + timedelta(days=30))
    assert (gone.level, gone.changed) == (None, True)
    none = review(None, None, None, DAY)
    assert (none.level, none.changed) == (None, False)


def test_without_grace_a_level_goes_the_first_day_below() -> None:
    brief = definition("brief", 1, 100, None, grace=0)
    assert review(brief, None, None, DAY) == review(brief, DAY, None, DAY)
    assert review(brief, None, None, DAY).changed


def test_the_window_is_the_last_months_up_to_the_end_of_the_day_paris_time() -> None:
    since, until = window(date(2026, 3, 31), 1)
    assert since == datetime(2026, 3, 1, tzinfo=PARIS)  # after 31 March: 1 April - 1 month
    assert until == datetime(2026, 4, 1, tzinfo=PARIS)
    since, _ = window(date(2026, 12, 20), 12)
    assert since == datetime(2025, 12, 21, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("spent", "visits", "rate", "multiplier", "reason"),
    [
        (None, None, 500, None, "No threshold"),
        (100, None, None, None, "One effect"),
        (100, None, 500, (2, 1), "One effect"),
        (100, None, None, (1, 1), "Not a raise"),
    ],
)
def test_a_level_needs_a_threshold_and_one_effect_that_raises(
    spent: int | None,
    visits: int | None,
    rate: int | None,
    multiplier: tuple[int, int] | None,
    reason: str,
) -> None:
    terms = Terms(None, "x", "X", 1, spent, visits, 12, rate, multiplier, 0)
    with pytest.raises(Refused) as exc:
        terms.check()
    assert exc.value.title == reason


CARD, OTHER = "2500010000000018", "2500010000000026"
CARD_TYPE, MERCHANT = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def parameters(version: int, holders: list[str]) -> TerminalParameters:
    level = LevelParams(level_id="lv", code="privilege", name="Privilège", taux_client_bps=800)
    return TerminalParameters(
        rules_version=version,
        association_id=uuid.uuid4(),
        merchant_id=MERCHANT,
        families=[FamilyParams(code="livres", book=True)],
        card_types=[
            CardTypeParams(
                card_type_id=CARD_TYPE,
                kind="generic",
                program=ProgramParams(program_id="p", kind=ProgramKind.CAGNOTTE),
                network=NetworkParams(
                    mode=CalculationMode.NETWORK, taux_client_bps=300, taux_uc_bps=50
                ),
            )
        ],
        levels=[level],
        card_levels=[CardLevelParams(card_number=n, level_id="lv") for n in holders]
        + [CardLevelParams(card_number=OTHER, level_id="withdrawn")],
    )


def terminal(tmp_path: Path, params: TerminalParameters, number: str = CARD) -> Terminal:
    journal = Journal(tmp_path / f"{params.rules_version}.db")
    journal.set(terminal_id=str(uuid.uuid4()), secret="s" * 32, gateway="http://127.0.0.1:1")
    journal.apply_updates(
        {"merchant_id": str(MERCHANT), "label": "till"},
        params.to_json(),
        params.rules_version,
        [],
        0,
    )
    state = personalize(number, CARD_TYPE, date(2028, 12, 31), masters=DEV_MASTERS)
    return Terminal(journal, DirectReader(CardApplication(state), SamApplication()), lambda: NOW)


def test_the_terminal_gives_a_listed_card_its_level_and_the_server_agrees(tmp_path: Path) -> None:
    with_level = parameters(8, [CARD])
    recorded = terminal(tmp_path, with_level).sale(10_000)
    assert recorded.transaction.reward_cents == 800
    rules = compile(with_level)[CARD_TYPE]
    assert rules.personal(OTHER) == ()  # a level not in the document: none
    check = check_reward(
        rules.book, rules.program, MERCHANT, True, recorded.transaction, rules.personal(CARD)
    )
    assert (check.problem, check.taux_client_bps, check.rate_source) == (
        None,
        800,
        "level.privilege",
    )


def test_a_level_granted_after_the_download_leaves_the_sale_at_the_rate_the_terminal_had(
    tmp_path: Path,
) -> None:
    before = parameters(7, [])  # the terminal's version: the account had no level yet
    recorded = terminal(tmp_path, before).sale(10_000)
    assert recorded.transaction.reward_cents == 300
    # checked against the terminal's version: honest; against the newer one, it would differ
    # (the server checks a line against the version its chunk says: service/offline.py)
    at_v = compile(before)[CARD_TYPE]
    honest = check_reward(
        at_v.book, at_v.program, MERCHANT, True, recorded.transaction, at_v.personal(CARD)
    )
    assert honest.problem is None
    newer = compile(parameters(8, [CARD]))[CARD_TYPE]
    differs = check_reward(
        newer.book, newer.program, MERCHANT, True, recorded.transaction, newer.personal(CARD)
    )
    assert differs.problem is not None and "the rules 800" in differs.problem
