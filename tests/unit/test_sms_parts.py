"""The listing of what Kannel's fake operator received (deploy/messaging.py's
``sms_received``, behind `python -m deploy.messaging list` and the tests' Kannel fixture): a
long text is sent in parts, each logged as URL-encoded ``data`` whatever its coding."""

from __future__ import annotations

from pathlib import Path

from deploy.messaging import Sms, sms_received

PREFIX = "2026-12-06 18:26:18 [28675] [0] DEBUG: Got message"


def _log(tmp_path: Path, *lines: str) -> Path:
    log = tmp_path / "fakesmsc.log"
    log.write_text("".join(f"{PREFIX} {i + 1}: <{line}>\n" for i, line in enumerate(lines)))
    return log


def test_a_long_accented_gsm7_text_is_read_back_as_sent(tmp_path: Path) -> None:
    # Kannel keeps a 7-bit text in UTF-8 until it hands it to a real operator: "é" is C3 A9.
    log = _log(
        tmp_path,
        "Comptoir +33618437039 udh %05%00%03%07%02%01 data "
        "compl%C3%A9tez+vos+coordonn%C3%A9es+de+fid%C3",
        "Comptoir +33618437039 udh %05%00%03%07%02%02 data %A9lit%C3%A9+%3A+http%3A%2F%2Fx",
    )
    assert sms_received(log) == [
        Sms("Comptoir", "+33618437039", "complétez vos coordonnées de fidélité : http://x")
    ]


def test_ucs2_parts_and_a_single_text_are_read_back_as_sent(tmp_path: Path) -> None:
    ucs2 = "çà".encode("utf-16-be")
    half = "".join(f"%{b:02X}" for b in ucs2[:2]), "".join(f"%{b:02X}" for b in ucs2[2:])
    log = _log(
        tmp_path,
        f"Comptoir +33600000001 udh %05%00%03%09%02%01 data {half[0]}",
        f"Comptoir +33600000001 udh %05%00%03%09%02%02 data {half[1]}",
        "Comptoir +33600000002 text Votre code : 482913",
    )
    assert sms_received(log) == [
        Sms("Comptoir", "+33600000001", "çà"),
        Sms("Comptoir", "+33600000002", "Votre code : 482913"),
    ]
