"""Statements (F18): a merchant's figures for a period, the association's totals and the shop's
rank, and the detail lines, exported as XLSX or CSV page by page as the database reads them.

A statement is read off the journal entries of its period (one table: the ledger and the
detail lines cannot disagree). A closed period's statements are frozen in ``statements`` at
the close; an open period's are computed when asked, marked ``provisional``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from services.clearing import domain
from services.clearing.domain import Figures
from shared import http, tabular
from shared.http import Problem, start_download
from shared.xlsx import Column, XlsxWriter


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    id: UUID
    association_id: UUID
    name: str
    created_on: date | None
    closed_on: date | None
    taux_uc_bps: int | None
    taux_client_bps: int | None


_FIGURES = """
SELECT merchant_id,
    count(*) FILTER (WHERE kind = 'accrual') AS purchases_count,
    coalesce(sum(purchase_cents) FILTER (WHERE kind = 'accrual'), 0) AS purchases_cents,
    coalesce(sum(reward_cents) FILTER (WHERE kind = 'accrual'), 0)
      - coalesce(sum(reward_cents) FILTER (WHERE kind = 'reversal'), 0) AS cagnottages_cents,
    coalesce(sum(fee_cents) FILTER (WHERE kind = 'accrual'), 0)
      - coalesce(sum(fee_cents) FILTER (WHERE kind = 'reversal'), 0) AS fees_cents,
    count(*) FILTER (WHERE kind = 'reversal') AS returns_count,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'reversal'), 0) AS returns_cents,
    count(*) FILTER (WHERE kind = 'redemption') AS redemptions_count,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'redemption'), 0) AS redemptions_cents,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'stored_value_spend'), 0)
      AS stored_value_spent_cents,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'load'), 0) AS loads_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind = 'partner_share'), 0)
      AS partner_share_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind = 'merchant_adjustment'), 0)
      AS adjustments_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind <> 'settlement'), 0) AS net_cents
FROM journal_entries
WHERE association_id = $1 AND period = $2 AND merchant_id IS NOT NULL
GROUP BY merchant_id
"""


async def merchants(conn: asyncpg.Connection, association_id: UUID) -> dict[UUID, MerchantInfo]:
    rows = await conn.fetch("SELECT * FROM merchants WHERE association_id = $1", association_id)
    return {r["id"]: _info(r) for r in rows}


def _info(r: asyncpg.Record) -> MerchantInfo:
    return MerchantInfo(
        r["id"],
        r["association_id"],
        r["name"],
        r["created_at"].astimezone(domain.PARIS).date(),
        r["closed_on"],
        r["taux_uc_bps"],
        r["taux_client_bps"],
    )


async def figures(
    conn: asyncpg.Connection, association_id: UUID, period: date
) -> dict[UUID, Figures]:
    """Every merchant's figures for the period: the merchants with entries, and the open
    ones that had none (their shop still ranks, at zero)."""
    rows = await conn.fetch(_FIGURES, association_id, period)
    out = {
        r["merchant_id"]: Figures(
            **{k: int(v) for k, v in r.items() if k != "merchant_id"}
        )  # sums are numeric
        for r in rows
    }
    for mid in await conn.fetch(
        """SELECT id FROM merchants WHERE association_id = $1 AND created_at < $2
           AND (closed_on IS NULL OR closed_on >= $3)""",
        association_id,
        datetime.combine(domain.next_month(period), datetime.min.time(), domain.PARIS),
        period,
    ):
        out.setdefault(mid["id"], Figures())
    return out


def _rate(bps: int | None) -> str:
    """Basis points as the percentage merchants read ("0.5", "2.5"), without floats."""
    if bps is None:
        return "-"
    whole, rest = divmod(bps, 100)
    return f"{whole}.{rest:02d}".rstrip("0").rstrip(".") if rest else str(whole)


async def documents(
    conn: asyncpg.Connection,
    association_id: UUID,
    period: date,
    status: str,
    merchant_id: UUID | None = None,
) -> dict[UUID, dict[str, Any]]:
    """The statement of each merchant of the association, as the API answers it; with
    ``merchant_id``, that merchant's too, even with no activity and unknown here yet."""
    all_figures = await figures(conn, association_id, period)
    if merchant_id is not None:
        all_figures.setdefault(merchant_id, Figures())
    infos = await merchants(conn, association_id)
    adjustments = await adjustments_of(conn, association_id, period)
    ranks = domain.ranking(all_figures)
    total = domain.totals(list(all_figures.values())).as_dict()
    out: dict[UUID, dict[str, Any]] = {}
    for mid, f in all_figures.items():
        info = infos.get(mid)
        out[mid] = {
            "association_id": str(association_id),
            "merchant_id": str(mid),
            "merchant_name": info.name if info else f"merchant {mid}",
            "period": domain.period_label(period),
            "period_start": period.isoformat(),
            "period_end": domain.period_end(period).isoformat(),
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


async def adjustments_of(
    conn: asyncpg.Connection, association_id: UUID, period: date
) -> dict[UUID, list[dict[str, Any]]]:
    rows = await conn.fetch(
        """SELECT merchant_id, reference_id, adjusts_period, merchant_cents, note, occurred_at
           FROM journal_entries WHERE association_id = $1 AND period = $2
           AND kind = 'merchant_adjustment' ORDER BY occurred_at, id""",
        association_id,
        period,
    )
    out: dict[UUID, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["merchant_id"], []).append(
            {
                "adjustment_id": str(r["reference_id"]),
                "adjusts_period": domain.period_label(r["adjusts_period"]),
                "amount_cents": r["merchant_cents"],
                "reason": r["note"],
                "booked_at": r["occurred_at"].isoformat(),
            }
        )
    return out


async def association_of(conn: asyncpg.Connection, merchant_id: UUID) -> UUID:
    aid: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1", merchant_id
    ) or await conn.fetchval(
        "SELECT association_id FROM journal_entries WHERE merchant_id = $1 LIMIT 1", merchant_id
    )
    if aid is None:
        raise Problem(404, "Unknown merchant", f"clearing knows no merchant {merchant_id}")
    return aid


