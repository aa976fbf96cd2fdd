"""SMS segments, pure (3GPP TS 23.038 and 23.040): a text that fits the GSM 7-bit alphabet goes
in 160 characters, or 153 per part when concatenated (the user data header takes 7); any other
character makes the whole text UCS-2: 70, or 67 per part. A character of the extension table
(``€``, ``[``…) takes two septets (an escape and itself), and a part never splits the pair."""

from __future__ import annotations

from typing import Literal, NamedTuple

Encoding = Literal["gsm7", "ucs2"]

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)


class Segments(NamedTuple):
    encoding: Encoding
    parts: int
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)


_GSM7 = _BASIC | _EXTENSION


def encoding(text: str) -> Encoding:
    return "gsm7" if _GSM7.issuperset(text) else "ucs2"


def segments(text: str) -> Segments:
    """How many SMS ``text`` takes, in which encoding. An empty text is one SMS."""
    enc = encoding(text)
    if enc == "gsm7":
        doubled = set(text) & _EXTENSION  # two septets each
        single, part = 160, 153
    else:
        # A character beyond the BMP (an emoji) is two UTF-16 units, never split either.
        doubled = {c for c in set(text) if ord(c) > 0xFFFF}
        single, part = 70, 67
    units = len(text) + sum(text.count(c) for c in doubled)
    if units <= single:  # the usual text: no walk through its characters
        return Segments(enc, 1, units)
    widths = [2 if c in doubled else 1 for c in text]
    count, used = 1, 0
    for w in widths:
        if used + w > part:
            count, used = count + 1, 0
        used += w
    return Segments(enc, count, units)
