"""Statements (F18) as merchants read them (pure: no I/O): the document the API answers and
the closes freeze, and the layout of its exports (the report's columns, the detail lines,
their totals).

A statement is read off the journal entries of its period (one table: the journal and the
detail lines cannot disagree). A closed period's statements are frozen at the close; an open
period's are computed when asked, marked ``provisional``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from uuid import UUID

from services.clearing.domain import figures as fig
from services.clearing.domain.figures import Figures
from services.clearing.domain.periods import period_end, period_label
from shared.xlsx import Column

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    id: UUID
    association_id: UUID
    name: str
    created_on: date | None
    closed_on: date | None
    taux_uc_bps: int | None
    taux_client_bps: int | None


def compose(
    association_id: UUID,
    period: date,
    status: str,
    all_figures: dict[UUID, Figures],
    infos: Mapping[UUID, MerchantInfo],
    adjustments: Mapping[UUID, list[dict[str, Any]]],
) -> dict[UUID, dict[str, Any]]:
    """The statement of each merchant of ``all_figures``, as the API answers it."""
    ranks = fig.ranking(all_figures)
    total = fig.totals(list(all_figures.values())).as_dict()
    out: dict[UUID, dict[str, Any]] = {}
    for mid, f in all_figures.items():
        info = infos.get(mid)
        out[mid] = {
            "association_id": str(association_id),
            "merchant_id": str(mid),
            "merchant_name": info.name if info else f"merchant {mid}",
            "period": period_label(period),
            "period_start": period.isoformat(),
            "period_end": period_end(period).isoformat(),
            "status": status,
            "created_on": info.created_on.isoformat() if info and info.created_on else None,
            "closed_on": info.closed_on.isoformat() if info and info.closed_on else None,
            "taux_uc_bps": info.taux_uc_bps if info else None,
            "taux_client_bps": info.taux_client_bps if info else None,
            "figures": f.as_dict(),
            "adjustments": adjustments.get(mid, []),
            "association": {"merchants": len(all_figures), "totals": total},
            "ranking": {name: asdict(r) for name, r in ranks[mid].items()},
        }
    return out


def adjustment_line(r: Mapping[str, Any]) -> dict[str, Any]:
    """A ``merchant_adjustment`` entry as its statement lists it."""
    return {
        "adjustment_id": str(r["reference_id"]),
        "adjusts_period": period_label(r["adjusts_period"]),
        "amount_cents": r["merchant_cents"],
        "reason": r["note"],
        "booked_at": r["occurred_at"].isoformat(),
    }


def rate(bps: int | None) -> str:
    """Basis points as the percentage merchants read ("0.5", "2.5"), without floats."""
    if bps is None:
        return "-"
    whole, rest = divmod(bps, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") if rest else str(whole)


# --- exports --------------------------------------------------------------------------------

SUMMARY = (
    Column("COMPTE", "text", 28),
    Column("CRÉÉ LE", "date", 12),
    Column("FERMÉ LE", "date", 12),
    Column("TAUX UC / CLIENT", "text", 16),
    Column("NB D'ACHATS", "int", 12),
    Column("SOMME DES ACHATS", "cents", 16),
    Column("SOMME DES CAGNOTTAGES", "cents", 16),
    Column("FRAIS À REVERSER À L'UC", "cents", 16),
    Column("SOMME DES FRAIS ET CAGNOTTAGES", "cents", 18),
    Column("NB DE DÉCAGNOTTAGES", "int", 14),
    Column("SOMME DES DÉCAGNOTTAGES", "cents", 16),
    Column("NB DE RETOURS", "int", 12),
    Column("SOMME DES RETOURS", "cents", 14),
    Column("PAIEMENTS EN AVOIR", "cents", 14),
    Column("CHARGEMENTS", "cents", 14),
    Column("PARTENARIATS", "cents", 14),
    Column("RÉGULARISATIONS", "cents", 14),
    Column("NET À PAYER (+) / À RECEVOIR (-)", "cents", 20),
)
RANKING = (
    Column("CLASSEMENT", "text", 28),
    Column("RANG", "int", 8),
    Column("SUR", "int", 8),
    Column("MIN", "cents", 14),
    Column("MAX", "cents", 14),
    Column("MOYENNE", "cents", 14),
)
RANK_NAMES = {
    "purchases_cents": "Somme des achats",
    "purchases_count": "Nb d'achats",
    "cagnottages_cents": "Somme des cagnottages",
    "redemptions_cents": "Somme des décagnottages",
}


def summary_row(doc: Mapping[str, Any]) -> list[object]:
    f = doc["figures"]
    return [
        doc["merchant_name"],
        date.fromisoformat(doc["created_on"]) if doc["created_on"] else None,
        date.fromisoformat(doc["closed_on"]) if doc["closed_on"] else None,
        f"{rate(doc['taux_uc_bps'])} / {rate(doc['taux_client_bps'])}",
        f["purchases_count"],
        f["purchases_cents"],
        f["cagnottages_cents"],
        f["fees_cents"],
        f["fees_and_cagnottages_cents"],
        f["redemptions_count"],
        -f["redemptions_cents"],
        f["returns_count"],
        -f["returns_cents"],
        -f["stored_value_spent_cents"],
        f["loads_cents"],
        f["partner_share_cents"],
        f["adjustments_cents"],
        f["net_cents"],
    ]


def association_row(doc: Mapping[str, Any]) -> list[object]:
    """The association's totals, in the columns of a merchant's row."""
    assoc = doc["association"]
    return summary_row(
        {
            **doc,
            "merchant_name": f"Association ({assoc['merchants']} commerces)",
            "created_on": None,
            "closed_on": None,
            "taux_uc_bps": None,
            "taux_client_bps": None,
            "figures": assoc["totals"],
        }
    )


def ranking_rows(doc: Mapping[str, Any]) -> list[list[object]]:
    """One row per figure ranked: the shop's rank, and the association's MIN, MAX and MOYENNE
    of it. A count's are numbers of purchases, written in the same columns as the amounts
    (two decimals: the average of 2, 1 and 1 purchases is 1.33, not 1)."""
    out: list[list[object]] = []
    for name, r in doc["ranking"].items():
        if name.endswith("_cents"):
            low, high, average = r["min"], r["max"], r["average"]
        else:  # hundredths in a column of cents: 3 purchases show as 3.00
            # A statement frozen before the exact average was kept has the rounded one.
            exact = r.get("average_hundredths")
            low, high = r["min"] * 100, r["max"] * 100
            average = exact if exact is not None else r["average"] * 100
        out.append([RANK_NAMES[name], r["rank"], r["of"], low, high, average])
    return out


def filename(doc: Mapping[str, Any], ext: str) -> str:
    return f"releve-{doc['merchant_id']}-{doc['period']}.{ext}"
