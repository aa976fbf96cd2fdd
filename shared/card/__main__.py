"""Virtual Comptoir cards and SAM for the demo, the tests and a developer's desk.

    python -m shared.card personalize --number 2500010000000018 --card-type UUID \\
        --expires 2028-12-31 [--available 0] --out card.json
    python -m shared.card insert card.json [--port 35963 | --slot 0]   (Ctrl-C removes it)
    python -m shared.card sam [--port 35964]
    python -m shared.card show card.json
    python -m shared.card clone card.json copy.json

Masters: COMPTOIR_CARD_MASTERS=credit:HEX,debit:HEX,cert:HEX, else the development ones.
pcscd must run for ``insert`` and ``sam`` (bash deploy/pcscd.sh start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from uuid import UUID

from shared.card.application import Application, SamApplication
from shared.card.crypto import DEV_MASTERS, Purpose
from shared.card.state import CardState, load_state, parse_masters, personalize, save_state
from shared.card.vpcd import CARD_PORT, HOST, SAM_PORT, VpcdLink, card_from_file
from shared.rules.codes import InvalidCode, format_card_number

MASTERS_ENV = "COMPTOIR_CARD_MASTERS"


class Usage(Exception):
    """Bad input: said in one sentence, exit code 2."""


def _masters() -> Mapping[Purpose, bytes]:
    text = os.environ.get(MASTERS_ENV)
    if not text:
        return DEV_MASTERS
    try:
        return parse_masters(text)
    except ValueError as exc:
        raise Usage(f"{MASTERS_ENV}: {exc}") from None


def _load(path: Path) -> CardState:
    try:
        return load_state(path)
    except FileNotFoundError:
        raise Usage(f"{path}: no such card file") from None
    except (OSError, ValueError) as exc:
        raise Usage(f"{path}: cannot read this card: {exc}") from None


def _fresh(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise Usage(f"{path} exists: writing would erase that card (--force to do it anyway)")
    if not path.parent.is_dir():
        raise Usage(f"{path.parent}: no such directory")


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def cmd_personalize(args: argparse.Namespace) -> int:
    try:
        card_type = UUID(args.card_type)
    except ValueError:
        raise Usage(f"--card-type is a UUID, not {args.card_type!r}") from None
    try:
        expires = date.fromisoformat(args.expires)
    except ValueError:
        raise Usage(f"--expires is a date YYYY-MM-DD, not {args.expires!r}") from None
    if args.available < 0:
        raise Usage("--available is a number of cents, 0 or more")
    if not 0 <= args.key_version <= 255:
        raise Usage("--key-version is between 0 and 255")
    out = Path(args.out)
    _fresh(out, args.force)
    try:
        state = personalize(
            args.number,
            card_type,
            expires,
            masters=_masters(),
            available=args.available,
            key_version=args.key_version,
        )
    except (InvalidCode, ValueError) as exc:
        raise Usage(str(exc)) from None
    save_state(out, state)
    print(f"card {format_card_number(state.number)} personalized in {out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    s = _load(Path(args.card))
    lines = [
        ("card", format_card_number(s.number)),
        ("card type", str(s.card_type_id)),
        ("expires on", s.expires_on.isoformat()),
        ("status", "BLOCKED" if s.blocked else "active"),
        ("available", _money(s.available)),
        ("pending", _money(s.pending)),
        ("units", str(s.units)),
        ("visits", str(s.visits)),
        ("window since", s.window_started_at.isoformat() if s.window_started_at else "none"),
        ("last used", s.last_used_on.isoformat() if s.last_used_on else "never"),
        ("ATC", str(s.atc)),
        ("key version", str(s.key_version)),
    ]
    for label, value in lines:
        print(f"{label:<13}{value}")
    print(f"{'log':<13}{len(s.log)} transaction(s), newest first")
    for e in reversed(s.log):
        print(
            f"  ATC {e.atc:<6} {e.kind:<10} {_money(e.amount_cents):>10}  "
            f"{e.occurred_at.isoformat()}  terminal {e.terminal_id} seq {e.seq}"
        )
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    source, copy = Path(args.card), Path(args.copy)
    _load(source)  # a card, not any file
    _fresh(copy, args.force)
    shutil.copyfile(source, copy)
    print(f"{copy}: a byte-for-byte clone of {source} (same number, keys and counter)")
    return 0


def _serve(app: Application, port: int, host: str, what: str) -> int:
    def say(message: str) -> None:
        print(f"{what}: {message}", file=sys.stderr, flush=True)

    link = VpcdLink(app, port=port, host=host, notify=say)

    def removed(signum: int, frame: FrameType | None) -> None:
        link.stop()

    signal.signal(signal.SIGTERM, removed)
    signal.signal(signal.SIGINT, removed)
    link.serve()
    return 0


def cmd_insert(args: argparse.Namespace) -> int:
    path = args.card or args.state
    if path is None:
        raise Usage("which card? python -m shared.card insert card.json")
    state = _load(Path(path))
    port = args.port if args.port is not None else CARD_PORT + args.slot
    return _serve(
        card_from_file(Path(path)), port, args.host, f"card {format_card_number(state.number)}"
    )


def cmd_sam(args: argparse.Namespace) -> int:
    return _serve(SamApplication(_masters()), args.port, args.host, "SAM")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m shared.card",
        description="Virtual Comptoir chip cards and SAM, served to pcscd through vpcd.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("personalize", help="make a new card file")
    s.add_argument("--number", required=True, help="16 digits with a Luhn check digit")
    s.add_argument("--card-type", required=True, help="the card type's UUID")
    s.add_argument("--expires", required=True, help="last valid day, YYYY-MM-DD")
    s.add_argument("--available", type=int, default=0, help="initial balance in cents")
    s.add_argument("--key-version", type=int, default=1)
    s.add_argument("--out", required=True, help="the card file to write")
    s.add_argument("--force", action="store_true", help="overwrite an existing file")
    s.set_defaults(run=cmd_personalize)

    s = sub.add_parser("insert", help="insert a card in a virtual reader until Ctrl-C")
    s.add_argument("card", nargs="?", help="the card file")
    s.add_argument("--state", help=argparse.SUPPRESS)  # the design's spelling
    s.add_argument("--port", type=int, help=f"vpcd port (default {CARD_PORT})")
    s.add_argument("--slot", type=int, choices=(0, 1), default=0, help="vpcd slot, if no --port")
    s.add_argument("--host", default=HOST)
    s.set_defaults(run=cmd_insert)

    s = sub.add_parser("sam", help="insert the terminal's SAM until Ctrl-C")
    s.add_argument("--port", type=int, default=SAM_PORT)
    s.add_argument("--host", default=HOST)
    s.set_defaults(run=cmd_sam)

    s = sub.add_parser("show", help="print a card file")
    s.add_argument("card")
    s.set_defaults(run=cmd_show)

    s = sub.add_parser("clone", help="copy a card byte for byte (the cloned-card demo)")
    s.add_argument("card")
    s.add_argument("copy")
    s.add_argument("--force", action="store_true", help="overwrite an existing copy")
    s.set_defaults(run=cmd_clone)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except Usage as exc:
        print(f"python -m shared.card {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `show ... | head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
