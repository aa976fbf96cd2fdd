"""The kiosk's card reader (F27, docs/kiosk.md): the shop's reader beside the kiosk's screen.
A card put in the reader is read (its number only: the balance shown is the server's) and
posted to the portal with the kiosk's reader key; the portal shows its balance on the
kiosk's screen for a few seconds. The same card is posted once while it stays in the
reader; taking it out and putting it back shows it again.

    python -m terminal kiosk --portal https://portal.example --key kio_...
    (or the key in COMPTOIR_KIOSK_KEY, out of the process list)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Protocol, TextIO

from terminal.reader import CardError, CardView

POLL_S = 0.3
TIMEOUT_S = 10.0


class CardSlot(Protocol):
    def present(self) -> bool: ...

    def read(self) -> CardView: ...


Post = Callable[[str], tuple[int, str]]


def poster(portal: str, key: str, timeout: float = TIMEOUT_S) -> Post:
    """POST /v1/kiosk/cards with the reader key: (status, the problem's reason or "")."""
    url = portal.rstrip("/") + "/v1/kiosk/cards"

    def post(number: str) -> tuple[int, str]:
        request = urllib.request.Request(
            url,
            data=json.dumps({"number": number}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, ""
        except urllib.error.HTTPError as exc:
            try:
                reason = str(json.loads(exc.read() or b"{}").get("reason", ""))
            except ValueError:
                reason = ""
            return exc.code, reason
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return 0, f"unreachable: {exc}"

    return post


# What the shop's screen says about each answer (never the card's number: it is a customer's).
SAID = {
    202: "card shown on the kiosk",
    401: "the kiosk key is refused: set the kiosk up again (/kiosk/setup)",
    404: "a card this network does not know, or no longer live",
    429: "too many unknown cards lately: the kiosk waits a few minutes",
}


def run(
    reader: CardSlot,
    post: Post,
    out: TextIO,
    *,
    once: bool = False,
    poll_s: float = POLL_S,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Reads each card put in, posts it; with ``once``, the first card's answer is the exit
    status (0 shown, 1 otherwise). A key refused stops the loop (2): nothing can work."""
    inserted = False
    while not stop():
        if not reader.present():
            inserted = False
            time.sleep(poll_s)
            continue
        if inserted:  # the same card, still in: shown already
            time.sleep(poll_s)
            continue
        try:
            number = reader.read().number
        except CardError as exc:
            print(f"kiosk: the card could not be read ({exc.code})", file=out, flush=True)
            time.sleep(poll_s)
            continue
        inserted = True
        status, reason = post(number)
        print(f"kiosk: {SAID.get(status, f'refused ({status} {reason})')}", file=out, flush=True)
        if status == 401:
            return 2
        if once:
            return 0 if status == 202 else 1
    return 0
