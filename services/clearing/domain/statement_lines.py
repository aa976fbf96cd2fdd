"""A statement's detail lines as merchants read them (pure: no I/O): one line per journal
entry of the merchant's period, their totals, and their cells in the CSV.

Each line says who (title, last and first name, card), what (the purchase, the product
family's label), at which rate and why (the rate applied and the rule that set it: the
family's, the merchant's or the network's rate, a promotion, the books' cap), and what it did
to the customer's cagnotte, to the operator's fees and to the merchant's net.

The totals are the report's columns, each under the column it sums: the line "TOTAL" gives
SOMME DES ACHATS under VALEUR, SOMME DES CAGNOTTAGES under CAGNOTTE, FRAIS À REVERSER À L'UC
under FRAIS UC and the NET; then one line per other kind of line present (returns,
décagnottages, spending of stored value, loads, partnerships, adjustments, sponsorship
rewards) with the report's
column of that kind. A treasurer can tick every figure of the report off the details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.clearing.domain.periods import period_label
from shared import tabular
from shared.clock import PARIS
from shared.xlsx import Column

DETAILS = (
    Column("DATE", "datetime", 17),
    Column("TYPE", "text", 22),
    Column("CIVILITE", "text", 9),
    Column("NOM", "text", 20),
    Column("PRENOM", "text", 16),
    Column("N° CARTE", "text", 18),
    Column("VALEUR", "cents", 12),
    Column("UNIVERS", "text", 18),
    Column("TAUX (%)", "cents", 9),  # basis points shown as a percentage: 250 → 2.50
    Column("ORIGINE DU TAUX", "text", 18),
    Column("CAGNOTTE", "cents", 12),
    Column("FRAIS UC", "cents", 12),
    Column("NET", "cents", 12),
    Column("REMARQUE", "text", 40),
)
COLUMN = {c.header: i for i, c in enumerate(DETAILS)}
VALUE, CAGNOTTE, FEES, NET = (COLUMN[h] for h in ("VALEUR", "CAGNOTTE", "FRAIS UC", "NET"))

TYPE_NAMES = {
    "accrual": "Achat",
    "reversal": "Retour",
    "redemption": "Décagnottage",
    "stored_value_spend": "Paiement avoir",
    "load": "Chargement",
    "partner_share": "Partenariat",
    "merchant_adjustment": "Régularisation",
    "sponsorship": "Parrainage",
}
DETAIL_KINDS = list(TYPE_NAMES)
# A sponsorship reward's note (cards'), as the statement says whose reward it is.
SPONSORSHIP_NOTES = {
    "sponsorship reward (sponsor)": "récompense du parrain",
    "sponsorship reward (newcomer)": "récompense du filleul",
    "sponsorship reward taken back (sponsor)": "récompense du parrain reprise",
    "sponsorship reward taken back (newcomer)": "récompense du filleul reprise",
}
# The titles of crm's file (M, MME, MX), written as a French statement writes them; a title
# brought otherwise (a customer file import) is shown as it was given.
CIVILITIES = {"M": "M.", "MME": "Mme", "MX": "Mx"}


def civility(title: str | None) -> str | None:
    return CIVILITIES.get(title, title) if title is not None else None


# The rule that set a line's rate (shared.rules.engine.RATE_SOURCES, and a partnership's), as
# a treasurer reads it.
RATE_SOURCES = {
    "rate.family": "taux de la famille",
    "rate.merchant": "taux du commerçant",
    "rate.network": "taux du réseau",
    "promotion.override": "promotion",
    "promotion.multiplier": "promotion (multiplicateur)",
    "promotion.birthday": "offre anniversaire du client",
    "rate.max": "plafond de 100 %",
    "legal.book_cap": "plafond légal livres (5 %)",
    "partnership": "partenariat",
}


def source_words(source: str) -> str:
    """The rule that set a line's rate as a treasurer reads it; a customer's status level
    (``level.<code>``, issue 14) by its code."""
    if source.startswith("level."):
        return f"statut client {source.removeprefix('level.')}"
    return RATE_SOURCES.get(source, source)


def percent(bps: int) -> str:
    """Basis points as a French percentage: 250 → "2,5 %", 1000 → "10 %"."""
    whole, rest = divmod(bps, 100)
    return (f"{whole},{rest:02d}".rstrip("0") if rest else str(whole)) + " %"


def euros_fr(cents: int) -> str:
    """Cents as a French amount in words of a remark: 5000 → "50,00 €"."""
    return f"{tabular.euros(cents)} €".replace(".", ",")


def _partner_rate(r: Mapping[str, Any]) -> int | None:
    """A partner share's rate: its column, or for a share booked before it had one, its note
    ("500 bps")."""
    if r["rate_bps"] is not None:
        return int(r["rate_bps"])
    note = (r["note"] or "").removesuffix(" bps")
    return int(note) if note.isdigit() else None


def detail_row(r: Mapping[str, Any], starts: datetime, ends: datetime) -> list[object]:
    """One line of the detail of the period from ``starts`` to ``ends`` (UTC): VALEUR is the
    purchase (negative for a return and for a spending of stored value, as the report shows
    them; the revenue base of a partner share), CAGNOTTE what the line did to the customer's
    cagnotte, NET what it adds to the merchant's net."""
    kind = r["kind"]
    value: int | None = None
    cagnotte: int | None = None
    fee: int | None = None
    rate, source = r["rate_bps"], r["rate_source"]
    notes: list[str] = []
    if kind == "accrual":
        value, cagnotte, fee = r["purchase_cents"], r["reward_cents"], r["fee_cents"]
    elif kind == "reversal":
        value, cagnotte, fee = -r["amount_cents"], -r["reward_cents"], -r["fee_cents"]
    elif kind == "redemption":
        cagnotte = -r["amount_cents"]
    elif kind == "stored_value_spend":
        value = -r["amount_cents"]
    elif kind == "load":
        value = r["amount_cents"]
    elif kind == "sponsorship":  # a reward of the merchant's own sponsorship programme
        cagnotte = r["amount_cents"]
        notes.append(SPONSORSHIP_NOTES.get(r["note"], r["note"] or "parrainage"))
    elif kind == "partner_share":
        value, rate, source = r["purchase_cents"], _partner_rate(r), "partnership"
        base = euros_fr(r["purchase_cents"] or 0)
        who = r["partner_name"] or "partenaire"
        shown = percent(rate) if rate is not None else "?"
        notes.append(f"{who} : {shown} de {base} d'achats de ses membres")
    if kind == "merchant_adjustment":
        notes.append(f"période {period_label(r['adjusts_period'])}: {r['note'] or ''}")
    if not starts <= r["occurred_at"] < ends and kind != "merchant_adjustment":
        notes.append(
            "reçu après clôture le " + r["booked_at"].astimezone(PARIS).strftime("%d/%m/%Y")
        )
    return [
        r["occurred_at"],
        TYPE_NAMES[kind],
        civility(r["title"]),
        r["last_name"],
        r["first_name"],
        r["card_number"],
        value,
        r["product_family_label"] or r["product_family"],
        rate,
        source_words(source) if source else None,
        cagnotte,
        fee,
        r["merchant_cents"],
        "; ".join(notes) or None,
    ]


