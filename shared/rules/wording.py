"""The words of a reward's "why", in French and English: one template per rule step and per
refusal, filled from the structured arguments the engine gives each ``Step`` and ``Refusal``
(``key`` and ``args``), never by translating an English sentence. Pure and dependency-free, so
the offline terminal can say it too; amounts, instants, promotions and families are written
by the caller's ``Reader`` (Babel and names in cards' dry run; by default as the engine's
English ``detail``: ``0.75 €``, ISO 8601, ids and codes).

The English templates say exactly what the engine's ``detail`` says (a unit test holds them
to it); every key the engine can produce has a wording in both languages
(tests/unit/test_rules_wording.py enumerates them from the engine's source).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from shared.rules.money import format_eur

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
Money = Callable[[int], str]
When = Callable[[str], str]  # an ISO 8601 instant as the reader writes it
Args = tuple[tuple[str, str | int], ...]

# One template per step key (``Step.key``, else its rule).
STEPS: dict[str, dict[Language, str]] = {
    "rate.family": {
        "en": "taux client {rate} bp of family {family} of merchant {merchant} (mode {mode})",
        "fr": "taux client de {rate} pb de la famille {family} du commerce {merchant} "
        "(mode {mode})",
    },
    "rate.merchant": {
        "en": "taux client {rate} bp of merchant {merchant} (mode {mode})",
        "fr": "taux client de {rate} pb du commerce {merchant} (mode {mode})",
    },
    "rate.network": {
        "en": "taux client {rate} bp of the network (mode {mode})",
        "fr": "taux client de {rate} pb du réseau (mode {mode})",
    },
    "points.rate": {
        "en": "{points_per_euro} points per euro",
        "fr": "{points_per_euro} points par euro",
    },
    "stamps.rate": {
        "en": "one stamp per item bought",
        "fr": "un tampon par article acheté",
    },
    "family.unknown": {
        "en": "family {family} is not in merchant {merchant}'s catalogue: earns as a sale "
        "without family (no family rate, no family flag)",
        "fr": "la famille {family} n'est pas au catalogue du commerce {merchant} : l'achat "
        "rapporte comme un achat sans famille (ni taux ni marque de famille)",
    },
    "program.scope": {
        "en": "family {family} is outside program {program}'s scope ({families})",
        "fr": "la famille {family} est hors du périmètre du programme {program} ({families})",
    },
    "legal.tobacco": {
        "en": "family {family} is tobacco: no loyalty reward by law",
        "fr": "la famille {family} est du tabac : aucune récompense de fidélité selon la loi",
    },
    "legal.gambling": {
        "en": "family {family} is gambling: no loyalty reward by law",
        "fr": "la famille {family} est un jeu d'argent : aucune récompense de fidélité "
        "selon la loi",
    },
    "promotion.period": {
        "en": "promotion {promotion} ({owner}) is not live: {starts} to {ends} (excluded)",
        "fr": "la promotion {promotion} ({owner}) n'a pas cours : du {starts} au {ends} (exclu)",
    },
    "promotion.override": {
        "en": "promotion {promotion} ({owner}): taux client {before} → {after} bp",
        "fr": "promotion {promotion} ({owner}) : taux client de {before} → {after} pb",
    },
    "promotion.override.not_cagnotte": {
        "en": "promotion {promotion}: an override sets a taux client, not {kind}",
        "fr": "promotion {promotion} : un taux imposé fixe un taux client, pas des {kind}",
    },
    "promotion.override.not_above": {
        "en": "promotion {promotion}: {offered} bp is not above the base {base} bp",
        "fr": "promotion {promotion} : {offered} pb ne dépasse pas le taux de base de {base} pb",
    },
    "promotion.override.below_best": {
        "en": "promotion {promotion}: {offered} bp is below the better override {best} bp",
        "fr": "promotion {promotion} : {offered} pb est sous le meilleur taux imposé de {best} pb",
    },
    "promotion.multiplier": {
        "en": "promotion {promotion} ({owner}): {factor}, {before} → {after}",
        "fr": "promotion {promotion} ({owner}) : {factor}, {before} → {after}",
    },
    "rate.max": {
        "en": "a taux client is at most {max} bp",
        "fr": "un taux client est d'au plus {max} pb",
    },
    "legal.book_cap": {
        "en": "books earn at most {cap} bp by law: {before} bp capped, "
        "{before_cents} → {after_cents}",
        "fr": "les livres rapportent au plus {cap} pb selon la loi : {before} pb plafonnés, "
        "{before_cents} → {after_cents}",
    },
    "legal.book_cap.units": {
        "en": "books earn at most 5 % of the price by law: {units} {kind} capped at {cap}",
        "fr": "les livres rapportent au plus 5 % du prix selon la loi : {units} {kind} "
        "plafonnés à {cap}",
    },
    "legal.book_cap.within": {
        "en": "within the 5 % cap on books",
        "fr": "dans le plafond de 5 % sur les livres",
    },
}

# One template per refusal key (``Refusal.key``, else its code).
REFUSALS: dict[str, dict[Language, str]] = {
    "unknown_merchant": {
        "en": "merchant {merchant} is not in the network",
        "fr": "le commerce {merchant} n'est pas dans le réseau",
    },
    "program_suspended": {
        "en": "program {program} is suspended",
        "fr": "le programme {program} est suspendu",
    },
    "program_deleted": {
        "en": "program {program} is deleted",
        "fr": "le programme {program} est supprimé",
    },
    "program_not_started": {
        "en": "program {program} is valid from {valid_from} to {valid_until}",
        "fr": "le programme {program} est valable {valid_from} {valid_until}",
    },
    "program_ended": {
        "en": "program {program} is valid from {valid_from} to {valid_until}",
        "fr": "le programme {program} est valable {valid_from} {valid_until}",
    },
    "out_of_scope": STEPS["program.scope"],
    "legal_tobacco": STEPS["legal.tobacco"],
    "legal_gambling": STEPS["legal.gambling"],
    "legal_book_cap": STEPS["legal.book_cap"],
    "legal_book_cap.units": STEPS["legal.book_cap.units"],
}

# The words an argument takes in each language (its value → the words).
VALUES: dict[str, dict[str, dict[Language, str]]] = {
    "mode": {
        "network": {"en": "network", "fr": "réseau"},
        "merchant": {"en": "merchant", "fr": "commerce"},
        "family": {"en": "family", "fr": "famille"},
    },
    "kind": {
        "cagnotte": {"en": "cagnotte", "fr": "cagnotte"},
        "points": {"en": "points", "fr": "points"},
        "stamps": {"en": "stamps", "fr": "tampons"},
    },
    # who a promotion is of (``shared.rules.promotions.Promotion.owner_args``)
    "owner": {
        "network": {"en": "network", "fr": "réseau"},
        "merchant": {"en": "merchant {merchant}", "fr": "commerce {merchant}"},
        "birthday": {"en": "the customer's birthday offer", "fr": "offre anniversaire du client"},
        "level": {"en": "the customer's status {label}", "fr": "statut {label} du client"},
    },
}

# A program's validity bounds (ISO dates, "" when open).
_FROM: dict[Language, tuple[str, str]] = {
    "en": ("always", "{}"),
    "fr": ("depuis toujours", "du {}"),
}
_UNTIL: dict[Language, tuple[str, str]] = {
    "en": ("no end", "{} (excluded)"),
    "fr": ("sans fin", "au {} (exclu)"),
}

SENTENCE: dict[str, dict[Language, str]] = {
    "sale": {"en": "A sale of {amount}", "fr": "Un achat de {amount}"},
    "fee": {
        "en": "the merchant pays a fee of {fee} ({uc} bp)",
        "fr": "le commerce paie une commission de {fee} ({uc} pb)",
    },
    "nothing": {
        "en": "{sale} earns nothing because {why}; {fee}.",
        "fr": "{sale} ne rapporte rien car {why} ; {fee}.",
    },
    "earns": {
        "en": "{sale} earns {earned}{wait}: {why}; {fee}.",
        "fr": "{sale} rapporte {earned}{wait} : {why} ; {fee}.",
    },
    "cagnotte": {
        "en": "{reward} in the cagnotte at {rate} bp",
        "fr": "{reward} dans la cagnotte à {rate} pb",
    },
    "points": {"en": "{units} points", "fr": "{units} points"},
    "stamps": {"en": "{units} stamps", "fr": "{units} tampons"},
    "wait": {
        "en": ", held pending until the customer's visit number {visits}",
        "fr": ", en attente jusqu'à la visite numéro {visits} du client",
    },
    "within": {"en": " within {days} days", "fr": " sous {days} jours"},
    "and": {"en": "; ", "fr": " ; "},
    "skipped": {"en": "; not applied: ", "fr": " ; non appliqué : "},
}


class Worded(Protocol):
    """A step or a refusal: its wording ``key`` and ``args``."""

    @property
    def key(self) -> str: ...

    @property
    def args(self) -> Args: ...


_INSTANTS = frozenset({"starts", "ends", "valid_from", "valid_until"})


def _iso(instant: str) -> str:
    return instant


@dataclass(frozen=True, slots=True)
class Reader:
    """How the reader writes what the rules give raw: amounts (``money``), instants
    (``when``, given ISO 8601), a promotion (its name in ``promotions``, by id, else its id),
    the merchant they stand at (``here``: its id; that merchant is then "the merchant", not
    an id) and its families (their labels in ``families``, by code, else their code). The default, ``PLAIN``, writes them as the engine's English ``detail`` does."""

    money: Money = format_eur
    when: When = _iso
    promotions: Mapping[str, str] = field(default_factory=dict)
    here: str | None = None
    families: Mapping[str, str] = field(default_factory=dict)  # here's: code → its label


