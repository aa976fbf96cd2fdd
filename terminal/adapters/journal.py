"""The terminal's own durable store (SQLite): its configuration, the parameters and blacklist
it last received, and the journal of card transactions waiting for a sync.

Durability: WAL with ``synchronous=FULL``, so a transaction the card certified and the
terminal journaled survives a power cut. Parameters and the blacklist change in one SQLite
transaction (``apply_updates``): a terminal never works with half of an update.

Capacity (the original terminal's 2000 sales): the journal holds at most ``capacity``
transactions not yet committed by the gateway. From ``warn_ratio`` of it the screen warns;
full, the terminal refuses to write cards (the sale itself goes on at the till, without
loyalty) until a sync frees room. Nothing is ever overwritten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from shared.contracts import CardTransaction

CAPACITY = 2000
WARN_RATIO_PERCENT = 80
# Committed transactions kept (for the screen's history, and a close that asks for lines again).
KEEP_COMMITTED = CAPACITY

_SCHEMA = """
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq          INTEGER PRIMARY KEY,
    card_number  TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    tx           BLOB NOT NULL,
    committed    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS blacklist (card_number TEXT PRIMARY KEY, reason TEXT NOT NULL);
"""


class JournalFull(Exception):
    """No room for another card transaction until the next sync."""


@dataclass(frozen=True, slots=True)
class Fill:
    pending: int
    capacity: int

    @property
    def warning(self) -> bool:
        return self.pending * 100 >= self.capacity * WARN_RATIO_PERCENT

    @property
    def full(self) -> bool:
        return self.pending >= self.capacity


class Journal:
    def __init__(
        self, path: Path, capacity: int = CAPACITY, keep_committed: int = KEEP_COMMITTED
    ) -> None:
        self.path = path
        self.capacity = capacity
        self.keep_committed = keep_committed
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in _tx).
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- configuration -----------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else default

    def set(self, **values: Any) -> None:
        with self._tx() as db:
            self._set(db, values)

    @staticmethod
    def _set(db: sqlite3.Connection, values: dict[str, Any]) -> None:
        db.executemany(
            "INSERT INTO config (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, orjson.dumps(v).decode()) for k, v in values.items()],
        )

    # --- the journal -------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The sequence the next card transaction carries (the card certifies it): one more
        than the last journaled, so a transaction the card refused leaves no hole."""
        row = self.db.execute("SELECT max(seq) FROM journal").fetchone()
        last = row[0] if row[0] is not None else int(self.get("last_seq", 0))
        return int(last) + 1

    def fill(self) -> Fill:
        (pending,) = self.db.execute("SELECT count(*) FROM journal WHERE committed = 0").fetchone()
        return Fill(int(pending), self.capacity)

    def ensure_room(self) -> Fill:
        fill = self.fill()
        if fill.full:
            raise JournalFull(f"{fill.pending} transactions wait for a sync")
        return fill

    def append(self, tx: CardTransaction) -> None:
        with self._tx() as db:
            (pending,) = db.execute("SELECT count(*) FROM journal WHERE committed = 0").fetchone()
            if pending >= self.capacity:
                raise JournalFull(f"{pending} transactions wait for a sync")
            db.execute(
                "INSERT INTO journal (seq, card_number, amount_cents, tx) VALUES (?, ?, ?, ?)",
                (tx.seq, tx.card_number, tx.amount_cents, tx.model_dump_json().encode()),
            )

    # --- what the sync client reads and writes (shared.sync.client.JournalSource) ---------

    def hello(self) -> dict[str, Any]:
        span = self.uncommitted_range()
        return {
            "params_version": int(self.get("params_version", 0)),
            "blacklist_version": int(self.get("blacklist_version", 0)),
            "pending_count": self.fill().pending,
            "journal_first_seq": span[0] if span else None,
            "journal_last_seq": span[1] if span else None,
        }

    def unsynced(self, after_seq: int, limit: int) -> list[CardTransaction]:
        rows = self.db.execute(
            "SELECT tx FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
        ).fetchall()
        return [CardTransaction.model_validate_json(r[0]) for r in rows]

    def uncommitted_range(self) -> tuple[int, int] | None:
        row = self.db.execute(
            "SELECT min(seq), max(seq) FROM journal WHERE committed = 0"
        ).fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def totals(self, from_seq: int, to_seq: int) -> tuple[int, int]:
        count, amount = self.db.execute(
            "SELECT count(*), coalesce(sum(amount_cents), 0) FROM journal "
            "WHERE seq BETWEEN ? AND ?",
            (from_seq, to_seq),
        ).fetchone()
        return int(count), int(amount)

    def committed(self, through_seq: int) -> None:
        """The gateway committed everything up to ``through_seq``: it is the truth."""
        with self._tx() as db:
            db.execute(
                "UPDATE journal SET committed = 1 WHERE seq <= ? AND committed = 0", (through_seq,)
            )
            (last,) = db.execute("SELECT max(seq) FROM journal").fetchone()
            if last is not None:
                self._set(db, {"last_seq": max(int(last), int(self.get("last_seq", 0)))})
            db.execute(
                "DELETE FROM journal WHERE committed = 1 AND seq <= "
                "(SELECT max(seq) FROM journal WHERE committed = 1) - ?",
                (self.keep_committed,),
            )

    def recent(self, limit: int = 10) -> list[tuple[CardTransaction, bool]]:
        rows = self.db.execute(
            "SELECT tx, committed FROM journal ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(CardTransaction.model_validate_json(r[0]), bool(r[1])) for r in rows]

    # --- parameters and blacklist ---------------------------------------------------------

    def blacklisted(self, card_number: str) -> str | None:
        row = self.db.execute(
            "SELECT reason FROM blacklist WHERE card_number = ?", (card_number,)
        ).fetchone()
        return str(row[0]) if row else None

    def apply_updates(
        self,
        configuration: dict[str, Any] | None,
        params: dict[str, Any] | None,
        params_version: int,
        blacklist: list[dict[str, Any]],
        blacklist_version: int,
    ) -> None:
        """One transaction: the new configuration, parameters and blacklist changes (in
        version order), or none of them."""
        with self._tx() as db:
            values: dict[str, Any] = {"blacklist_version": blacklist_version}
            if configuration is not None:
                values["configuration"] = configuration
            if params is not None:
                values["params"] = params
                values["params_version"] = params_version
            for change in sorted(blacklist, key=lambda c: int(c["version"])):
                if change["action"] == "add":
                    db.execute(
                        "INSERT INTO blacklist (card_number, reason) VALUES (?, ?) "
                        "ON CONFLICT (card_number) DO UPDATE SET reason = excluded.reason",
                        (change["card_number"], change["reason"]),
                    )
                else:
                    db.execute(
                        "DELETE FROM blacklist WHERE card_number = ?", (change["card_number"],)
                    )
            self._set(db, values)
