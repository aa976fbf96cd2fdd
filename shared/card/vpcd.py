"""A card (or SAM) in a pcscd reader slot: the vsmartcard ``vpcd`` driver's TCP protocol.

The vpcd driver, loaded by pcscd, listens on 127.0.0.1:35963 for slot "Virtual PCD 00 00"
and 35964 for "Virtual PCD 00 01". Connecting *is* inserting the card; closing is removing
it. Every message, both ways, is a 2-byte big-endian length then the payload; a 1-byte
payload from the driver is a control code (00 power off, 01 power on, 02 reset, 04 "your
ATR?" — the only one answered), anything longer a command APDU answered with the response
APDU. pcscd asks for the ATR several times a second, so the link answers at any time.

When pcscd stops, the socket closes; the link retries until a new pcscd listens again,
which is "the card stays in the reader" across a daemon restart.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from shared.card.application import Application, CardApplication
from shared.card.state import CardState, load_state, save_state

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CARD_PORT = 35963  # "Virtual PCD 00 00"
SAM_PORT = 35964  # "Virtual PCD 00 01"

POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes, or None once the peer closed: TCP may deliver a message in pieces."""
    buf = bytearray()
    while len(buf) < n:
        _quick_ack(sock)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _quick_ack(sock: socket.socket) -> None:
    """The driver writes the length and the payload separately; with Nagle on its side and
    delayed ACKs on ours, every APDU would wait ~40 ms for an ACK. Linux resets QUICKACK
    after use, so it is set before every read."""
    if _QUICKACK is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


class VpcdLink:
    """One application in one vpcd slot, until ``stop()``.

    ``serve()`` blocks (the CLI); ``start()`` runs it in a daemon thread (the test fixtures).
    ``inserted`` is set while the TCP connection to vpcd is open."""

    def __init__(
        self,
        app: Application,
        port: int = CARD_PORT,
        host: str = HOST,
        retry_s: float = 0.2,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.port = port
        self.host = host
        self.retry_s = retry_s
        self.inserted = threading.Event()
        self._notify = notify or (lambda message: log.info("%s", message))
        self._stopped = threading.Event()
        # Reentrant: stop() runs in a signal handler, maybe while serve() holds it.
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> VpcdLink:
        self._thread = threading.Thread(target=self.serve, name=f"vpcd-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Remove the card: close the connection (thread-safe, also from a signal handler)."""
        self._stopped.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            # shutdown, not close: it wakes the recv() blocked in the serving thread.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` or until stopped. In short sleeps, not ``Event.wait(timeout)``: a
        lock's timed wait never times out under libfaketime (make test-dates), where sleep does."""
        deadline = time.monotonic() + seconds
        while not self._stopped.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)

    def serve(self) -> None:
        waiting_said = False
        while not self._stopped.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2)
            except OSError:
                if not waiting_said:
                    self._notify(
                        f"waiting for pcscd's virtual reader on {self.host}:{self.port} "
                        "(is pcscd running? bash deploy/pcscd.sh start)"
                    )
                    waiting_said = True
                self._pause(self.retry_s)
                continue
            waiting_said = False
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sock = sock
            if self._stopped.is_set():  # stop() came while connecting
                sock.close()
                break
            self.inserted.set()
            self._notify(f"inserted in the reader on port {self.port}")
            try:
                self._session(sock)
            except OSError as exc:
                log.debug("vpcd connection lost: %s", exc)
            finally:
                self.inserted.clear()
                with self._lock:
                    self._sock = None
                sock.close()
                self.app.power_off()
            if not self._stopped.is_set():
                self._notify("the reader went away (pcscd stopped?): waiting to reconnect")
                self._pause(self.retry_s)
        self._notify("removed from the reader")

    def _session(self, sock: socket.socket) -> None:
        while True:
            header = _recv_exact(sock, 2)
            if header is None:
                return
            payload = _recv_exact(sock, int.from_bytes(header, "big"))
            if payload is None:
                return
            if len(payload) == 1:
                code = payload[0]
                if code == GET_ATR:
                    _send(sock, self.app.atr)
                elif code in (POWER_ON, RESET):
                    self.app.power_on()
                elif code == POWER_OFF:
                    self.app.power_off()
                else:
                    # Not a control code, so a 1-byte APDU: too short for any command. (A
                    # 1-byte APDU 00, 01 or 02 cannot be told from a control code: it gets
                    # no answer and the driver waits; nothing a terminal sends is that short.)
                    _send(sock, self.app.process(payload))
            elif payload:
                _send(sock, self.app.process(payload))


def card_from_file(path: Path) -> CardApplication:
    """The card whose EEPROM is ``path``: every change is saved there before it answers."""
    state = load_state(path)

    def persist(new: CardState) -> None:
        save_state(path, new)

    return CardApplication(state, on_change=persist)
