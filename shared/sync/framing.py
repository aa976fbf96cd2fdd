"""Modem-style framing of the sync line (docs/terminal-protocol.md, "The line").

A frame is ``STX payload ETX LRC``: the LRC is the XOR of every payload byte and of ETX. The
payload is ``<64 hex MAC> SP <JSON>``; JSON escapes every control character, so STX and ETX
never occur inside a good payload and no byte stuffing is needed. Single control bytes ACK,
NAK and EOT travel between frames.

Everything here is pure: ``encode`` makes the bytes, ``Decoder`` turns a byte stream of any
quality (noise, truncated frames, oversize frames, bad LRCs) into events without ever
raising, so the line server and the terminal answer NAK and carry on.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import reduce
from operator import xor
from typing import Any

import orjson

STX = 0x02
ETX = 0x03
EOT = 0x04
ACK = 0x06
NAK = 0x15
# 500 card transactions are about 250 KB of JSON: a frame four times that is refused.
MAX_PAYLOAD = 1 << 20
MAC_HEX = 64


def lrc(payload: bytes) -> int:
    """XOR of the payload's bytes and of ETX (ISO 1155 style, as the modem terminals did)."""
    return reduce(xor, payload, ETX)


def encode(payload: bytes) -> bytes:
    if STX in payload or ETX in payload:
        raise ValueError("a payload may not contain STX or ETX")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return bytes((STX,)) + payload + bytes((ETX, lrc(payload)))


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Control:
    byte: int  # ACK, NAK or EOT


@dataclass(frozen=True, slots=True)
class Bad:
    """Something the receiver answers with NAK: ``bad_lrc``, ``truncated`` (a new STX before
    the ETX), ``oversize`` or ``noise`` (bytes outside any frame)."""

    reason: str


Event = Frame | Control | Bad

_IDLE, _BODY, _LRC, _SKIP, _SKIP_LRC = range(5)


class Decoder:
    """Incremental: ``feed`` any slice of the stream, get the events it completes."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._state = _IDLE
        self._buf = bytearray()
        self._noise = False

    @property
    def in_frame(self) -> bool:
        """A frame is started and not finished (the inter-byte timeout applies)."""
        return self._state != _IDLE

    def reset(self) -> Bad | None:
        """Drop a partial frame (inter-byte timeout); its event, if one was started."""
        started = self._state in (_BODY, _LRC)
        self._state, self._noise = _IDLE, False
        self._buf.clear()
        return Bad("truncated") if started else None

    def feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        i, n = 0, len(data)
        while i < n:
            if self._state == _IDLE:
                b = data[i]
                i += 1
                if b == STX:
                    self._flush_noise(out)
                    self._state = _BODY
                    self._buf.clear()
                elif b in (ACK, NAK, EOT):
                    self._flush_noise(out)
                    out.append(Control(b))
                else:
                    self._noise = True
            elif self._state == _BODY:
                # Scan for the end in one C call rather than byte by byte: frames are large.
                j = _first(data, i)
                if j < 0:
                    self._buf += data[i:]
                    i = n
                else:
                    self._buf += data[i:j]
                    i = j + 1
                    if data[j] == STX:  # the previous frame never ended
                        out.append(Bad("truncated"))
                        self._buf.clear()
                        continue
                    self._state = _LRC
                if len(self._buf) > self.max_payload:
                    out.append(Bad("oversize"))
                    self._buf.clear()
                    self._state = _SKIP_LRC if self._state == _LRC else _SKIP
            elif self._state == _LRC:
                b = data[i]
                i += 1
                payload = bytes(self._buf)
                self._buf.clear()
                self._state = _IDLE
                out.append(Frame(payload) if b == lrc(payload) else Bad("bad_lrc"))
            elif self._state == _SKIP:  # the rest of an oversize frame: to its ETX or an STX
                j = _first(data, i)
                if j < 0:
                    i = n
                else:
                    self._state = _BODY if data[j] == STX else _SKIP_LRC
                    self._buf.clear()
                    i = j + 1
            else:  # _SKIP_LRC: the LRC of an oversize frame
                i += 1
                self._state = _IDLE
        if self._state == _IDLE:
            self._flush_noise(out)
        return out

    def _flush_noise(self, out: list[Event]) -> None:
        if self._noise:
            self._noise = False
            out.append(Bad("noise"))


def _first(data: bytes, start: int) -> int:
    """Index of the first STX or ETX at or after ``start``; -1 if none."""
    a = data.find(ETX, start)
    b = data.find(STX, start)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


# --- The authenticated payload -----------------------------------------------------------------


def frame_mac(secret: str, challenge: str, body: bytes) -> str:
    """HMAC-SHA256 with the terminal's secret over the session's challenge (hex, as sent in
    the greeting), a line feed and the JSON bytes exactly as framed."""
    return hmac.new(secret.encode(), challenge.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def seal(secret: str, challenge: str, message: dict[str, Any]) -> bytes:
    """The payload of an authenticated frame: ``MAC SP JSON``."""
    body = orjson.dumps(message)
    return frame_mac(secret, challenge, body).encode() + b" " + body


def split(payload: bytes) -> tuple[str, bytes] | None:
    """The MAC and the JSON of an authenticated payload; None when it has not that shape."""
    if len(payload) < MAC_HEX + 2 or payload[MAC_HEX] != 0x20:
        return None
    try:
        mac = payload[:MAC_HEX].decode("ascii")
    except UnicodeDecodeError:
        return None
    return mac, payload[MAC_HEX + 1 :]


def check(secret: str, challenge: str, mac: str, body: bytes) -> bool:
    return hmac.compare_digest(frame_mac(secret, challenge, body), mac)