PLAIN = Reader()

# The steps that name the merchant, said at that merchant (``Reader.here``): no id.
HERE: dict[str, dict[Language, str]] = {
    "rate.family": {
        "en": "taux client {rate} bp of family {family} (mode {mode})",
        "fr": "taux client de {rate} pb de la famille {family} (mode {mode})",
    },
    "rate.merchant": {
        "en": "taux client {rate} bp of the merchant (mode {mode})",
        "fr": "taux client de {rate} pb du commerce (mode {mode})",
    },
    "family.unknown": {
        "en": "family {family} is not in the merchant's catalogue: earns as a sale without "
        "family (no family rate, no family flag)",
        "fr": "la famille {family} n'est pas au catalogue du commerce : l'achat rapporte comme "
        "un achat sans famille (ni taux ni marque de famille)",
    },
}
# A promotion of the merchant the reader stands at; a promotion by its name.
_OWNER_HERE: dict[Language, str] = {"en": "the merchant's", "fr": "du commerce"}
_NAMED: dict[Language, str] = {"en": "“{}”", "fr": "« {} »"}


def _value(
    name: str, value: str | int, args: Mapping[str, str | int], lang: Language, reader: Reader
) -> str:
    if name.endswith("_cents") and isinstance(value, int):
        return reader.money(value)
    if name in _INSTANTS and value:
        value = reader.when(str(value))
    if name == "promotion" and str(value) in reader.promotions:
        return _NAMED[lang].format(reader.promotions[str(value)])
    if name == "family" and str(value) in reader.families:
        return reader.families[str(value)]
    if name == "owner" and value == "merchant" and args.get("merchant") == reader.here:
        return _OWNER_HERE[lang]
    if name in VALUES:
        return VALUES[name][str(value)][lang].format(**args)
    if name == "valid_from":
        none, some = _FROM[lang]
        return some.format(value) if value else none
    if name == "valid_until":
        none, some = _UNTIL[lang]
        return some.format(value) if value else none
    return str(value)


