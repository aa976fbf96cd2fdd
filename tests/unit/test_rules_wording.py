"""The words of a reward's "why" (shared/rules/wording.py): every step and refusal the engine can
produce is worded in French and English from its structured arguments, the English says what
the engine's detail says, and the sentence reads in the person's language with the amounts as
Babel writes them."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency

from services.cards.domain.dry_run import explain
from shared.rules import wording
from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import Evaluation, RuleBook, Sale
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from shared.rules.visit_threshold import VisitThreshold

RULES = Path(__file__).parents[2] / "shared" / "rules"
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SHOP = Merchant.with_families(
    "shop",
    [
        ProductFamily("lunch", taux_client_bps=800),
        ProductFamily("dinner"),
        ProductFamily("livres", taux_client_bps=700, book=True),
        ProductFamily("poche", taux_client_bps=100, book=True),
        ProductFamily("tabac", tobacco=True),
        ProductFamily("loto", gambling=True),
        ProductFamily("luxe", taux_client_bps=8000),
    ],
    taux_client_bps=500,
)
PLAIN = Merchant.with_families("plain", [ProductFamily("bread")])


def promo(
    pid: str, effect: RateOverride | Multiplier, live: bool = True, **kw: object
) -> Promotion:
    start = AT - DAY if live else AT + DAY
    return Promotion(pid, start, start + 3 * DAY, effect, **kw)  # type: ignore[arg-type]


def run(
    family: str | None,
    merchant: str = "shop",
    mode: CalculationMode = CalculationMode.FAMILY,
    program: Program | None = None,
    promotions: tuple[Promotion, ...] = (),
    personal: tuple[Promotion, ...] = (),
    cents: int = 2500,
) -> Evaluation:
    book = RuleBook(NetworkRates(mode, 300, 50), [SHOP, PLAIN], program or Program("p"), promotions)
    return book.evaluate(Sale(merchant, family, cents, AT, 3), personal)


POINTS = Program(
    "pts", ProgramKind.POINTS, points_per_euro=100, units_per_reward=100, reward_cents=100
)


def scenarios() -> list[Evaluation]:
    """Sales that, together, make the engine produce every step and refusal it has."""
    return [
        run("lunch"),
        run("dinner"),
        run("bread", "plain", CalculationMode.MERCHANT),
        run("nope"),
        run("lunch", program=POINTS),
        run("livres", program=POINTS),
        run(
            "poche",
            program=Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=500),
        ),
        run("dinner", program=Program("p", families=frozenset({"lunch", "bread"}))),
        run("tabac"),
        run("loto"),
        run("livres"),
        run("poche"),
        run("luxe", promotions=(promo("m2", Multiplier(2)),)),
        run("lunch", promotions=(promo("later", RateOverride(900), live=False),)),
        run(
            "dinner",
            promotions=(
                promo("a", RateOverride(900), merchant_id="shop"),
                promo("b", RateOverride(700)),
                promo("c", RateOverride(100)),
                promo("d", Multiplier(3, 2)),
            ),
            personal=(
                promo("bday", Multiplier(2), reason="birthday"),
                promo("lvl", RateOverride(950), reason="level", label="privilege"),
            ),
        ),
        run("lunch", program=POINTS, promotions=(promo("o", RateOverride(900)),)),
        run("lunch", merchant="nobody"),
        run("lunch", program=Program("p", status=ProgramStatus.SUSPENDED)),
        run("lunch", program=Program("p", status=ProgramStatus.DELETED)),
        run("lunch", program=Program("p", valid_from=AT + DAY)),
        run("lunch", program=Program("p", valid_from=AT - 9 * DAY, valid_until=AT - DAY)),
        run("lunch", program=Program("p", valid_until=AT - DAY)),
    ]


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _calls(name: str) -> list[ast.Call]:
    calls = []
    for path in RULES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == name
            ):
                calls.append(node)
    return calls


def _key(call: ast.Call, wording_at: int) -> str | None:
    """The wording key a ``Step(...)`` or ``Refusal(...)`` call gives: its ``wording`` if
    literal, else its rule or code if literal, else None (dynamic)."""
    given = [k.value for k in call.keywords if k.arg == "wording"]
    if len(call.args) > wording_at:
        given.append(call.args[wording_at])
    if given:
        return _literal(given[0])
    return _literal(call.args[0]) if call.args else None


def test_every_step_the_engine_writes_has_words() -> None:
    """The literal wording keys of the ``Step(...)`` calls, and every rule-like name written in
    shared/rules (a dynamic rule's names are literals somewhere: ``taux_client_for``'s...)."""
    keys = {k for k in (_key(c, 5) for c in _calls("Step")) if k is not None}
    assert keys, "no Step(...) found in shared/rules"
    rule = re.compile(r'"((?:rate|legal|promotion|family|program|points|stamps)\.[a-z_.]*[a-z])"')
    for path in RULES.glob("*.py"):
        if path.name != "wording.py":
            keys |= set(rule.findall(path.read_text()))
    assert keys <= wording.STEPS.keys(), keys - wording.STEPS.keys()


def test_every_refusal_code_the_engine_can_give_has_words() -> None:
    codes = {k for k in (_key(c, 3) for c in _calls("Refusal")) if k is not None}
    # the codes given dynamically: a program's status, its validity, the law's families
    codes |= {f"program_{s}" for s in ProgramStatus if s is not ProgramStatus.ACTIVE}
    for source in ("programs.py", "legal.py"):
        codes |= set(re.findall(r'"((?:program|legal)_[a-z_]+)"', (RULES / source).read_text()))
    assert codes <= wording.REFUSALS.keys(), codes - wording.REFUSALS.keys()


def test_the_scenarios_reach_every_wording_and_the_english_is_the_engines_detail() -> None:
    steps, refusals = set(), set()
    for ev in scenarios():
        for s in ev.steps:
            steps.add(s.key)
            assert wording.step(s, "en") == s.detail
        for r in ev.refusals:
            refusals.add(r.key)
            assert wording.refusal(r, "en") == r.detail
    assert steps == wording.STEPS.keys()
    assert refusals == wording.REFUSALS.keys()


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_each_step_and_refusal_has_its_own_words_in_each_language(lang: wording.Language) -> None:
    for table in (wording.STEPS, wording.REFUSALS):
        for key, words in table.items():
            assert set(words) == set(wording.LANGUAGES), key
    for ev in scenarios():
        for s in ev.steps:
            said = wording.step(s, lang)
            assert "{" not in said and said
            if lang == "fr" and s.key != "promotion.multiplier":
                assert said != s.detail, s.key  # French words, not the English detail
        for r in ev.refusals:
            assert "{" not in wording.refusal(r, lang)


def fr(cents: int) -> str:
    return format_currency(Decimal(cents) / 100, "EUR", locale="fr_FR")


ONE_VISIT = VisitThreshold(1, None)


def test_the_sentence_in_french_with_french_amounts() -> None:
    ev = run("bread", "plain", CalculationMode.MERCHANT)
    said = explain(ev, 2500, ONE_VISIT, "fr")
    assert said == (
        f"Un achat de {fr(2500)} rapporte {fr(75)} dans la cagnotte à 300 pb : "
        "taux client de 300 pb du réseau (mode commerce) ; "
        f"le commerce paie une commission de {fr(13)} (50 pb)."
    )
    assert "0,75\xa0€" in said


def test_the_sentence_in_english_with_babel_amounts_or_the_apis_own() -> None:
    ev = run("bread", "plain", CalculationMode.MERCHANT)
    assert explain(ev, 2500, ONE_VISIT, "en") == (
        "A sale of €25.00 earns €0.75 in the cagnotte at 300 bp: taux client 300 bp of the "
        "network (mode merchant); the merchant pays a fee of €0.13 (50 bp)."
    )
    assert explain(ev, 2500, ONE_VISIT).startswith("A sale of 25.00 € earns 0.75 € in the cagnotte")


def test_a_refusal_a_promotion_not_applied_and_the_visit_threshold_in_french() -> None:
    tabac = explain(run("tabac", cents=1000), 1000, ONE_VISIT, "fr")
    assert tabac == (
        f"Un achat de {fr(1000)} ne rapporte rien car la famille tabac est du tabac : aucune "
        f"récompense de fidélité selon la loi ; le commerce paie une commission de {fr(5)} (50 pb)."
    )
    later = run("lunch", promotions=(promo("later", RateOverride(900), live=False),))
    said = explain(later, 2500, VisitThreshold(3, timedelta(days=30)), "fr")
    assert ", en attente jusqu'à la visite numéro 3 du client sous 30 jours : " in said
    # the promotion's period as a French reader writes it (Babel), not in ISO 8601
    assert (
        " ; non appliqué : la promotion later (réseau) n'a pas cours : "
        "du 8 déc. 2026, 12:00 au 11 déc. 2026, 12:00 (exclu) ;"
    ) in said, said
    capped = explain(run("livres", cents=2000), 2000, ONE_VISIT, "fr")
    assert f"700 pb plafonnés, {fr(140)} → {fr(100)}" in capped


def test_points_and_stamps_in_french() -> None:
    assert explain(run("lunch", program=POINTS, cents=1234), 1234, ONE_VISIT, "fr").startswith(
        f"Un achat de {fr(1234)} rapporte 1234 points : 100 points par euro ;"
    )
    stamps = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=500)
    assert explain(run("lunch", program=stamps, cents=900), 900, ONE_VISIT, "fr").startswith(
        f"Un achat de {fr(900)} rapporte 3 tampons : un tampon par article acheté ;"
    )


def test_a_reader_at_the_merchant_reads_names_not_ids() -> None:
    """At the merchant's counter: "the merchant" rather than its id, the promotion's name
    and the family's label rather than their id and code."""
    ev = run(
        "lunch",
        promotions=(
            promo("p-1", Multiplier(2), merchant_id="shop"),
            promo("p-2", RateOverride(900), live=False),
        ),
    )
    reader = wording.Reader(
        fr, promotions={"p-1": "Noël x2"}, here="shop", families={"lunch": "Déjeuner"}
    )
    said = wording.sentence(ev, 2500, 1, None, "fr", reader)
    assert said == (
        f"Un achat de {fr(2500)} rapporte {fr(400)} dans la cagnotte à 1600 pb : "
        "taux client de 800 pb de la famille Déjeuner (mode famille) ; "
        "promotion « Noël x2 » (du commerce) : x2, 800 → 1600 ; "
        "non appliqué : la promotion p-2 (réseau) n'a pas cours : "
        f"du {(AT + DAY).isoformat()} au {(AT + 4 * DAY).isoformat()} (exclu) ; "
        f"le commerce paie une commission de {fr(13)} (50 pb)."
    )
    english = wording.Reader(promotions={"p-1": "Xmas x2"}, here="shop")
    assert wording.step(run("nope").steps[0], "en", english) == (
        "family nope is not in the merchant's catalogue: earns as a sale without family "
        "(no family rate, no family flag)"
    )
    assert "“Xmas x2” (the merchant's): x2" in wording.sentence(ev, 2500, 1, None, "en", english)
    elsewhere = wording.Reader(here="plain")  # another merchant's id stays
    assert "of merchant shop" in wording.step(ev.steps[0], "en", elsewhere)


def test_the_words_said_at_the_merchant_are_in_both_languages_and_of_known_steps() -> None:
    assert wording.HERE.keys() <= wording.STEPS.keys()
    for key, words in wording.HERE.items():
        assert set(words) == set(wording.LANGUAGES), key
        assert "{merchant}" not in words["en"] + words["fr"], key
