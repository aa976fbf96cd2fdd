"""Command line for the demo network: play a terminal, read the three books.

    python -m deploy.cli sale --terminal bistrot --phone "06 12 34 56 78" --amount 24.60
    python -m deploy.cli redeem --terminal boulangerie --phone 0612345678 --amount 1.00
    python -m deploy.cli sale --terminal librairie --card "2500 0100 0000 0018" --amount 20 --family livres
    python -m deploy.cli enrol --terminal fleuriste --phone 0698765432 --email a@example.org
    python -m deploy.cli enrol --terminal fleuriste --email b@example.org    # no phone
    python -m deploy.cli sale --terminal fleuriste --email b@example.org --amount 12
    python -m deploy.cli account --phone 0612345678     # cards: balance and entries
    python -m deploy.cli pivot                          # clearing: the compte pivot
    python -m deploy.cli customer --phone 0612345678    # crm: the customer file
    python -m deploy.cli status                         # /ready of the five services

Terminal names, ids and secrets come from the file the seed wrote (.comptoir/demo.json, or
COMPTOIR_DEMO_FILE); service addresses from that file or COMPTOIR_<SERVICE>_URL; the admin
token from COMPTOIR_ADMIN_TOKEN or that file. Amounts are euros ("24.60" or "24,60").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import aiohttp

from shared.client import AdminClient, Reply, TerminalClient
from shared.contracts import MAX_SALE_CENTS
from shared.rules.money import format_eur
from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEMO = ROOT / ".comptoir" / "demo.json"


class CliError(Exception):
    """An error to show the user as one line, with a non-zero exit."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- input -------------------------------------------------------------------------------------