def fill(template: str, args: Args, lang: Language, reader: Reader = PLAIN) -> str:
    """``template`` filled with ``args`` as ``reader`` writes them, the words of a mode, a
    kind or an owner in ``lang``."""
    given = dict(args)
    return template.format(**{n: _value(n, v, given, lang, reader) for n, v in args})


def step(s: Worded, lang: Language, reader: Reader = PLAIN) -> str:
    """What one step says, in ``lang``."""
    here = reader.here is not None and dict(s.args).get("merchant") == reader.here
    table = HERE if here and s.key in HERE else STEPS
    return fill(table[s.key][lang], s.args, lang, reader)


def refusal(r: Worded, lang: Language, reader: Reader = PLAIN) -> str:
    """What one refusal says, in ``lang``."""
    return fill(REFUSALS[r.key][lang], r.args, lang, reader)


class Evaluated(Protocol):
    """What the sentence reads of an evaluation (``shared.rules.engine.Evaluation``)."""

    @property
    def kind(self) -> str: ...
    @property
    def reward_cents(self) -> int: ...
    @property
    def points(self) -> int: ...
    @property
    def stamps(self) -> int: ...
    @property
    def fee_cents(self) -> int: ...
    @property
    def taux_client_bps(self) -> int: ...
    @property
    def taux_uc_bps(self) -> int: ...
    @property
    def refused(self) -> bool: ...
    @property
    def steps(self) -> Iterable[StepLike]: ...
    @property
    def refusals(self) -> Iterable[Worded]: ...


class StepLike(Worded, Protocol):
    @property
    def rule(self) -> str: ...

    @property
    def applied(self) -> bool: ...


def sentence(
    ev: Evaluated,
    amount_cents: int,
    visits_needed: int,
    max_days: int | None,
    lang: Language = "en",
    reader: Reader = PLAIN,
) -> str:
    """One sentence saying what a sale earns and why: the applied rules, the promotions and
    families looked at but not applied, the refusals, the visit threshold and the fee."""
    say = {k: v[lang] for k, v in SENTENCE.items()}
    money = reader.money
    sale = say["sale"].format(amount=money(amount_cents))
    fee = say["fee"].format(fee=money(ev.fee_cents), uc=ev.taux_uc_bps)
    if ev.refused:
        why = say["and"].join(refusal(r, lang, reader) for r in ev.refusals)
        return say["nothing"].format(sale=sale, why=why, fee=fee)
    if ev.kind == "cagnotte":
        earned = say["cagnotte"].format(reward=money(ev.reward_cents), rate=ev.taux_client_bps)
    elif ev.kind == "points":
        earned = say["points"].format(units=ev.points)
    else:
        earned = say["stamps"].format(units=ev.stamps)
    wait = ""
    if visits_needed > 1:
        wait = say["wait"].format(visits=visits_needed)
        if max_days is not None:
            wait += say["within"].format(days=max_days)
    steps = list(ev.steps)
    why = say["and"].join(step(s, lang, reader) for s in steps if s.applied)
    skipped = [
        step(s, lang, reader)
        for s in steps
        if not s.applied and s.rule.startswith(("promotion.", "family."))
    ]
    if skipped:
        why += say["skipped"] + say["and"].join(skipped)
    return say["earns"].format(sale=sale, earned=earned, wait=wait, why=why, fee=fee)
