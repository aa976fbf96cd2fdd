"""The listing of what Kannel's fake operator received (``python -m deploy.messaging list``,
the tests' ``kannel.sms_to``) shows the SMS as the customer reads it: a concatenated GSM 7-bit
SMS with accents (Kannel logs its UTF-8, URL-encoded) was shown as ``complÃ©tez``."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from deploy.messaging import Sms, sms_received

# Two parts of the details link crm sent after an enrolment in `make run` (fakesmsc.log).
GSM7 = [
    "2026-12-06 19:45:19 [28110] [0] DEBUG: Got message 1: <Comptoir +33612345678 udh "
    "%05%00%03%00%02%01 data compl%C3%A9tez+vos+coordonn%C3%A9es+de+fid%C3%A9lit%C3%A9+%3A+"
    "http%3A%2F%2F127.0.0.1%3A8083%2Fv1%2Fpublic%2Fdetails%2FZGV0YWls.O>",
    "2026-12-06 19:45:19 [28110] [0] DEBUG: Got message 2: <Comptoir +33612345678 udh "
    "%05%00%03%00%02%02 data A.OtAl>",
]


def _ucs2_parts(text: str, reference: int) -> list[str]:
    raw = text.encode("utf-16-be")
    cut = len(raw) // 4 * 2  # on a code unit's boundary, inside the surrogate pair maybe
    lines = []
    for n, chunk in enumerate((raw[:cut], raw[cut:]), 1):
        data = urllib.parse.quote_from_bytes(chunk)
        udh = f"%05%00%03%{reference:02X}%02%{n:02X}"
        lines.append(f"DEBUG: Got message {n}: <Comptoir +33600000000 udh {udh} data {data}>")
    return lines


def test_a_concatenated_sms_is_shown_as_sent(tmp_path: Path) -> None:
    log = tmp_path / "fakesmsc.log"
    news = "Arrivage de cèpes et de girolles, çà et là ☕ " * 2
    single = "DEBUG: Got message 5: <Comptoir +33611111111 text Café à 2€, été>"
    log.write_text("\n".join([*GSM7, *_ucs2_parts(news, 7), single]) + "\n")
    assert sms_received(log) == [
        Sms(
            "Comptoir",
            "+33612345678",
            "complétez vos coordonnées de fidélité : "
            "http://127.0.0.1:8083/v1/public/details/ZGV0YWls.OA.OtAl",
        ),
        Sms("Comptoir", "+33600000000", news),
        Sms("Comptoir", "+33611111111", "Café à 2€, été"),
    ]