async def statement(conn: asyncpg.Connection, merchant_id: UUID, period: date) -> dict[str, Any]:
    """A merchant's statement: frozen if its period is closed, computed (provisional) if not."""
    frozen = await conn.fetchval(
        "SELECT figures FROM statements WHERE merchant_id = $1 AND period = $2",
        merchant_id,
        period,
    )
    if frozen is not None:
        doc: dict[str, Any] = frozen
        return doc
    aid = await association_of(conn, merchant_id)
    closed = await conn.fetchval("SELECT closed_through FROM books WHERE association_id = $1", aid)
    if closed is not None and period <= closed:
        raise Problem(
            404,
            "No statement",
            f"merchant {merchant_id} had no activity in closed period {domain.period_label(period)}",
        )
    docs = await documents(conn, aid, period, "provisional", merchant_id)
    return docs[merchant_id]


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
DETAILS = (
    Column("DATE", "datetime", 17),
    Column("TYPE", "text", 14),
    Column("CIVILITE", "text", 9),
    Column("NOM", "text", 20),
    Column("PRENOM", "text", 16),
    Column("N° CARTE", "text", 18),
    Column("VALEUR", "cents", 12),
    Column("UNIVERS", "text", 14),
    Column("CAGNOTTE", "cents", 12),
    Column("FRAIS UC", "cents", 12),
    Column("NET", "cents", 12),
    Column("REMARQUE", "text", 30),
)
RANK_NAMES = {
    "purchases_cents": "Somme des achats",
    "purchases_count": "Nb d'achats",
    "cagnottages_cents": "Somme des cagnottages",
    "redemptions_cents": "Somme des décagnottages",
}
TYPE_NAMES = {
    "accrual": "Achat",
    "reversal": "Retour",
    "redemption": "Décagnottage",
    "stored_value_spend": "Paiement avoir",
    "load": "Chargement",
    "partner_share": "Partenariat",
    "merchant_adjustment": "Régularisation",
}
_DETAIL_KINDS = list(TYPE_NAMES)
# One page of the details after the line ($4, $5): keyset pagination in the order of the
# index on (merchant_id, period, occurred_at). The plain "occurred_at >= $4" is what the index
# can seek to; the row comparison then skips the lines of that instant already sent.
_DETAILS = """
SELECT e.id, e.occurred_at, e.kind, h.title, h.last_name, h.first_name, e.card_number,
       e.purchase_cents, e.amount_cents, e.product_family, e.reward_cents, e.fee_cents,
       e.merchant_cents, e.adjusts_period, e.note, e.booked_at, p.name AS partner_name
FROM journal_entries e
LEFT JOIN holders h ON h.account_id = e.account_id
LEFT JOIN partners p ON p.id = e.partner_id
WHERE e.merchant_id = $1 AND e.period = $2 AND e.kind = ANY($3)
  AND e.occurred_at >= $4 AND (e.occurred_at, e.id) > ($4, $5)
ORDER BY e.occurred_at, e.id
LIMIT $6
"""


