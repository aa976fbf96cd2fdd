"""The terminal's card reader through pyscard and pcscd, as in a shop: two slots, the
customer's card and the terminal's SAM (``reader.py`` holds what every reader does).
"""

from __future__ import annotations

from smartcard import scard

from shared.card import apdu
from terminal.reader import ApduReader, CardError, Stale, response_data

CARD_READER = "Virtual PCD 00 00"
SAM_READER = "Virtual PCD 00 01"


# What pcscd answers when the card is gone, was swapped or the daemon restarted: the session
# is over, a new one may work.
_STALE = {
    0x8010000C,  # SCARD_E_NO_SMARTCARD
    0x80100069,  # SCARD_W_REMOVED_CARD
    0x80100068,  # SCARD_W_RESET_CARD
    0x80100067,  # SCARD_W_UNPOWERED_CARD
    0x80100066,  # SCARD_W_UNRESPONSIVE_CARD
    0x80100003,  # SCARD_E_INVALID_HANDLE
    0x80100016,  # SCARD_E_NOT_TRANSACTED (vpcd: the card's socket closed mid-exchange)
    0x8010002F,  # SCARD_E_COMM_DATA_LOST
    0x80100013,  # SCARD_F_COMM_ERROR
}
_NO_SERVICE = {0x8010001D, 0x8010001E}  # SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED
_NO_READER = {0x80100009, 0x80100017, 0x8010002E}  # unknown, unavailable, none at all
# A context from before a pcscd restart is refused as an invalid handle.
_CONTEXT_GONE = _NO_SERVICE | {0x80100003}


def _hr(code: int) -> int:
    return code & 0xFFFFFFFF


class _PcscContext:
    """One PC/SC context for both slots, re-established after pcscd restarts."""

    def __init__(self) -> None:
        self._handle: int | None = None

    def get(self) -> int:
        if self._handle is None:
            hr, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if _hr(hr) != 0:
                raise CardError(
                    "no_reader", 0, f"pcscd is not running ({scard.SCardGetErrorMessage(hr)})"
                )
            self._handle = handle
        return self._handle

    def drop(self) -> None:
        if self._handle is not None:
            scard.SCardReleaseContext(self._handle)
            self._handle = None


class _PcscSlot:
    def __init__(self, context: _PcscContext, name: str, aid: bytes, who: str) -> None:
        self.name = name
        self._context = context
        self._aid = aid
        self._who = who
        self._card: tuple[int, int] | None = None  # handle, protocol
        self._selected = b""

    def present(self) -> bool:
        for _attempt in range(2):
            try:
                hr, states = scard.SCardGetStatusChange(
                    self._context.get(), 0, [(self.name, scard.SCARD_STATE_UNAWARE)]
                )
            except CardError:
                return False
            if _hr(hr) not in _CONTEXT_GONE:
                return _hr(hr) == 0 and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
            self._context.drop()  # pcscd restarted since: a new context may see the card
        return False

    def session(self) -> bytes:
        if self._card is None:
            self._connect()
            try:
                self._selected = response_data(self.transmit(apdu.select(self._aid)), self._who)
            except CardError:
                self.close()
                raise
        return self._selected

    def _connect(self) -> None:
        for attempt in range(2):
            hr, handle, protocol = scard.SCardConnect(
                self._context.get(),
                self.name,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            code = _hr(hr)
            if code == 0:
                self._card = (handle, protocol)
                return
            if code in _CONTEXT_GONE and not attempt:  # pcscd restarted since: a new context
                self._context.drop()
                continue
            if code in _STALE:
                raise Stale(f"no {self._who} in the reader {self.name!r}")
            if code in _NO_READER | _NO_SERVICE:
                raise CardError(
                    "no_reader", 0, f"no reader {self.name!r}: {scard.SCardGetErrorMessage(hr)}"
                )
            raise CardError("io", 0, f"{self.name}: {scard.SCardGetErrorMessage(hr)}")

    def transmit(self, command: bytes) -> bytes:
        if self._card is None:
            raise Stale()
        handle, protocol = self._card
        try:
            hr, response = scard.SCardTransmit(handle, protocol, list(command))
        except (SystemError, TypeError) as exc:
            self.close()
            raise CardError("io", 0, f"{self.name}: {exc}") from None
        code = _hr(hr)
        if code == 0:
            return bytes(response)
        self.close()
        if code in _NO_SERVICE:
            self._context.drop()
            raise Stale("pcscd stopped")
        if code in _STALE:
            raise Stale(f"the {self._who} was removed from {self.name!r}")
        raise CardError("io", 0, f"{self.name}: {scard.SCardGetErrorMessage(hr)}")

    def close(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card[0], scard.SCARD_LEAVE_CARD)
            self._card = None


class PcscReader(ApduReader):
    """Cards and the SAM through pyscard and pcscd: a shop's reader, or vpcd's virtual one.

    pyscard's low-level ``scard`` API rather than its card-connection classes: one context
    for the reader's life and the PC/SC error codes as they are, which say "card removed"
    apart from "pcscd gone" (both end as ``CardError``: "no_card", "no_reader")."""

    def __init__(self, card_reader: str = CARD_READER, sam_reader: str = SAM_READER) -> None:
        self._context = _PcscContext()
        super().__init__(
            _PcscSlot(self._context, card_reader, apdu.CARD_AID, "card"),
            _PcscSlot(self._context, sam_reader, apdu.SAM_AID, "SAM"),
        )

    def close(self) -> None:
        with self._lock:
            self._card.close()
            self._sam.close()
            self._context.drop()
