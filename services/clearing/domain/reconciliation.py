"""The reconciliation's verdicts (pure: no I/O): each check of the compte pivot's invariants,
from the facts the adapters read (the entries at fault, the positions, the two sides of the
liability), with the entries, accounts or parties at fault named and the associations they
belong to. What each check proves: ``service/reconciling.py``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

CHECKS = (
    "balanced",
    "entry_columns",
    "booked_once",
    "closed_statements",
    "held_positions",
    "liability",
    "card_lines",
)

Row = Mapping[str, Any]
Figures = tuple[int, int]  # (rewards, customer funds) owed, cents


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    difference: int = 0
    detail: list[str] = field(default_factory=list)
    # The associations the faults belong to (the instance view's red list).
    associations: set[UUID] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "difference": self.difference,
            "detail": self.detail[:50],
            "associations": sorted(str(a) for a in self.associations),
        }


def balanced(net: int, faults: Iterable[Row]) -> Check:
    """Debits = credits (``net``: their difference), and the entries at fault: unbalanced, or
    without postings yet not a zero record."""
    faults = list(faults)
    detail = []
    if net:
        detail.append(f"debits and credits differ by {net} cents")
    for f in faults:
        what = (
            f"entry {f['id']} ({f['kind']} {f['reference_id']}, association {f['association_id']})"
        )
        if f["n"] is None:
            detail.append(
                f"{what} has no postings but says reward {f['reward_cents']}, fee {f['fee_cents']}"
            )
        else:
            detail.append(f"{what}: its postings sum to {f['total']}")
    return Check(
        "balanced",
        not detail,
        abs(net) or len(faults),
        detail,
        {f["association_id"] for f in faults},
    )


def entry_columns(rows: Iterable[Row]) -> Check:
    """The entries whose ``merchant_cents`` is not what their postings moved."""
    rows = list(rows)
    return Check(
        "entry_columns",
        not rows,
        sum(abs(r["merchant_cents"] - r["posted"]) for r in rows),
        [
            f"entry {r['id']} ({r['kind']}, association {r['association_id']}) says "
            f"{r['merchant_cents']}, posted {r['posted']}"
            for r in rows
        ],
        {r["association_id"] for r in rows},
    )


def booked_once(twice: Iterable[Row], refs: Iterable[Row]) -> Check:
    """Accounts posted twice by one entry; (kind, reference) booked twice."""
    twice, refs = list(twice), list(refs)
    detail = [
        f"entry {r['entry_id']} (association {r['association_id']}) posts account "
        f"{r['account_id']} {r['n']} times"
        for r in twice
    ]
    detail += [
        f"{r['kind']} {r['reference_id']} booked {r['n']} times: entries {r['entries']}"
        for r in refs
    ]
    red = {r["association_id"] for r in twice} | {a for r in refs for a in r["associations"]}
    return Check("booked_once", not detail, len(detail), detail, red)


def closed_statements(rows: Iterable[Row]) -> Check:
    """The frozen statements that no longer equal their entries."""
    rows = list(rows)
    return Check(
        "closed_statements",
        not rows,
        sum(abs(r["net_cents"] - r["now_cents"]) for r in rows),
        [
            f"merchant {r['merchant_id']} (association {r['association_id']}) "
            f"{r['period']:%Y-%m}: statement {r['net_cents']}, entries now {r['now_cents']}"
            for r in rows
        ],
        {r["association_id"] for r in rows},
    )


@dataclass(frozen=True, slots=True)
class HeldBooks:
    """One association's last close: what its settlement held, what the journal says is due."""

    association_id: UUID
    closed_through: date
    held: dict[tuple[str, UUID], int]
    journal: dict[tuple[str, UUID], int]


def held_positions(books: Iterable[HeldBooks]) -> Check:
    """What each association's last close left unsettled is what the whole journal says."""
    detail: list[str] = []
    difference = 0
    red: set[UUID] = set()
    for b in books:
        for kind, party in sorted(b.held.keys() | b.journal.keys(), key=str):
            owed, kept = b.journal.get((kind, party), 0), b.held.get((kind, party), 0)
            if owed != kept:
                difference += abs(owed - kept)
                red.add(b.association_id)
                detail.append(
                    f"association {b.association_id}, {kind} {party}: the journal says {owed} "
                    f"through {b.closed_through:%Y-%m}, its close held {kept}"
                )
    return Check("held_positions", not detail, difference, detail, red)


def held_of(held: Iterable[Row] | None) -> dict[tuple[str, UUID], int]:
    """A settlement's ``held`` list, by party."""
    return {(h["party_kind"], UUID(h["party_id"])): h["amount_cents"] for h in held or ()}


def accounts_at_fault(
    aid: UUID, ours: Mapping[UUID | None, Figures], theirs: Mapping[UUID | None, Figures]
) -> list[str]:
    """The customer accounts whose rewards or funds differ between cards and clearing."""
    out = []
    for account in sorted(ours.keys() | theirs.keys(), key=str):
        mine, cards = ours.get(account, (0, 0)), theirs.get(account, (0, 0))
        if mine != cards:
            name = f"account {account}" if account else "entries naming no account"
            out.append(
                f"association {aid}, {name}: rewards {mine[0]} here, {cards[0]} at cards; "
                f"customer funds {mine[1]} here, {cards[1]} at cards"
            )
    return out


def liability(
    differences: Mapping[UUID, tuple[Figures, Figures]], accounts: Mapping[UUID, list[str]]
) -> Check:
    """The associations whose liability differs from cards' (``differences``: ours, theirs),
    with the accounts at fault in each (at most 20)."""
    detail = []
    for a, ((ours, f_ours), (theirs, f_theirs)) in differences.items():
        detail.append(
            f"association {a}: rewards {ours} here, {theirs} at cards; "
            f"customer funds {f_ours} here, {f_theirs} at cards"
        )
        detail += accounts.get(a, [])[:20]
    diff = sum(abs(o - t) + abs(fo - ft) for (o, fo), (t, ft) in differences.values())
    return Check("liability", not differences, diff, detail, set(differences))


def card_lines(body: Row) -> Check:
    """cards' count of the offline card lines the gateway acknowledged."""
    detail = [
        f"terminal {d['terminal_id']} (association {d['association_id']}): "
        f"{d['acknowledged']} acknowledged, {d['booked']} booked, {d['held']} held"
        for d in body["differences"]
    ]
    red = {UUID(d["association_id"]) for d in body["differences"] if d.get("association_id")}
    return Check("card_lines", body["ok"], body["unaccounted"], detail, red)


def unanswered(name: str, exc: BaseException) -> Check:
    return Check(name, False, 0, [f"cards did not answer: {exc!r}"])
