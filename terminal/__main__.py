"""The in-store terminal: ``setup`` once, then ``run`` (the front desk), or one-shot commands.

    python -m terminal setup --dir run/terminal --terminal-id ID --secret S \\
        --gateway http://127.0.0.1:8080 --line 127.0.0.1:8070
    python -m terminal run --dir run/terminal      # the front desk (stdin)
    python -m terminal do --dir run/terminal "vente 12,50 livres"
    python -m terminal kiosk --portal https://portal.example --key kio_...   # docs/kiosk.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from uuid import UUID

from terminal import i18n, kiosk
from terminal.adapters.journal import Journal
from terminal.app import Desk, nightly
from terminal.pcsc import PcscReader
from terminal.terminal import Terminal


def _desk(directory: Path, card_reader: str, sam_reader: str) -> Desk:
    journal = Journal(directory / "terminal.db")
    if journal.get("terminal_id") is None:
        sys.exit(f"{directory}: not set up; run: python -m terminal setup ...")
    reader = PcscReader(card_reader=card_reader, sam_reader=sam_reader)
    return Desk(Terminal(journal, reader), journal.get("lang", "fr"))


async def _run(desk: Desk) -> None:
    loop = asyncio.get_running_loop()
    night = asyncio.create_task(nightly(desk, sys.stdout))
    print("\n".join(await desk.help([])), flush=True)
    fill = desk.journal.fill()
    if fill.warning:
        print(desk.warning(fill), flush=True)
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip().lower() in ("quitter", "quit", "exit"):
                break
            print("\n".join(await desk.handle(line)), flush=True)
    finally:
        night.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await night


async def _do(desk: Desk, lines: list[str]) -> int:
    for line in lines:
        print("\n".join(await desk.handle(line)), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m terminal", description=__doc__)
    p.add_argument("--card-reader", default="Virtual PCD 00 00")
    p.add_argument("--sam-reader", default="Virtual PCD 00 01")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup", help="the terminal's identity and where its gateway is")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--terminal-id", type=UUID, required=True)
    s.add_argument("--secret", required=True)
    s.add_argument("--gateway", required=True, help="http://host:port")
    s.add_argument("--line", default=None, help="host:port of the gateway's line (modem) port")
    s.add_argument("--lang", choices=i18n.LANGS, default="fr")
    r = sub.add_parser("run", help="the front desk, reading commands on stdin")
    r.add_argument("--dir", type=Path, required=True)
    d = sub.add_parser("do", help="run front-desk commands and exit")
    d.add_argument("--dir", type=Path, required=True)
    d.add_argument("lines", nargs="+")
    k = sub.add_parser("kiosk", help="the kiosk's card reader: each card's balance on its screen")
    k.add_argument("--portal", required=True, help="the portal's address, https://host")
    k.add_argument(
        "--key",
        default=os.environ.get("COMPTOIR_KIOSK_KEY"),
        help="the reader key /kiosk/setup showed (default: $COMPTOIR_KIOSK_KEY)",
    )
    k.add_argument("--once", action="store_true", help="read one card, then exit")
    args = p.parse_args(argv)
    if args.command == "kiosk":
        if not args.key:
            p.error("--key (or COMPTOIR_KIOSK_KEY): the key /kiosk/setup showed")
        reader = PcscReader(card_reader=args.card_reader, sam_reader=args.sam_reader)
        try:
            return kiosk.run(
                reader, kiosk.poster(args.portal, args.key), sys.stdout, once=args.once
            )
        except KeyboardInterrupt:
            return 0
        finally:
            reader.close()
    if args.command == "setup":
        if len(args.secret) < 32:
            p.error("--secret: at least 32 characters (the secret the back office gave)")
        if args.line and not args.line.rpartition(":")[2].isdigit():
            p.error("--line: host:port")
        journal = Journal(args.dir / "terminal.db")
        journal.set(
            terminal_id=str(args.terminal_id),
            secret=args.secret,
            gateway=args.gateway.rstrip("/"),
            line=args.line,
            lang=args.lang,
        )
        print(f"terminal {args.terminal_id} set up in {args.dir}; first sync configures it")
        return 0
    desk = _desk(args.dir, args.card_reader, args.sam_reader)
    if args.command == "run":
        asyncio.run(_run(desk))
        return 0
    return asyncio.run(_do(desk, args.lines))


if __name__ == "__main__":
    sys.exit(main())
