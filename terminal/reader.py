"""The terminal's card reader: read a Comptoir card, credit it (a sale), debit it (a redemption).

Every operation is the same few APDUs (``shared/card/apdu.py``) whichever way they travel:
``PcscReader`` (``pcsc.py``) through pyscard and pcscd, as in a shop (two slots: the customer's card and
the terminal's SAM), ``DirectReader`` straight into the applications, in process, for unit
tests and benchmarks. A credit or a debit is::

    card: GET CHALLENGE → 8 random bytes, spent by the next CREDIT/DEBIT
    SAM:  MAC(card number, challenge, command data) → 8 bytes (the SAM holds the masters)
    card: CREDIT|DEBIT(command data, MAC) → ATC, balances after, certificate

The terminal nonce in the command data is drawn here, fresh for every order; the card
certifies it, so the server can tell two transactions with the same counter apart.

A card refuses with a status word, raised as ``CardError`` with a stable ``code``. A card
pulled out between two operations is reconnected transparently at the next one; pulled out
in the middle of a credit or debit, the outcome is unknown: ``CardError("no_card")``, and
the card's log (``CardView.log``: terminal id and sequence) tells whether it was written.
"""

from __future__ import annotations

import secrets
import struct
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol
from uuid import UUID

from shared.card import apdu, layouts
from shared.card.application import CardApplication, SamApplication
from shared.card.crypto import Certified
from shared.card.layouts import CreditData, DebitData, LogEntry, Record, Result

__all__ = [
    "CardError",
    "CardReceipt",
    "CardView",
    "CreditOrder",
    "DebitOrder",
    "DirectReader",
    "LogEntry",
    "Reader",
]


class CardError(Exception):
    """The card (or the SAM, or the reader) said no.

    ``code``: a status word's name (``apdu.SW_CODES``: "bad_mac", "insufficient_balance",
    "expired", "blocked", "no_challenge", ...) or one of the reader's own, with ``sw`` 0:
    "no_card" (no card, or pulled out), "no_sam", "no_reader" (pcscd or the slot missing),
    "card_changed" (not the card last read), "io" (an answer that makes no sense)."""

    def __init__(self, code: str, sw: int = 0, message: str = "") -> None:
        self.code = code
        self.sw = sw
        self.message = message or apdu.SW_MESSAGES.get(sw, code)
        super().__init__(f"{self.message} ({sw:04X})" if sw else self.message)

    @classmethod
    def from_sw(cls, sw: int, who: str = "card") -> CardError:
        code = apdu.SW_CODES.get(sw, "card_error")
        message = apdu.SW_MESSAGES.get(sw, "unknown status")
        return cls(code, sw, message if who == "card" else f"the {who} refused: {message}")


@dataclass(frozen=True, slots=True)
class CardView:
    """What READ RECORD and READ LOG say (balances in cents; units are points or stamps)."""

    number: str
    card_type_id: UUID
    expires_on: date
    available: int
    pending: int
    units: int
    visits: int
    window_started_at: datetime | None
    last_used_on: date | None
    atc: int
    key_version: int
    blocked: bool
    log: tuple[LogEntry, ...]  # newest first, at most 10


@dataclass(frozen=True, slots=True)
class CreditOrder:
    """A sale: the reward's deltas (signed) and the visit count after it, from
    ``credit_sale``; dates timezone-aware, certified to the second."""

    amount_cents: int
    available_delta: int
    pending_delta: int
    units_delta: int
    visits_after: int
    window_started_at: datetime | None
    occurred_at: datetime
    terminal_id: UUID
    seq: int


@dataclass(frozen=True, slots=True)
class DebitOrder:
    """A redemption of ``amount_cents`` of the available balance."""

    amount_cents: int
    occurred_at: datetime
    terminal_id: UUID
    seq: int


@dataclass(frozen=True, slots=True)
class CardReceipt:
    """What the card certified: all a ``shared.contracts.CardTransaction`` needs from it."""

    kind: Literal["sale", "redemption"]
    card_number: str
    atc: int
    amount_cents: int
    available_delta: int
    pending_delta: int
    units_delta: int
    available_after: int
    pending_after: int
    units_after: int
    visits_after: int
    occurred_at: datetime  # the order's, whole seconds: the one certified
    terminal_id: UUID
    seq: int
    terminal_nonce: bytes
    certificate: bytes
    key_version: int

    def certified(self) -> Certified:
        """The fields the certificate covers (``crypto.verify_certificate``)."""
        return Certified(
            kind=self.kind,
            card_number=self.card_number,
            atc=self.atc,
            amount_cents=self.amount_cents,
            available_delta=self.available_delta,
            pending_delta=self.pending_delta,
            units_delta=self.units_delta,
            available_after=self.available_after,
            pending_after=self.pending_after,
            units_after=self.units_after,
            visits_after=self.visits_after,
            terminal_id=self.terminal_id,
            seq=self.seq,
            occurred_at=self.occurred_at,
            terminal_nonce=self.terminal_nonce,
        )


