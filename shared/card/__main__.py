"""Virtual Comptoir cards and SAM for the demo, the tests and a developer's desk.

    python -m shared.card personalize --number 2500010000000018 --card-type UUID \\
        --expires 2028-12-31 [--available 0] --out card.json
    python -m shared.card insert card.json [--port 35963 | --slot 0]   (Ctrl-C removes it)
    python -m shared.card sam [--port 35964]
    python -m shared.card show card.json
    python -m shared.card clone card.json copy.json
    python -m shared.card masters --key-version 2 --keyring masters.txt [--cert-keyring cert.txt]

Masters (shared/card/keyring.py): COMPTOIR_CARD_MASTERS (or COMPTOIR_CARD_MASTERS_FILE) holds
either one set, ``credit:HEX,debit:HEX,cert:HEX``, that serves every key version, or a set per
version, ``1=credit:HEX,debit:HEX,cert:HEX`` entries; else the development masters. With sets
per version, ``personalize`` uses the current version (COMPTOIR_CARD_KEY_VERSION, else the
highest) and the SAM holds every version given and refuses the others (6A88). ``masters``
makes the random set of a new version. pcscd must run for ``insert`` and ``sam`` (bash
deploy/pcscd.sh start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType
from uuid import UUID

from shared.card.application import Application, SamApplication
from shared.card.crypto import DEFAULT_KEY_VERSION, DEV_MASTERS, Purpose
from shared.card.keyring import (
    current_version,
    is_versioned,
    master_set_entry,
    new_master_set,
    parse_master_sets,
    versions_text,
)
from shared.card.state import CardState, load_state, parse_masters, personalize, save_state
from shared.card.vpcd import CARD_PORT, HOST, SAM_PORT, VpcdLink, card_from_file
from shared.rules.codes import InvalidCode, format_card_number

MASTERS_ENV = "COMPTOIR_CARD_MASTERS"
VERSION_ENV = "COMPTOIR_CARD_KEY_VERSION"


class Usage(Exception):
    """Bad input: said in one sentence, exit code 2."""


@dataclass(frozen=True, slots=True)
class Masters:
    """The masters the tools use: one set for every key version (``every``), or a set per
    version, ``current`` the one new cards get."""

    every: Mapping[Purpose, bytes] | None
    by_version: Mapping[int, Mapping[Purpose, bytes]]
    current: int

    def of(self, key_version: int) -> Mapping[Purpose, bytes]:
        masters = self.by_version.get(key_version) or self.every
        if masters is None:
            held = versions_text(self.by_version)
            raise Usage(f"no masters of key version {key_version} (the keyring holds {held})")
        return masters


def _keyring_text() -> str | None:
    text, path = os.environ.get(MASTERS_ENV), os.environ.get(f"{MASTERS_ENV}_FILE")
    if text and path:
        raise Usage(f"both {MASTERS_ENV} and {MASTERS_ENV}_FILE are set: keep one")
    if path:
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise Usage(f"{MASTERS_ENV}_FILE={path}: {exc.strerror}") from None
    return text or None


def _masters() -> Masters:
    text = _keyring_text()
    named = os.environ.get(VERSION_ENV, "").strip()
    if named and not named.isdigit():
        raise Usage(f"{VERSION_ENV} is a key version, 0..255, not {named!r}")
    try:
        if text is None:
            return Masters(DEV_MASTERS, {}, int(named or DEFAULT_KEY_VERSION))
        if not is_versioned(text):
            return Masters(parse_masters(text), {}, int(named or DEFAULT_KEY_VERSION))
        sets = parse_master_sets(text)
        return Masters(None, sets, current_version(sets, int(named or 0)))
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
    masters = _masters()
    key_version = masters.current if args.key_version is None else args.key_version
    if not 0 <= key_version <= 255:
        raise Usage("--key-version is between 0 and 255")
    out = Path(args.out)
    _fresh(out, args.force)
    try:
        state = personalize(
            args.number,
            card_type,
            expires,
            masters=masters.of(key_version),
            available=args.available,
            key_version=key_version,
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
    masters = _masters()
    what = "SAM" if masters.every else f"SAM (key versions {versions_text(masters.by_version)})"
    sam = SamApplication(masters.every, by_version=masters.by_version)
    return _serve(sam, args.port, args.host, what)


def _append(path: Path, version: int, sep: str, line: str) -> None:
    """Add a version's entry to a keyring file (made readable by its owner only)."""
    if path.exists():
        held = [e.split(sep, 1)[0].strip() for e in path.read_text().splitlines()]
        if str(version) in held:
            raise Usage(f"{path} already holds key version {version}")
    elif not path.parent.is_dir():
        raise Usage(f"{path.parent}: no such directory")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(line + "\n")


def cmd_masters(args: argparse.Namespace) -> int:
    version = args.key_version
    if not 0 <= version <= 255:
        raise Usage("--key-version is between 0 and 255")
    masters = new_master_set()
    line = master_set_entry(version, masters)
    if args.keyring is None:
        print(line)  # for a keyring kept elsewhere (a vault): the operator's to store
    else:
        _append(Path(args.keyring), version, "=", line)
        print(f"key version {version}: masters added to {args.keyring}", file=sys.stderr)
    if args.cert_keyring is not None:
        _append(Path(args.cert_keyring), version, ":", f"{version}:{masters['cert'].hex()}")
        print(f"key version {version}: cert master added to {args.cert_keyring}", file=sys.stderr)
    return 0


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
    s.add_argument(
        "--key-version", type=int, help="default: the keyring's current version (else 1)"
    )
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

    s = sub.add_parser("masters", help="make the random masters of a new key version")
    s.add_argument("--key-version", type=int, required=True)
    s.add_argument("--keyring", help="the master-sets file to add them to (else: printed)")
    s.add_argument("--cert-keyring", help="the cards service's keyring file, for the cert master")
    s.set_defaults(run=cmd_masters)

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
