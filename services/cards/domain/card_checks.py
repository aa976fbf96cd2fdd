"""Pure checks of the transactions chip cards certified offline (issue 4, server side).

- **certificate**: the card's MAC over what it certifies, with its key diversified from the
  ``cert`` master only this service holds; a bad one is a forged or corrupted transaction;
- **clone**: the same (card, ATC) with other content: two cards answer with one identity;
- **chain**: a card's balances chain by ATC: the balances before a transaction (after minus
  its deltas) are the previous ATC's after. Checked against both neighbours already known,
  since terminals sync in any order;
- **gap**: an ATC far above the highest known: transactions withheld, or a terminal that
  does not sync;
- **reward**: the reward a sale earned on the card against the rules of the parameters the
  terminal was using, at the same merchant and time;
- **card**: the card of the terminal's association, accepted at this merchant, not blocked
  before the transaction, not expired nor dormant at its time; the time within the window of
  ``shared.rules.dates`` (a terminal can backdate a sale into a promotion or a card's validity).

A transaction that fails any of them is not booked: it is held in quarantine
(service/quarantine.py) for the back office to approve or reject.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args
from uuid import UUID

from shared.card.crypto import Certified
from shared.contracts import CardTransaction
from shared.rules.dates import DateWindow
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Promotion

# Every reason a transaction is held in quarantine (service/quarantine.py) is also an
# anomaly kind: the anomaly list is where an alert names the card and the terminal.
AnomalyKind = Literal[
    "clone",
    "broken_chain",
    "atc_gap",
    "reward_mismatch",
    "bad_certificate",
    "unknown_key_version",
    "unknown_card",
    "card_of_another_association",
    "card_not_accepted",
    "card_blocked",
    "card_expired",
    "card_dormant",
    "occurred_in_future",
    "occurred_too_long_ago",
    "occurred_before_books_start",
    "unprocessable",
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
        key_version=tx.key_version,
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
    rate_source: str | None = None  # the rule that set the taux client (Evaluation.rate_source)


def check_reward(
    book: RuleBook | None,
    program: Program | None,
    merchant_id: UUID,
    accepted: bool,
    tx: CardTransaction,
    personal: Iterable[Promotion] = (),
) -> RuleCheck:
    """The card's sale against the server's rules (its card type at this merchant, at its
    time; ``personal``: the card's status levels in the parameters checked against). A
    redemption takes its amount from available and nothing else."""
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
        Sale(str(merchant_id), tx.product_family, tx.amount_cents, tx.occurred_at, tx.quantity),
        personal,
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
    return RuleCheck(ev.fee_cents, taux, problem, ev.rate_source if taux is not None else None)


def threshold_transfer(tx: CardTransaction, visits_needed: int) -> int:
    """What a card's sale moved from pending to available at the visit threshold (F8), as an
    online sale's ``transferred_cents`` (``shared.rules.accounts.credit_sale``): with no
    threshold to wait for (one visit, nothing pending before) a reward goes straight to
    available and nothing is transferred; otherwise what reached available is the transfer."""
    pending_before = tx.pending_after - tx.pending_delta
    if visits_needed <= 1 and pending_before == 0:
        return 0
    return max(tx.available_delta, 0)


WINDOW = DateWindow()  # the defaults: 5 minutes ahead, 45 days back
# The card's statuses that put it on the blacklist (domain/cards.py BLOCKED).
BLOCKING_STATUSES = frozenset({"lost", "stolen", "replaced", "cancelled", "cloned"})


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What the server knows of a card, for the checks of one of its transactions."""

    association_id: UUID
    status: str
    status_changed_at: datetime
    expires_on: date | None
    last_used_at: datetime | None
    issued_at: datetime
    dormant_after_days: int


def card_findings(
    card: CardFacts,
    tx: CardTransaction,
    association_id: UUID,
    accepted: bool,
    now: datetime,
    books_start: datetime | None,
    window: DateWindow = WINDOW,
) -> list[tuple[AnomalyKind, str]]:
    """Why the server may not book this card's transaction made at a terminal of
    ``association_id`` (``accepted``: the card's type is accepted at the terminal's merchant),
    as (reason, detail); empty when it may. Raises ValueError for a time without an offset."""
    out: list[tuple[AnomalyKind, str]] = []
    at = tx.occurred_at
    refusal = window.refusal(at, now, books_start)
    if refusal is not None:
        out.append(
            (
                refusal,
                f"occurred at {at.isoformat()}, checked at {now.isoformat()}"
                + (f", books start {books_start.isoformat()}" if books_start else ""),
            )
        )
    if card.association_id != association_id:
        out.append(
            (
                "card_of_another_association",
                f"card of association {card.association_id} used at a terminal of "
                f"association {association_id}",
            )
        )
    elif not accepted:
        out.append(("card_not_accepted", "the card's type is not accepted at this merchant"))
    if card.status in BLOCKING_STATUSES and card.status_changed_at <= at:
        out.append(
            (
                "card_blocked",
                f"the card is {card.status} since {card.status_changed_at.isoformat()}, "
                f"before this transaction ({at.isoformat()})",
            )
        )
    if card.expires_on is not None and at.date() > card.expires_on:
        out.append(("card_expired", f"the card expired on {card.expires_on.isoformat()}"))
    last = card.last_used_at or card.issued_at
    if at - last >= timedelta(days=card.dormant_after_days):
        out.append(
            (
                "card_dormant",
                f"the card was not used from {last.isoformat()} to {at.isoformat()} "
                f"(dormant after {card.dormant_after_days} days)",
            )
        )
    return out
