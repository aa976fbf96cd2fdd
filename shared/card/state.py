"""The card's memory: its state (balances, counters, keys, log), personalisation from the
masters, and the EEPROM as a JSON file, written atomically (``save_state``) so that a card
torn from the reader mid-write is either before or after the transaction.

The applications that run on it: ``application.py``. Key roles: ``crypto.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from shared.card import apdu, layouts
from shared.card.crypto import DEV_MASTERS, Purpose, diversify
from shared.card.keyring import parse_master_set
from shared.card.layouts import LogEntry, Record
from shared.rules.codes import InvalidCode, parse_card_number

STATE_FORMAT = "comptoir-card/1"


# --- the card's memory ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardState:
    """Everything a card holds, as written in its EEPROM (here: a JSON file).

    ``keys`` are the card's own diversified keys, not the masters. ``log`` is oldest first,
    at most ``apdu.LOG_SIZE`` entries."""

    number: str
    card_type_id: UUID
    expires_on: date
    keys: Mapping[Purpose, bytes]
    key_version: int = 1
    blocked: bool = False
    available: int = 0
    pending: int = 0
    units: int = 0
    visits: int = 0
    window_started_at: datetime | None = None
    last_used_on: date | None = None
    atc: int = 0
    log: tuple[LogEntry, ...] = ()

    def record(self) -> Record:
        return Record(
            number=self.number,
            card_type_id=self.card_type_id,
            expires_on=self.expires_on,
            blocked=self.blocked,
            available=self.available,
            pending=self.pending,
            units=self.units,
            visits=self.visits,
            window_started_at=self.window_started_at,
            last_used_on=self.last_used_on,
            atc=self.atc,
            key_version=self.key_version,
            log_count=len(self.log),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "number": self.number,
            "card_type_id": str(self.card_type_id),
            "expires_on": self.expires_on.isoformat(),
            "key_version": self.key_version,
            "keys": {purpose: key.hex() for purpose, key in sorted(self.keys.items())},
            "blocked": self.blocked,
            "available": self.available,
            "pending": self.pending,
            "units": self.units,
            "visits": self.visits,
            "window_started_at": _iso(self.window_started_at),
            "last_used_on": _iso(self.last_used_on),
            "atc": self.atc,
            "log": [
                {
                    "kind": e.kind,
                    "atc": e.atc,
                    "amount_cents": e.amount_cents,
                    "terminal_id": str(e.terminal_id),
                    "seq": e.seq,
                    "occurred_at": e.occurred_at.isoformat(),
                }
                for e in self.log
            ],
        }

    @classmethod
    def from_json(cls, doc: Any) -> CardState:
        """ValueError saying what is wrong, for anything but a card state."""
        try:
            if doc.get("format") != STATE_FORMAT:
                raise ValueError(f"format is not {STATE_FORMAT!r}")
            keys = {p: bytes.fromhex(doc["keys"][p]) for p in ("credit", "debit", "cert")}
            state = cls(
                number=parse_card_number(doc["number"]),
                card_type_id=UUID(doc["card_type_id"]),
                expires_on=date.fromisoformat(doc["expires_on"]),
                keys=keys,  # type: ignore[arg-type]
                key_version=_int(doc["key_version"]),
                blocked=bool(doc["blocked"]),
                available=_int(doc["available"]),
                pending=_int(doc["pending"]),
                units=_int(doc["units"]),
                visits=_int(doc["visits"]),
                window_started_at=_datetime(doc["window_started_at"]),
                last_used_on=(
                    None if doc["last_used_on"] is None else date.fromisoformat(doc["last_used_on"])
                ),
                atc=_int(doc["atc"]),
                log=tuple(
                    LogEntry(
                        kind=e["kind"],
                        atc=_int(e["atc"]),
                        amount_cents=_int(e["amount_cents"]),
                        terminal_id=UUID(e["terminal_id"]),
                        seq=_int(e["seq"]),
                        occurred_at=_aware(datetime.fromisoformat(e["occurred_at"])),
                    )
                    for e in doc["log"]
                ),
            )
        except KeyError as exc:
            raise ValueError(f"not a Comptoir card state: no field {exc}") from exc
        except (AttributeError, TypeError, ValueError, InvalidCode) as exc:
            raise ValueError(f"not a Comptoir card state: {exc}") from exc
        state.check()
        return state

    def check(self) -> None:
        """ValueError if the state breaks the card's invariants (a hand-edited file)."""
        problems = [
            name
            for name, ok in (
                ("keys", all(len(k) == 16 for k in self.keys.values())),
                ("key_version", 0 <= self.key_version <= 255),
                ("balances", all(0 <= v <= apdu.MAX_BALANCE for v in self._balances())),
                ("visits", 0 <= self.visits <= apdu.MAX_U32),
                ("atc", 0 <= self.atc <= apdu.MAX_U32),
                ("log", len(self.log) <= apdu.LOG_SIZE),
                ("log kind", all(e.kind in layouts.CODE_BY_KIND for e in self.log)),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"card state out of range: {', '.join(problems)}")

    def _balances(self) -> tuple[int, int, int]:
        return self.available, self.pending, self.units


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an integer, not {value!r}")
    return value


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a timezone-aware date, not {at.isoformat()}")
    return at


def _datetime(value: Any) -> datetime | None:
    return None if value is None else _aware(datetime.fromisoformat(value))


def personalize(
    number: str,
    card_type_id: UUID,
    expires_on: date,
    *,
    masters: Mapping[Purpose, bytes] = DEV_MASTERS,
    available: int = 0,
    key_version: int = 1,
) -> CardState:
    """A new card: its keys diversified from the masters (what the issuer's machine does)."""
    number = parse_card_number(number)
    keys: dict[Purpose, bytes] = {
        p: diversify(masters[p], p, number, key_version) for p in ("credit", "debit", "cert")
    }
    state = CardState(
        number=number,
        card_type_id=card_type_id,
        expires_on=expires_on,
        keys=keys,
        key_version=key_version,
        available=available,
    )
    state.check()
    return state


def parse_masters(text: str) -> dict[Purpose, bytes]:
    """``credit:HEX,debit:HEX,cert:HEX`` (COMPTOIR_CARD_MASTERS) → the masters; ValueError."""
    return parse_master_set(text)


# --- the card's EEPROM as a file --------------------------------------------------------------


def load_state(path: Path) -> CardState:
    """OSError if it cannot be read, ValueError if it is not a card state."""
    try:
        doc = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from exc
    return CardState.from_json(doc)


def save_state(path: Path, state: CardState) -> None:
    """Atomic and durable: a crash leaves the old file or the new one, never a torn one."""
    body = json.dumps(state.to_json(), indent=2).encode() + b"\n"
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the directory is.
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