def parse_amount(text: str) -> int:
    """Euros typed by a person → integer cents, exactly (Decimal, never float)."""
    raw = text.strip().replace("€", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount in euros: {text!r} (e.g. 24.60)") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not an amount in euros: {text!r}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"{text!r} has more than 2 decimals: amounts are in cents")
    cents = int(value * 100)
    if cents <= 0:
        raise argparse.ArgumentTypeError(f"the amount must be positive: {text!r}")
    if cents > MAX_SALE_CENTS:
        raise argparse.ArgumentTypeError(
            f"the amount is above the limit of {format_eur(MAX_SALE_CENTS)}"
        )
    return cents


def parse_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


# --- demo file and addresses ------------------------------------------------------------------


class Demo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise CliError(
                    f"{self.path} does not exist: start the demo with `make run` "
                    "(or seed it with `python -m deploy.seed`)"
                ) from None
            except (OSError, ValueError) as exc:
                raise CliError(f"cannot read {self.path}: {exc}") from None
        return self._data

    def url(self, service: str) -> str:
        env = os.environ.get(f"COMPTOIR_{service.upper()}_URL")
        if env:
            return env.rstrip("/")
        try:
            urls: dict[str, str] = self.data.get("urls", {})
        except CliError:
            urls = {}
        return urls.get(service, f"http://127.0.0.1:{DEFAULT_PORTS[service]}").rstrip("/")

    def token(self) -> str:
        return os.environ.get("COMPTOIR_ADMIN_TOKEN") or Settings().admin_token

    @property
    def association_id(self) -> str:
        return str(self.data["association"]["id"])

    def terminal(self, name: str) -> dict[str, Any]:
        terminals: dict[str, Any] = self.data.get("terminals", {})
        if name not in terminals:
            known = ", ".join(sorted(terminals)) or "none"
            raise CliError(f"unknown terminal {name!r}; the demo has: {known}")
        return dict(terminals[name])

    def merchant_name(self, merchant_id: str | None) -> str:
        if merchant_id is None:
            return ""
        try:
            terminals = self.data.get("terminals", {})
        except CliError:
            return merchant_id
        for t in terminals.values():
            if t.get("merchant_id") == merchant_id:
                return str(t["merchant"])
        return merchant_id


# --- output ------------------------------------------------------------------------------------


def problem_text(reply: Reply) -> str:
    b = reply.body
    if isinstance(b, dict):
        text = str(b.get("title") or b.get("status") or "error")
        if b.get("detail"):
            text += f": {b['detail']}"
        for e in b.get("errors", []) or []:
            text += f"\n  {e.get('field')}: {e.get('message')}"
        return f"HTTP {reply.status} {text}"
    return f"HTTP {reply.status} {b!r}"


def show(args: argparse.Namespace, body: Any, summary: str) -> None:
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(summary)


# --- commands ----------------------------------------------------------------------------------


async def _terminal_request(
    args: argparse.Namespace,
    demo: Demo,
    session: aiohttp.ClientSession,
    kind: str,
    send: Callable[[TerminalClient], Awaitable[Reply]],
    request_id: str,
) -> tuple[dict[str, Any], Reply]:
    t = demo.terminal(args.terminal)
    client = TerminalClient(session, demo.url("terminals"), t["id"], t["secret"])
    reply = await send(client)
    # 202: accepted for processing, the verdict is not in yet; ask again for a while.
    for _ in range(40):
        if reply.status != 202:
            break
        await asyncio.sleep(0.25)
        reply = await client.request("GET", f"/v1/{kind}s/{request_id}")
    if reply.status == 202:
        raise CliError(
            f"{kind} {request_id} is still pending; ask again later: GET /v1/{kind}s/{request_id}"
        )
    return t, reply


async def cmd_sale(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    sale_id = args.id or str(uuid.uuid4())
    t, reply = await _terminal_request(
        args,
        demo,
        session,
        "sale",
        lambda c: c.sale(
            args.phone,
            args.amount,
            args.family,
            sale_id=sale_id,
            card_number=args.card,
            email=args.email,
        ),
        sale_id,
    )
    if reply.status not in (200, 201):
        raise CliError(f"sale not accepted: {problem_text(reply)}", 3)
    b = reply.body
    opened = " (new account opened)" if b.get("account_opened") else ""
    show(
        args,
        b,
        (
            f"sale {b['sale_id']} accepted at {t['merchant']}{opened}\n"
            f"  purchase {format_eur(b['amount_cents'])}  reward {format_eur(b['reward_cents'])}  "
            f"cagnotte now {format_eur(b['balance_cents'])}"
            f"  pending {format_eur(b.get('pending_cents', 0))}\n"
            + "".join(f"  no full reward: {r['detail']}\n" for r in b.get("refusals", []))
            + f"  account {b['account_id']}"
        ),
    )
    return 0


async def cmd_redeem(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    rid = args.id or str(uuid.uuid4())
    t, reply = await _terminal_request(
        args,
        demo,
        session,
        "redemption",
        lambda c: c.redeem(
            args.phone, args.amount, redemption_id=rid, card_number=args.card, email=args.email
        ),
        rid,
    )
    if reply.status not in (200, 201):
        raise CliError(f"redemption not accepted: {problem_text(reply)}", 3)
    b = reply.body
    show(
        args,
        b,
        (
            f"redemption {b['redemption_id']} accepted at {t['merchant']}\n"
            f"  paid with the cagnotte {format_eur(b['amount_cents'])}  "
            f"cagnotte now {format_eur(b['balance_cents'])}\n"
            f"  account {b['account_id']}"
        ),
    )
    return 0


async def cmd_enrol(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    details = {
        k: v
        for k, v in (
            ("phone", args.phone),
            ("email", args.email),
            ("first_name", args.first_name),
            ("last_name", args.last_name),
        )
        if v
    }
    if not args.phone and not args.email:
        raise CliError("enrol: give --phone, --email or both", 2)
    t = demo.terminal(args.terminal)
    client = TerminalClient(session, demo.url("terminals"), t["id"], t["secret"])
    eid = str(uuid.uuid4())
    reply = await client.request("POST", "/v1/enrolments", {"enrolment_id": eid, **details})
    for _ in range(40):
        if reply.status != 202:
            break
        await asyncio.sleep(0.25)
        reply = await client.request("GET", f"/v1/enrolments/{eid}")
    if reply.status not in (200, 201):
        raise CliError(f"enrolment not accepted: {problem_text(reply)}", 3)
    b = reply.body
    who = " and ".join(x for x in (b.get("phone"), b.get("email")) if x)
    show(args, b, f"enrolled {who} at {t['merchant']}: account {b['account_id']}")
    return 0


async def _find_account(demo: Demo, admin: AdminClient, phone: str) -> dict[str, Any]:
    url = f"{demo.url('cards')}/v1/associations/{demo.association_id}/accounts"
    async with admin.session.get(url, params={"phone": phone}, headers=admin.headers) as r:
        body = await r.json(content_type=None)
        reply = Reply(r.status, body)
    if reply.status == 404:
        raise CliError(f"no account for {phone} in {demo.data['association']['name']}", 4)
    if reply.status != 200:
        raise CliError(f"cannot look the account up: {problem_text(reply)}")
    return dict(reply.body)


async def cmd_account(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    admin = AdminClient(session, demo.token())
    account = await _find_account(demo, admin, args.phone)
    reply = await admin.call("GET", f"{demo.url('cards')}/v1/accounts/{account['id']}")
    if reply.status != 200:
        raise CliError(f"cannot read the account: {problem_text(reply)}")
    b = reply.body
    lines = [
        f"account {b['id']}  {b['phone']}  opened {b['opened_at'][:19]}",
        f"  cagnotte: {format_eur(b['balance_cents'])}"
        f"  pending: {format_eur(b.get('pending_cents', 0))}"
        f"  stored value: {format_eur(b.get('stored_value_cents', 0))}",
    ]
    for e in reversed(b["entries"]):
        what = {"cagnottage": "earned", "decagnottage": "spent "}.get(e["kind"], e["kind"])
        if e.get("bucket", "available") != "available":
            what += f" ({e['bucket']})"
        purchase = (
            f" on {format_eur(e['purchase_cents'])}"
            if e["kind"] == "cagnottage" and e.get("purchase_cents") is not None
            else ""
        )
        rate = f" at {e['taux_client_bps']} bp" if e.get("taux_client_bps") is not None else ""
        lines.append(
            f"  {e['occurred_at'][:19]}  {what} {format_eur(abs(e['amount_cents'])):>9}"
            f"{purchase}{rate}"
            f"  {demo.merchant_name(e['merchant_id'])}  → {format_eur(e['balance_after_cents'])}"
        )
    show(args, b, "\n".join(lines))
    return 0


async def cmd_pivot(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    admin = AdminClient(session, demo.token())
    reply = await admin.call(
        "GET", f"{demo.url('clearing')}/v1/associations/{demo.association_id}/balances"
    )
    if reply.status != 200:
        raise CliError(f"cannot read the compte pivot: {problem_text(reply)}")
    b = reply.body
    lines = [f"compte pivot of {demo.data['association']['name']} (debit +, credit -)"]
    for a in b["accounts"]:
        label = (
            a["kind"]
            if a["merchant_id"] is None
            else f"merchant {demo.merchant_name(a['merchant_id'])}"
        )
        lines.append(
            f"  {label:<40} {format_eur(a['balance_cents']):>12}  ({a['postings']} postings)"
        )
    lines.append(
        f"  customer liability (cagnottes outstanding) {format_eur(b['customer_liability_cents'])}"
    )
    lines.append(f"  net {format_eur(b['net_cents'])} (always 0: every entry balances)")
    show(args, b, "\n".join(lines))
    return 0


async def cmd_customer(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    admin = AdminClient(session, demo.token())
    account = await _find_account(demo, admin, args.phone)
    reply = await admin.call("GET", f"{demo.url('crm')}/v1/customers/{account['id']}")
    if reply.status == 404:
        raise CliError(
            f"no customer file yet for account {account['id']} (crm may still be catching up)", 4
        )
    if reply.status != 200:
        raise CliError(f"cannot read the customer file: {problem_text(reply)}")
    b = reply.body
    name = " ".join(x for x in (b.get("first_name"), b.get("last_name")) if x)
    lines = [
        f"customer {b['account_id']}  {b.get('phone') or ''} {name}".rstrip(),
        f"  {b.get('visit_count', 0)} visits, {format_eur(b.get('total_spent_cents') or 0)} spent, "
        f"last visit {str(b.get('last_visit_at') or '-')[:19]}",
    ]
    for m in b.get("merchants", []):
        lines.append(
            f"  {demo.merchant_name(m.get('merchant_id')):<24} {m.get('visit_count')} visits "
            f"{format_eur(m.get('total_spent_cents') or 0):>10}"
        )
    show(args, b, "\n".join(lines))
    return 0


async def cmd_status(args: argparse.Namespace, demo: Demo, session: aiohttp.ClientSession) -> int:
    out: dict[str, Any] = {}
    code = 0
    for service in DEFAULT_PORTS:
        url = f"{demo.url(service)}/ready"
        try:
            async with session.get(url) as r:
                out[service] = {
                    "url": url,
                    "http_status": r.status,
                    "answer": await r.json(content_type=None),
                }
                code = code or (0 if r.status == 200 else 1)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            out[service] = {
                "url": url,
                "http_status": None,
                "error": str(exc) or type(exc).__name__,
            }
            code = 1
    lines = []
    for name, v in out.items():
        if v["http_status"] is None:
            state = f"down ({v['error']})"
        else:
            answer = v["answer"] if isinstance(v["answer"], dict) else {}
            checks = ", ".join(f"{k} {c}" for k, c in answer.get("checks", {}).items())
            state = f"{v['http_status']} {answer.get('status', '')} ({checks})"
        lines.append(f"  {name:<14} {v['url']:<30} {state}")
    show(args, out, "\n".join(lines))
    return code


COMMANDS: dict[str, Callable[[argparse.Namespace, Demo, aiohttp.ClientSession], Awaitable[int]]] = {
    "sale": cmd_sale,
    "redeem": cmd_redeem,
    "enrol": cmd_enrol,
    "account": cmd_account,
    "pivot": cmd_pivot,
    "customer": cmd_customer,
    "status": cmd_status,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m deploy.cli",
        description="Play a demo terminal and read the books of the demo network.",
        epilog="Run `make run` first: it starts the services and writes the demo credentials.",
    )
    p.add_argument(
        "--demo-file",
        type=Path,
        default=Path(os.environ.get("COMPTOIR_DEMO_FILE", DEFAULT_DEMO)),
        help="credentials written by the seed (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")
    p.add_argument(
        "--timeout", type=float, default=15.0, help="HTTP timeout in seconds (default: %(default)s)"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def terminal_cmd(name: str, help_: str, card: bool = False) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_, description=help_)
        c.add_argument(
            "--terminal", required=True, help="demo terminal name (bistrot, boulangerie, ...)"
        )
        # A sale names one customer; an enrolment gives a phone, an e-mail or both.
        who = c.add_mutually_exclusive_group(required=True) if card else c
        who.add_argument("--phone", help="the customer's phone number, e.g. 0612345678")
        who.add_argument("--email", help="the e-mail address of a customer enrolled with it")
        if card:
            who.add_argument(
                "--card", help="the customer's card number (the demo's: see .comptoir/demo.json)"
            )
        return c

    c = terminal_cmd("sale", "record a sale at a terminal: credits the customer's cagnotte", True)
    c.add_argument(
        "--amount", required=True, type=parse_amount, help="purchase in euros, e.g. 24.60"
    )
    c.add_argument("--family", help="product family, e.g. menu-midi")
    c.add_argument(
        "--id", type=parse_uuid, help="sale id (default: a new one; re-send one to see idempotency)"
    )
    c = terminal_cmd("redeem", "pay part of a purchase with the cagnotte (décagnottage)", True)
    c.add_argument("--amount", required=True, type=parse_amount, help="amount in euros, e.g. 1.00")
    c.add_argument("--id", type=parse_uuid, help="redemption id (default: a new one)")
    c = terminal_cmd("enrol", "enrol a customer at the till (phone, e-mail or both; a name)")
    c.add_argument("--first-name")
    c.add_argument("--last-name")
    c = sub.add_parser("account", help="cards: the account's balance and entries")
    c.add_argument("--phone", required=True)
    sub.add_parser("pivot", help="clearing: balances of the compte pivot of the demo association")
    c = sub.add_parser("customer", help="crm: the customer file")
    c.add_argument("--phone", required=True)
    sub.add_parser("status", help="/ready of the five services")
    return p


async def run(args: argparse.Namespace) -> int:
    demo = Demo(args.demo_file)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return await COMMANDS[args.command](args, demo, session)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(run(args))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except aiohttp.ClientConnectorError as exc:
        print(
            f"error: cannot reach {exc.host}:{exc.port}: is the service running? (`make run`)",
            file=sys.stderr,
        )
        return 5
    except (TimeoutError, aiohttp.ClientError) as exc:
        print(f"error: HTTP failure: {exc or type(exc).__name__}", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
