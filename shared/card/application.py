"""The card and the SAM as state machines: a command APDU in, a response APDU out.

Pure but for one door: ``CardApplication`` hands every new state to ``on_change`` (the
EEPROM write: ``vpcd.py`` saves the JSON file) *before* it answers, and keeps the old state
if that fails, so a card torn from the reader mid-write is either before or after the
transaction, never half-way. ``load_state``/``save_state`` are that file, kept here next to
the format they read and write.

Layouts and status words: ``apdu.py``. Key roles: ``crypto.py``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from uuid import UUID

from shared.card import apdu
from shared.card.apdu import (
    MAC_BYTES,
    ApduError,
    Command,
    CreditData,
    DebitData,
    LogEntry,
    Record,
    Result,
)
from shared.card.crypto import DEV_MASTERS, Certified, Purpose, certificate, diversify, mac
from shared.rules.codes import InvalidCode, parse_card_number

log = logging.getLogger(__name__)

STATE_FORMAT = "comptoir-card/1"
_T = TypeVar("_T")


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
                ("log kind", all(e.kind in apdu.CODE_BY_KIND for e in self.log)),
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
    masters: dict[Purpose, bytes] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition(":")
        if not sep or name not in ("credit", "debit", "cert"):
            raise ValueError(f"expected credit:HEX,debit:HEX,cert:HEX, got {part.strip()!r}")
        try:
            key = bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"the {name} master is not hexadecimal") from None
        if len(key) != 16:
            raise ValueError(f"the {name} master has 16 bytes (32 hex digits), not {len(key)}")
        masters[name] = key  # type: ignore[index]
    missing = {"credit", "debit", "cert"} - masters.keys()
    if missing:
        raise ValueError(f"missing master(s): {', '.join(sorted(missing))}")
    return masters


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


# --- applications -----------------------------------------------------------------------------


class Application(Protocol):
    """What a reader slot (vpcd.py, DirectReader) drives."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def process(self, command: bytes) -> bytes:
        """A response APDU (data + SW1 SW2) for any bytes, never an exception."""
        ...


def _answer(handler: Callable[[Command], bytes], raw: bytes) -> bytes:
    try:
        return apdu.response(handler(apdu.parse_command(raw)))
    except ApduError as exc:
        return apdu.sw_bytes(exc.sw)
    except Exception:  # a card answers garbage with a status word, it does not die
        log.exception("card fault on APDU %s", raw.hex())
        return apdu.sw_bytes(apdu.SW_INTERNAL)


def _check_class(cmd: Command) -> None:
    if cmd.cla not in (apdu.CLA_ISO, apdu.CLA_PROPRIETARY):
        raise ApduError(apdu.SW_BAD_CLASS)
    if cmd.cla == apdu.CLA_ISO and cmd.ins != apdu.INS_SELECT:
        raise ApduError(apdu.SW_UNKNOWN_INS)


def _select(cmd: Command, aid: bytes) -> bool:
    if cmd.p1 != 0x04 or cmd.p2 not in (0x00, 0x0C):
        raise ApduError(apdu.SW_WRONG_P1P2)
    return cmd.data == aid