def summary_row(doc: dict[str, Any]) -> list[object]:
    f = doc["figures"]
    return [
        doc["merchant_name"],
        date.fromisoformat(doc["created_on"]) if doc["created_on"] else None,
        date.fromisoformat(doc["closed_on"]) if doc["closed_on"] else None,
        f"{_rate(doc['taux_uc_bps'])} / {_rate(doc['taux_client_bps'])}",
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


def detail_row(r: asyncpg.Record, starts: datetime, ends: datetime) -> list[object]:
    """One line of the detail of the period from ``starts`` to ``ends`` (UTC): VALEUR is the
    purchase (negative for a return, the amount for a spend or a load), CAGNOTTE what the line
    did to the customer's cagnotte, NET what it adds to the merchant's net."""
    kind = r["kind"]
    value: int | None
    cagnotte: int | None = None
    fee: int | None = None
    if kind == "accrual":
        value, cagnotte, fee = r["purchase_cents"], r["reward_cents"], r["fee_cents"]
    elif kind == "reversal":
        value, cagnotte, fee = -r["amount_cents"], -r["reward_cents"], -r["fee_cents"]
    elif kind == "redemption":
        value, cagnotte = None, -r["amount_cents"]
    elif kind in ("stored_value_spend", "load"):
        value = r["amount_cents"]
    else:
        value = None
    notes: list[str] = []
    if kind == "partner_share" and r["partner_name"]:
        notes.append(r["partner_name"])
    if kind == "merchant_adjustment":
        notes.append(f"période {domain.period_label(r['adjusts_period'])}: {r['note'] or ''}")
    if not starts <= r["occurred_at"] < ends and kind != "merchant_adjustment":
        notes.append(
            "reçu après clôture le " + r["booked_at"].astimezone(domain.PARIS).strftime("%d/%m/%Y")
        )
    return [
        r["occurred_at"],
        TYPE_NAMES[kind],
        r["title"],
        r["last_name"],
        r["first_name"],
        r["card_number"],
        value,
        r["product_family"],
        cagnotte,
        fee,
        r["merchant_cents"],
        "; ".join(notes) or None,
    ]


_EARLIEST = datetime.min.replace(tzinfo=UTC)


async def detail_rows(
    conn: asyncpg.Connection, merchant_id: UUID, period: date, batch: int = 5_000
) -> AsyncGenerator[list[list[object]], None]:
    """The detail lines, in batches of pages (a transaction keeps them one snapshot)."""
    # In UTC, as the database gives the moments: compared without a time zone lookup a line.
    starts = datetime.combine(period, time(), domain.PARIS).astimezone(UTC)
    ends = datetime.combine(domain.next_month(period), time(), domain.PARIS).astimezone(UTC)
    # Asked for the whole month through one cursor, the planner scans the whole table and
    # sorts before the first line (2.7 s for the largest merchant of bench/clearing.py), and
    # nothing else can happen meanwhile. A page at a time the index is the plan: each comes
    # at once, and the next one is asked for before this one is handed out, so the database
    # and this process work at the same time.

    async def page(after: tuple[datetime, int]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(
            _DETAILS, merchant_id, period, _DETAIL_KINDS, *after, batch
        )
        return rows

    pending = asyncio.ensure_future(page((_EARLIEST, 0)))
    try:
        while rows := await pending:
            if len(rows) == batch:
                pending = asyncio.ensure_future(page((rows[-1]["occurred_at"], rows[-1]["id"])))
                await asyncio.sleep(0)  # the task sends its query before this page is worked on
            yield [detail_row(r, starts, ends) for r in rows]
            if len(rows) < batch:
                break
    finally:
        # A reader that stopped early (the client went away): the page under way is let
        # finish, so the connection is left between two commands, whatever comes next.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
            await pending


class _Totals:
    """The details' totals line: the number of lines and the sums of VALEUR, CAGNOTTE, NET."""

    SUMMED = (6, 8, 10)

    def __init__(self) -> None:
        self.count = 0
        self.sums = dict.fromkeys(self.SUMMED, 0)

    def add(self, rows: Sequence[Sequence[object]]) -> None:
        self.count += len(rows)
        for r in rows:
            for i in self.SUMMED:
                if isinstance(v := r[i], int):
                    self.sums[i] += v

    def row(self, label: str) -> list[object]:
        out: list[object] = [None] * len(DETAILS)
        out[1] = f"{label}{self.count} lignes"
        for i, total in self.sums.items():
            out[i] = total
        return out


def _filename(doc: dict[str, Any], ext: str) -> str:
    return f"releve-{doc['merchant_id']}-{doc['period']}.{ext}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def stream_xlsx(
    request: web.Request, conn: asyncpg.Connection, doc: dict[str, Any]
) -> web.StreamResponse:
    """Sheet "Rapport": the merchant's row, the association's totals, the ranking; sheet
    "Détails": every line of the period and their totals. Sent as it is written."""
    period = date.fromisoformat(doc["period_start"])
    response = await start_download(request, XLSX, _filename(doc, "xlsx"))
    w = XlsxWriter()
    start, end = period.strftime("%d/%m/%Y"), domain.period_end(period).strftime("%d/%m/%Y")
    status = "" if doc["status"] == "closed" else " (provisoire)"
    w.sheet("Rapport", SUMMARY, (f"Rapport du {start} au {end}{status}",))
    w.row(summary_row(doc))
    assoc = doc["association"]
    association_row = {
        **doc,
        "merchant_name": f"Association ({assoc['merchants']} commerces)",
        "created_on": None,
        "closed_on": None,
        "taux_uc_bps": None,
        "taux_client_bps": None,
        "figures": assoc["totals"],
    }
    w.total_row(summary_row(association_row))
    w.sheet("Classement", RANKING, (f"Classement dans l'association du {start} au {end}",))
    for name, r in doc["ranking"].items():
        money = name.endswith("_cents")
        w.row(
            [
                RANK_NAMES[name],
                r["rank"],
                r["of"],
                *((r["min"], r["max"], r["average"]) if money else (None, None, None)),
            ]
        )
    w.sheet("Détails", DETAILS, (f"Détails du {start} au {end}",))
    totals = _Totals()
    async for rows in detail_rows(conn, UUID(doc["merchant_id"]), period):
        w.rows(rows)
        totals.add(rows)
        await response.write(w.take())
    w.total_row(totals.row(""))
    await response.write(w.close())
    await response.write_eof()
    return response


async def stream_csv(
    request: web.Request, conn: asyncpg.Connection, doc: dict[str, Any]
) -> web.StreamResponse:
    """The detail lines as CSV (UTF-8, comma, amounts in euros with a dot), then a totals
    line."""
    period = date.fromisoformat(doc["period_start"])

    async def lines() -> AsyncIterator[list[object]]:
        totals = _Totals()
        async for rows in detail_rows(conn, UUID(doc["merchant_id"]), period):
            totals.add(rows)
            for r in rows:
                yield _csv_cells(r)
        yield _csv_cells(totals.row("TOTAL "))

    return await http.stream_csv(
        request, _filename(doc, "csv"), [c.header for c in DETAILS], lines()
    )


def _csv_cells(row: Sequence[object]) -> list[object]:
    """Cells for the one CSV writer (shared/tabular.py): amounts our code computed stay
    numbers (a refund is the number -12.34, which a SUM adds up); every text, a customer's
    name or a product family a terminal sent included, is neutralised there."""
    out: list[object] = []
    for i, v in enumerate(row):
        if v is None:
            out.append("")
        elif isinstance(v, datetime):
            out.append(v.astimezone(domain.PARIS).strftime("%d/%m/%Y %H:%M"))
        elif isinstance(v, int) and DETAILS[i].kind == "cents":
            out.append(tabular.euros(v))
        elif isinstance(v, int):
            out.append(v)
        else:
            out.append(str(v))
    return out
