"""A partner association's statement of a period (F19; pure: no I/O): what each merchant
gives back of its members' purchases (the revenue base, the partnership's rate, the amount),
the members' donations of their own rewards, and what the partner receives in all.

Once the period is closed its shares are the ones the close booked in the journal; before,
they are reckoned as the close would (``provisional``) from the members' purchases so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from services.clearing.domain.journal import share_of
from services.clearing.domain.periods import period_end, period_label
from services.clearing.domain.statement_lines import civility
from shared.xlsx import Column

Row = Mapping[str, Any]


def compose(
    partner: Row,
    period: date,
    status: str,
    shares: Iterable[Row],
    donations: Iterable[Row],
) -> dict[str, Any]:
    """The statement as the API answers it. ``shares``: (merchant_id, merchant_name,
    revenue_cents, rate_bps, and amount_cents once booked); ``donations``: the donation
    entries (their amounts negative: taken from the members' cagnottes)."""
    share_lines = []
    for s in shares:
        base = s["revenue_cents"]
        amount = s.get("amount_cents")
        if amount is None:
            amount = share_of(max(base, 0), s["rate_bps"])
        if amount == 0 and base <= 0:
            continue
        share_lines.append(
            {
                "merchant_id": str(s["merchant_id"]),
                "merchant_name": s["merchant_name"] or f"merchant {s['merchant_id']}",
                "revenue_cents": base,
                "rate_bps": s["rate_bps"],
                "amount_cents": amount,
            }
        )
    share_lines.sort(key=lambda x: (x["merchant_name"], x["merchant_id"]))
    gifts = [
        {
            "occurred_at": d["occurred_at"].isoformat(),
            "account_id": str(d["account_id"]),
            "title": d["title"],
            "last_name": d["last_name"],
            "first_name": d["first_name"],
            "card_number": d["card_number"],
            "amount_cents": -d["amount_cents"],
        }
        for d in donations
    ]
    shares_cents = sum(x["amount_cents"] for x in share_lines)
    donations_cents = sum(x["amount_cents"] for x in gifts)
    return {
        "partner_id": str(partner["id"]),
        "partner_name": partner["name"],
        "association_id": str(partner["association_id"]),
        "period": period_label(period),
        "period_start": period.isoformat(),
        "period_end": period_end(period).isoformat(),
        "status": status,
        "shares": share_lines,
        "donations": gifts,
        "totals": {
            "revenue_cents": sum(x["revenue_cents"] for x in share_lines),
            "shares_cents": shares_cents,
            "donations_count": len(gifts),
            "donations_cents": donations_cents,
            "total_cents": shares_cents + donations_cents,
        },
    }


# --- exports --------------------------------------------------------------------------------

SUMMARY = (
    Column("PARTENAIRE", "text", 28),
    Column("NB DE COMMERCES", "int", 14),
    Column("ACHATS DES MEMBRES", "cents", 18),
    Column("REVERSEMENTS DES COMMERCES", "cents", 20),
    Column("NB DE DONS", "int", 10),
    Column("SOMME DES DONS", "cents", 14),
    Column("TOTAL À RECEVOIR", "cents", 16),
)
LINES = (
    Column("TYPE", "text", 24),
    Column("DATE", "datetime", 17),
    Column("COMMERCE", "text", 24),
    Column("CIVILITE", "text", 9),
    Column("NOM", "text", 20),
    Column("PRENOM", "text", 16),
    Column("N° CARTE", "text", 18),
    Column("ACHATS DES MEMBRES", "cents", 16),
    Column("TAUX (%)", "cents", 9),  # basis points as a percentage: 500 → 5.00
    Column("MONTANT", "cents", 12),
)


def summary_row(doc: Mapping[str, Any]) -> list[object]:
    t = doc["totals"]
    return [
        doc["partner_name"],
        len(doc["shares"]),
        t["revenue_cents"],
        t["shares_cents"],
        t["donations_count"],
        t["donations_cents"],
        t["total_cents"],
    ]


def lines(doc: Mapping[str, Any]) -> list[list[object]]:
    """A line per merchant's share (its base, rate, amount), one per donation, then the
    totals: the shares', the donations' and what the partner receives."""
    out: list[list[object]] = []
    for s in doc["shares"]:
        out.append(
            [
                "Partenariat",
                None,
                s["merchant_name"],
                None,
                None,
                None,
                None,
                s["revenue_cents"],
                s["rate_bps"],
                s["amount_cents"],
            ]
        )
    for d in doc["donations"]:
        out.append(
            [
                "Don",
                datetime.fromisoformat(d["occurred_at"]),
                None,
                civility(d["title"]),
                d["last_name"],
                d["first_name"],
                d["card_number"],
                None,
                None,
                d["amount_cents"],
            ]
        )
    return out


def totals_rows(doc: Mapping[str, Any]) -> list[list[object]]:
    t = doc["totals"]
    blank: list[object] = [None] * (len(LINES) - 2)  # between the label and the amount
    return [
        [f"Reversements ({len(doc['shares'])})", *blank[:6], t["revenue_cents"], None,
         t["shares_cents"]],
        [f"Dons ({t['donations_count']})", *blank, t["donations_cents"]],
        ["TOTAL À RECEVOIR", *blank, t["total_cents"]],
    ]  # fmt: skip


def filename(doc: Mapping[str, Any], ext: str) -> str:
    return f"releve-partenaire-{doc['partner_id']}-{doc['period']}.{ext}"