class Reader(Protocol):
    def present(self) -> bool: ...

    def read(self) -> CardView: ...

    def credit(self, c: CreditOrder) -> CardReceipt: ...

    def debit(self, d: DebitOrder) -> CardReceipt: ...


# --- the protocol, whatever carries the APDUs -------------------------------------------------


class Stale(CardError):
    """The card session ended under us (card pulled out, reset, pcscd restarted)."""

    def __init__(self, message: str = "the card was removed") -> None:
        super().__init__("no_card", 0, message)


class _Slot(Protocol):
    def present(self) -> bool: ...

    def session(self) -> bytes:
        """The SELECT answer of the current session, opening one if needed."""
        ...

    def transmit(self, command: bytes) -> bytes:
        """The response APDU; Stale if the session is gone."""
        ...

    def close(self) -> None: ...


def response_data(raw: bytes, who: str = "card") -> bytes:
    try:
        data, sw = apdu.split_response(raw)
    except ValueError:
        raise CardError("io", 0, f"the {who} gave a malformed answer: {raw.hex()}") from None
    if sw != apdu.SW_OK:
        raise CardError.from_sw(sw, who)
    return data


def _whole_seconds(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"card dates are timezone-aware: {at!r}")
    return at.replace(microsecond=0)


class ApduReader:
    """The Reader protocol over two slots; subclasses say how APDUs travel."""

    def __init__(self, card: _Slot, sam: _Slot) -> None:
        self._card = card
        self._sam = sam
        # One operation at a time: a challenge belongs to the operation that asked for it.
        self._lock = threading.RLock()
        self._last_read: str | None = None

    def present(self) -> bool:
        return self._card.present()

    def read(self) -> CardView:
        with self._lock:
            _, _, raw = self._first(apdu.read_record())
            try:
                record = Record.decode(response_data(raw))
            except (ValueError, struct.error) as exc:  # UnicodeDecodeError is a ValueError
                raise CardError("io", 0, f"unreadable card record: {exc}") from None
            entries: list[LogEntry] = []
            while len(entries) < record.log_count:
                count = min(apdu.LOG_PER_READ, record.log_count - len(entries))
                raw = self._card.transmit(apdu.read_log(len(entries), count))
                try:
                    entries += layouts.decode_log(response_data(raw))
                except (ValueError, struct.error) as exc:
                    raise CardError("io", 0, f"unreadable card log: {exc}") from None
            self._last_read = record.number
            return CardView(
                number=record.number,
                card_type_id=record.card_type_id,
                expires_on=record.expires_on,
                available=record.available,
                pending=record.pending,
                units=record.units,
                visits=record.visits,
                window_started_at=record.window_started_at,
                last_used_on=record.last_used_on,
                atc=record.atc,
                key_version=record.key_version,
                blocked=record.blocked,
                log=tuple(entries),
            )

    def credit(self, c: CreditOrder) -> CardReceipt:
        at = _whole_seconds(c.occurred_at)
        window = None if c.window_started_at is None else _whole_seconds(c.window_started_at)
        nonce = secrets.token_bytes(apdu.NONCE_BYTES)
        data = CreditData(
            c.amount_cents, c.available_delta, c.pending_delta, c.units_delta, c.visits_after,
            window, at, c.terminal_id, c.seq, nonce,
        ).encode()  # fmt: skip
        with self._lock:
            number, result = self._write("credit", data)
        return CardReceipt(
            "sale", number, result.atc, c.amount_cents,
            c.available_delta, c.pending_delta, c.units_delta,
            result.available_after, result.pending_after, result.units_after, result.visits_after,
            at, c.terminal_id, c.seq, nonce, result.certificate, result.key_version,
        )  # fmt: skip

    def debit(self, d: DebitOrder) -> CardReceipt:
        at = _whole_seconds(d.occurred_at)
        nonce = secrets.token_bytes(apdu.NONCE_BYTES)
        data = DebitData(d.amount_cents, at, d.terminal_id, d.seq, nonce).encode()
        with self._lock:
            number, result = self._write("debit", data)
        return CardReceipt(
            "redemption", number, result.atc, d.amount_cents, -d.amount_cents, 0, 0,
            result.available_after, result.pending_after, result.units_after, result.visits_after,
            at, d.terminal_id, d.seq, nonce, result.certificate, result.key_version,
        )  # fmt: skip

    def _write(self, purpose: Literal["credit", "debit"], data: bytes) -> tuple[str, Result]:
        number, key_version, raw = self._first(apdu.get_challenge())
        if self._last_read is not None and number != self._last_read:
            # The terminal computed this order from another card's balances.
            raise CardError("card_changed", 0, "this is not the card that was read")
        challenge = response_data(raw)
        if len(challenge) != apdu.CHALLENGE_BYTES:
            raise CardError("io", 0, f"the card gave a {len(challenge)}-byte challenge")
        mac = self._sam_mac(purpose, number, key_version, challenge, data)
        build = apdu.credit if purpose == "credit" else apdu.debit
        raw = self._card.transmit(build(data, mac))  # pulled out now: outcome unknown
        try:
            return number, Result.decode(response_data(raw))
        except struct.error as exc:
            raise CardError("io", 0, f"unreadable {purpose} result: {exc}") from None

    def _first(self, command: bytes) -> tuple[str, int, bytes]:
        """Open the card's session if needed, then send an operation's first command. A
        session gone stale since the last operation (the card was pulled out and put back,
        or pcscd restarted) is reopened once: nothing was sent to the card yet."""
        for attempt in range(2):
            try:
                number, key_version = self._selected(self._card.session())
                return number, key_version, self._card.transmit(command)
            except Stale:
                self._card.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _selected(answer: bytes) -> tuple[str, int]:
        """The card's number and key version, from its SELECT answer."""
        try:
            number, key_version = layouts.SELECTED.unpack(answer)
            text: str = number.decode("ascii")
        except (struct.error, ValueError) as exc:
            raise CardError("io", 0, f"unexpected SELECT answer {answer.hex()}: {exc}") from None
        return text, int(key_version)

    def _sam_mac(
        self,
        purpose: Literal["credit", "debit"],
        number: str,
        key_version: int,
        challenge: bytes,
        data: bytes,
    ) -> bytes:
        command = apdu.sam_mac(purpose, number, challenge, data, key_version)
        for attempt in range(2):  # a MAC changes nothing: asking twice is harmless
            try:
                self._sam.session()
                mac = response_data(self._sam.transmit(command), "SAM")
            except Stale:
                self._sam.close()
                if attempt:
                    raise CardError("no_sam", 0, "the SAM is not in its reader") from None
                continue
            if len(mac) != layouts.MAC_BYTES:
                raise CardError("io", 0, f"the SAM gave a {len(mac)}-byte MAC")
            return mac
        raise AssertionError("unreachable")


