"""Pure checks of the transactions chip cards certified offline (issue 4, server side).

- **certificate**: the card's MAC over what it certifies, with its key diversified from the
  ``cert`` master only this service holds; a bad one is a forged or corrupted transaction;
- **clone**: the same (card, ATC) with other content: two cards answer with one identity;
- **chain**: a card's balances chain by ATC: the balances before a transaction (after minus
  its deltas) are the previous ATC's after. Checked against both neighbours already known,
  since terminals sync in any order;
- **gap**: an ATC far above the highest known: transactions withheld, or a terminal that
  does not sync;
- **reward**: the reward a sale earned on the card against the server's rules at the same
  merchant and time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args
from uuid import UUID

from shared.card.crypto import Certified
from shared.contracts import CardTransaction
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind

AnomalyKind = Literal[
    "clone", "broken_chain", "atc_gap", "reward_mismatch", "bad_certificate", "unknown_card"
]
ANOMALY_KINDS: tuple[AnomalyKind, ...] = get_args(AnomalyKind)
Balances = tuple[int, int, int]  # available, pending, units


def certified(tx: CardTransaction, terminal_id: UUID) -> Certified:
    return Certified(
        kind=tx.kind,
        card_number=tx.card_number,
        atc=tx.atc,
        amount_cents=tx.amount_cents,
        available_delta=tx.available_delta,
        pending_delta=tx.pending_delta,
        units_delta=tx.units_delta,
        available_after=tx.available_after,
        pending_after=tx.pending_after,
        units_after=tx.units_after,
        visits_after=tx.visits_after,
        terminal_id=terminal_id,
        seq=tx.seq,
        occurred_at=tx.occurred_at,
        terminal_nonce=bytes.fromhex(tx.terminal_nonce),
    )


def digest(fields: Certified, tx: CardTransaction, message: bytes | None = None) -> bytes:
    """The content of a transaction: what the card certified (terminal and sequence included),
    its certificate, and what the terminal added. Two syncs of one transaction agree."""
    extra = (
        f"|{tx.certificate}|{tx.reward_cents}|{tx.expired_cents}|{tx.product_family}"
        f"|{tx.quantity}|{tx.window_started_at}|{tx.key_version}|{tx.occurred_at.isoformat()}"
    )
    packed = message if message is not None else fields.message()
    return hashlib.blake2b(packed + extra.encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Link:
    """What chaining needs of one transaction of a card."""

    atc: int
    digest: bytes
    deltas: Balances
    after: Balances

    @property
    def before(self) -> Balances:
        return (
            self.after[0] - self.deltas[0],
            self.after[1] - self.deltas[1],
            self.after[2] - self.deltas[2],
        )

    @staticmethod
    def of(tx: CardTransaction, digest_: bytes) -> Link:
        return Link(
            tx.atc,
            digest_,
            (tx.available_delta, tx.pending_delta, tx.units_delta),
            (tx.available_after, tx.pending_after, tx.units_after),
        )


Verdict = Literal["new", "duplicate", "clone"]


@dataclass(frozen=True, slots=True)
class Finding:
    atc: int
    kind: AnomalyKind
    detail: str


@dataclass(frozen=True, slots=True)
class CardVerdict:
    verdicts: dict[int, Verdict]  # per incoming index
    findings: list[tuple[int, Finding]]  # (incoming index, finding)


def _fmt(b: Balances) -> str:
    return f"available {b[0]}, pending {b[1]}, units {b[2]}"


def check_card(
    known: Mapping[int, Link], incoming: Iterable[tuple[int, Link]], gap_alert: int
) -> CardVerdict:
    """One card's incoming transactions (index, link) against those known (by ATC).

    The first content seen for an ATC wins: a later one with the same digest is a re-send, with
    another a clone (not booked). ``known`` holds at least the neighbours (ATC ± 1) of every
    incoming ATC and the highest ATC known."""
    verdicts: dict[int, Verdict] = {}
    findings: list[tuple[int, Finding]] = []
    highest = max(known, default=0)
    accepted: dict[int, tuple[int, Link]] = {}
    for i, link in sorted(incoming, key=lambda x: (x[1].atc, x[0])):
        prior = known.get(link.atc) or (accepted[link.atc][1] if link.atc in accepted else None)
        if prior is not None:
            if prior.digest == link.digest:
                verdicts[i] = "duplicate"
            else:
                verdicts[i] = "clone"
                findings.append(
                    (
                        i,
                        Finding(
                            link.atc,
                            "clone",
                            f"ATC {link.atc} was already synced with other content: "
                            "two cards carry this card's identity",
                        ),
                    )
                )
            continue
        verdicts[i] = "new"
        if link.atc > highest + gap_alert:
            findings.append(
                (
                    i,
                    Finding(
                        link.atc,
                        "atc_gap",
                        f"ATC {link.atc} follows ATC {highest}: {link.atc - highest - 1} "
                        f"transactions not synced (alert above {gap_alert})",
                    ),
                )
            )
        accepted[link.atc] = (i, link)
        highest = max(highest, link.atc)
    for atc, (i, link) in accepted.items():
        prev = known.get(atc - 1) or (accepted[atc - 1][1] if atc - 1 in accepted else None)
        if prev is not None and prev.after != link.before:
            findings.append(
                (
                    i,
                    Finding(
                        atc,
                        "broken_chain",
                        f"before ATC {atc}: {_fmt(link.before)}; after ATC {atc - 1}: "
                        f"{_fmt(prev.after)}",
                    ),
                )
            )
        # A next one arriving in this batch checks this one as its previous.
        nxt = known.get(atc + 1)
        if nxt is not None and link.after != nxt.before:
            findings.append(
                (
                    i,
                    Finding(
                        atc,
                        "broken_chain",
                        f"after ATC {atc}: {_fmt(link.after)}; before ATC {atc + 1}: "
                        f"{_fmt(nxt.before)}",
                    ),
                )
            )
    return CardVerdict(verdicts, findings)


@dataclass(frozen=True, slots=True)
class RuleCheck:
    fee_cents: int
    taux_client_bps: int | None
    problem: str | None  # why the transaction does not match the rules, or None


def check_reward(
    book: RuleBook | None,
    program: Program | None,
    merchant_id: UUID,
    accepted: bool,
    tx: CardTransaction,
) -> RuleCheck:
    """The card's sale against the server's rules (its card type at this merchant, at its
    time). A redemption takes its amount from available and nothing else."""
    if tx.kind == "redemption":
        if (tx.available_delta, tx.pending_delta, tx.units_delta) != (-tx.amount_cents, 0, 0):
            return RuleCheck(
                0,
                None,
                f"a redemption of {tx.amount_cents} moved available {tx.available_delta}, "
                f"pending {tx.pending_delta}, units {tx.units_delta}",
            )
        return RuleCheck(0, None, None)
    moved = tx.available_delta + tx.pending_delta
    if moved != tx.reward_cents - tx.expired_cents:
        return RuleCheck(
            0,
            None,
            f"the card's balances moved by {moved} cents for a reward of {tx.reward_cents} "
            f"and {tx.expired_cents} expired",
        )
    if book is None or program is None or not accepted:
        why = "earns nothing" if accepted else "is not accepted at this merchant"
        if tx.reward_cents or tx.units_delta:
            return RuleCheck(
                0,
                None,
                f"the card's type {why}, the terminal gave {tx.reward_cents} cents "
                f"and {tx.units_delta} units",
            )
        return RuleCheck(0, None, None)
    ev = book.evaluate(
        Sale(str(merchant_id), tx.product_family, tx.amount_cents, tx.occurred_at, tx.quantity)
    )
    if program.kind is ProgramKind.CAGNOTTE:
        expected, units_after = ev.reward_cents, tx.units_after - tx.units_delta
    else:
        earned = ev.points or ev.stamps
        conversion = program.convert(max(tx.units_after - tx.units_delta, 0) + earned)
        expected, units_after = conversion.reward_cents, conversion.units_left
    problem = None
    if tx.reward_cents != expected:
        problem = f"the terminal gave a reward of {tx.reward_cents} cents, the rules {expected}"
    elif tx.units_after != units_after:
        problem = f"the card holds {tx.units_after} units after the sale, the rules {units_after}"
    taux = ev.taux_client_bps if program.kind is ProgramKind.CAGNOTTE else None
    return RuleCheck(ev.fee_cents, taux, problem)