class CardApplication:
    """The Comptoir stored-value application on one card.

    ``on_change(new_state)`` persists a new state before the card answers; if it raises,
    the card keeps its old state and answers 6581. ``random(n)`` draws challenges."""

    atr = apdu.CARD_ATR

    def __init__(
        self,
        state: CardState,
        on_change: Callable[[CardState], None] | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.state = state
        self._on_change = on_change
        self._random = random
        self._selected = False
        self._challenge: bytes | None = None

    # The session (selection, challenge) lives in RAM: a power cycle forgets it.
    def power_on(self) -> None:
        self._selected = False
        self._challenge = None

    def power_off(self) -> None:
        self.power_on()

    def process(self, command: bytes) -> bytes:
        return _answer(self._dispatch, command)

    def _dispatch(self, cmd: Command) -> bytes:
        _check_class(cmd)
        if cmd.ins == apdu.INS_SELECT:
            self._challenge = None
            self._selected = _select(cmd, apdu.CARD_AID)
            if not self._selected:
                raise ApduError(apdu.SW_NOT_FOUND)
            return apdu.SELECTED.pack(self.state.number.encode(), self.state.key_version)
        handler = {
            apdu.INS_READ_RECORD: self._read_record,
            apdu.INS_READ_LOG: self._read_log,
            apdu.INS_GET_CHALLENGE: self._get_challenge,
            apdu.INS_CREDIT: self._credit,
            apdu.INS_DEBIT: self._debit,
        }.get(cmd.ins)
        if handler is None:
            raise ApduError(apdu.SW_UNKNOWN_INS)
        if not self._selected:
            raise ApduError(apdu.SW_NOT_SELECTED)
        return handler(cmd)

    def _read_record(self, cmd: Command) -> bytes:
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        return self.state.record().encode()

    def _read_log(self, cmd: Command) -> bytes:
        """P1: the first entry (0 = newest), P2: how many (1 to 6)."""
        if not 1 <= cmd.p2 <= apdu.LOG_PER_READ:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        newest_first = self.state.log[::-1]
        return b"".join(e.encode() for e in newest_first[cmd.p1 : cmd.p1 + cmd.p2])

    def _get_challenge(self, cmd: Command) -> bytes:
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data or cmd.le != apdu.CHALLENGE_BYTES:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        self._challenge = self._random(apdu.CHALLENGE_BYTES)
        return self._challenge

    def _authenticated(self, cmd: Command, size: int, purpose: Purpose) -> bytes:
        """The command's data once its MAC over the card's challenge checks; the challenge
        is spent whatever happens, so a recorded command can never be played again."""
        challenge, self._challenge = self._challenge, None
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if len(cmd.data) != size + MAC_BYTES:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        if challenge is None:
            raise ApduError(apdu.SW_NO_CHALLENGE)
        if self.state.blocked:
            raise ApduError(apdu.SW_BLOCKED)
        data, tag = cmd.data[:size], cmd.data[size:]
        if not secrets.compare_digest(mac(self.state.keys[purpose], challenge + data), tag):
            raise ApduError(apdu.SW_BAD_MAC)
        return data

    def _credit(self, cmd: Command) -> bytes:
        c = _decode(CreditData.decode, self._authenticated(cmd, apdu.CREDIT.size, "credit"))
        _check_amount(c.amount_cents)
        if any(
            abs(d) > apdu.MAX_BALANCE for d in (c.available_delta, c.pending_delta, c.units_delta)
        ):
            raise ApduError(apdu.SW_WRONG_DATA)
        return self._apply(
            "sale",
            c.amount_cents,
            (c.available_delta, c.pending_delta, c.units_delta),
            c.visits_after,
            c.window_started_at,
            c.occurred_at,
            c.terminal_id,
            c.seq,
            c.terminal_nonce,
        )

    def _debit(self, cmd: Command) -> bytes:
        d = _decode(DebitData.decode, self._authenticated(cmd, apdu.DEBIT.size, "debit"))
        _check_amount(d.amount_cents)
        s = self.state
        return self._apply(
            "redemption",
            d.amount_cents,
            (-d.amount_cents, 0, 0),
            s.visits,
            s.window_started_at,
            d.occurred_at,
            d.terminal_id,
            d.seq,
            d.terminal_nonce,
        )

    def _apply(
        self,
        kind: Literal["sale", "redemption"],
        amount: int,
        deltas: tuple[int, int, int],
        visits_after: int,
        window_started_at: datetime | None,
        occurred_at: datetime,
        terminal_id: UUID,
        seq: int,
        nonce: bytes,
    ) -> bytes:
        s = self.state
        # The card has no clock: the terminal's date is the one certified, and checked.
        if occurred_at.date() > s.expires_on:
            raise ApduError(apdu.SW_EXPIRED)
        after = tuple(b + d for b, d in zip(s._balances(), deltas, strict=True))
        if any(v < 0 for v in after):
            raise ApduError(apdu.SW_INSUFFICIENT)
        if any(v > apdu.MAX_BALANCE for v in after):
            raise ApduError(apdu.SW_WRONG_DATA)
        if s.atc >= apdu.MAX_U32:
            raise ApduError(apdu.SW_COUNTER_EXHAUSTED)
        atc = s.atc + 1
        available, pending, units = after
        entry = LogEntry(kind, atc, amount, terminal_id, seq, occurred_at)
        new = replace(
            s,
            available=available,
            pending=pending,
            units=units,
            visits=visits_after,
            window_started_at=window_started_at,
            last_used_on=occurred_at.date(),
            atc=atc,
            log=(*s.log, entry)[-apdu.LOG_SIZE :],
        )
        certified = Certified(
            kind=kind,
            card_number=s.number,
            atc=atc,
            amount_cents=amount,
            available_delta=deltas[0],
            pending_delta=deltas[1],
            units_delta=deltas[2],
            available_after=available,
            pending_after=pending,
            units_after=units,
            visits_after=visits_after,
            terminal_id=terminal_id,
            seq=seq,
            occurred_at=occurred_at,
            terminal_nonce=nonce,
            key_version=s.key_version,
        )
        cert = certificate(s.keys["cert"], certified)
        if self._on_change is not None:
            try:
                self._on_change(new)
            except Exception:
                log.exception("card %s could not save its state", s.number)
                raise ApduError(apdu.SW_MEMORY_FAILURE) from None
        self.state = new
        return Result(atc, available, pending, units, visits_after, s.key_version, cert).encode()


def _decode(decode: Callable[[bytes], _T], data: bytes) -> _T:
    """A MAC'd command can still carry nonsense (a date 0 or out of range): 6A80."""
    try:
        return decode(data)
    except (ValueError, OverflowError, OSError):
        raise ApduError(apdu.SW_WRONG_DATA) from None


def _check_amount(amount: int) -> None:
    if not 0 < amount <= apdu.MAX_BALANCE:
        raise ApduError(apdu.SW_WRONG_DATA)


class SamApplication:
    """The terminal's secure access module: the credit and debit masters, nothing else.

    It MACs what the terminal asks for a card: that is its whole job. Keeping the masters
    out of the terminal's memory is what makes a stolen terminal program useless without
    its SAM; the certificate key is never here, so even a stolen SAM cannot forge one."""

    atr = apdu.SAM_ATR

    def __init__(
        self,
        masters: Mapping[Purpose, bytes] = DEV_MASTERS,
        by_version: Mapping[int, Mapping[Purpose, bytes]] | None = None,
    ) -> None:
        """``masters`` serve every key version; ``by_version`` the versions whose masters
        differ (during a rotation the SAM holds the old and the new ones)."""
        self._masters: dict[int | None, dict[Literal["credit", "debit"], bytes]] = {
            version: {"credit": m["credit"], "debit": m["debit"]}
            for version, m in ((None, masters), *(by_version or {}).items())
        }
        self._selected = False

    def power_on(self) -> None:
        self._selected = False

    def power_off(self) -> None:
        self._selected = False

    def process(self, command: bytes) -> bytes:
        return _answer(self._dispatch, command)

    def _dispatch(self, cmd: Command) -> bytes:
        _check_class(cmd)
        if cmd.ins == apdu.INS_SELECT:
            self._selected = _select(cmd, apdu.SAM_AID)
            if not self._selected:
                raise ApduError(apdu.SW_NOT_FOUND)
            return b""
        if cmd.ins != apdu.INS_SAM_MAC:
            raise ApduError(apdu.SW_UNKNOWN_INS)
        if not self._selected:
            raise ApduError(apdu.SW_NOT_SELECTED)
        purpose = apdu.SAM_PURPOSES.get(cmd.p1)
        if purpose is None:
            raise ApduError(apdu.SW_WRONG_P1P2)
        head = 16 + apdu.CHALLENGE_BYTES
        if len(cmd.data) <= head:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        number = cmd.data[:16]
        if not (number.isascii() and number.isdigit()):
            raise ApduError(apdu.SW_WRONG_DATA)
        key_version = cmd.p2  # the card's, as its SELECT answered
        masters = self._masters.get(key_version, self._masters[None])
        key = diversify(masters[purpose], purpose, number.decode(), key_version)
        return mac(key, cmd.data[16:])