# --- in process ---------------------------------------------------------------------------------


class _DirectSlot:
    def __init__(self, app: CardApplication | SamApplication | None, aid: bytes, who: str):
        self.app = app
        self._aid = aid
        self._who = who
        self._session: tuple[object, bytes] | None = None

    def present(self) -> bool:
        return self.app is not None

    def session(self) -> bytes:
        app = self._app()
        if self._session is None or self._session[0] is not app:
            app.power_on()
            self._session = (app, response_data(app.process(apdu.select(self._aid)), self._who))
        return self._session[1]

    def transmit(self, command: bytes) -> bytes:
        app = self._app()
        if self._session is None or self._session[0] is not app:
            raise Stale()
        return app.process(command)

    def close(self) -> None:
        self._session = None

    def _app(self) -> CardApplication | SamApplication:
        if self.app is None:
            raise Stale(f"no {self._who} in the reader")
        return self.app


class DirectReader(ApduReader):
    """The same APDUs handed straight to the applications: no pcscd, no socket.

    ``insert(card)`` and ``remove()`` play the customer."""

    def __init__(self, card: CardApplication | None, sam: SamApplication) -> None:
        self._card_slot = _DirectSlot(card, apdu.CARD_AID, "card")
        super().__init__(self._card_slot, _DirectSlot(sam, apdu.SAM_AID, "SAM"))

    @property
    def card(self) -> CardApplication | None:
        app = self._card_slot.app
        assert app is None or isinstance(app, CardApplication)
        return app

    def insert(self, card: CardApplication) -> None:
        self._card_slot.app = card

    def remove(self) -> None:
        self._card_slot.app = None