# The lines after "TOTAL": per kind of line, the column that is the report's for that kind.
_BY_KIND = (
    ("Retour", "Retours", VALUE),  # SOMME DES RETOURS
    ("Décagnottage", "Décagnottages", CAGNOTTE),  # SOMME DES DÉCAGNOTTAGES
    ("Paiement avoir", "Paiements en avoir", VALUE),  # PAIEMENTS EN AVOIR
    ("Chargement", "Chargements", VALUE),  # CHARGEMENTS
    ("Partenariat", "Partenariats", NET),  # PARTENARIATS
    ("Régularisation", "Régularisations", NET),  # RÉGULARISATIONS
    ("Parrainage", "Parrainages", CAGNOTTE),  # the sponsorship rewards the merchant funds
)
_TYPE = COLUMN["TYPE"]


class Totals:
    """The details' totals: the line "TOTAL" (SOMME DES ACHATS under VALEUR, SOMME DES
    CAGNOTTAGES under CAGNOTTE, the fees under FRAIS UC, the NET), then one line per other kind
    present, each under the column that kind's report column sums."""

    def __init__(self) -> None:
        self.count = 0
        self.counts: dict[str, int] = {}
        self.sums: dict[tuple[str, int], int] = {}

    def add(self, rows: Sequence[Sequence[object]]) -> None:
        self.count += len(rows)
        for r in rows:
            kind = str(r[_TYPE])
            self.counts[kind] = self.counts.get(kind, 0) + 1
            for i in (VALUE, CAGNOTTE, FEES, NET):
                if isinstance(v := r[i], int):
                    self.sums[kind, i] = self.sums.get((kind, i), 0) + v

    def _sum(self, kinds: Sequence[str], column: int) -> int:
        return sum(self.sums.get((k, column), 0) for k in kinds)

    def rows(self) -> list[list[object]]:
        # The cagnottages and fees of the report are those of the purchases less the returns'.
        sales = ("Achat", "Retour")
        total: list[object] = [None] * len(DETAILS)
        total[_TYPE] = f"TOTAL ({self.count} ligne{'s' if self.count > 1 else ''})"
        total[VALUE] = self._sum(("Achat",), VALUE)
        total[CAGNOTTE] = self._sum(sales, CAGNOTTE)
        total[FEES] = self._sum(sales, FEES)
        total[NET] = self._sum(list(self.counts), NET)
        out = [total]
        for kind, label, column in _BY_KIND:
            if n := self.counts.get(kind):
                line: list[object] = [None] * len(DETAILS)
                line[_TYPE] = f"{label} ({n})"
                line[column] = self._sum((kind,), column)
                out.append(line)
        return out


def csv_cells(row: Sequence[object], columns: Sequence[Column] = DETAILS) -> list[object]:
    """Cells for the one CSV writer (shared/tabular.py), in its ``EXCEL_FR`` dialect: amounts
    our code computed stay numbers (a refund is the number -12,34, which a SUM adds up), the
    card number stays text (``tabular.Identifier``), every other text, a customer's name or a
    product family a terminal sent included, is neutralised there."""
    out: list[object] = []
    for i, v in enumerate(row):
        if v is None:
            out.append("")
        elif isinstance(v, datetime):
            out.append(v.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"))
        elif isinstance(v, int) and columns[i].kind == "cents":
            out.append(tabular.euros(v))
        elif isinstance(v, int):
            out.append(v)
        elif columns[i].header == "N° CARTE" and isinstance(v, str) and v.isascii() and v.isdigit():
            out.append(tabular.Identifier(v))
        else:
            out.append(str(v))
    return out
