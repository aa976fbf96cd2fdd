"""The portal's pages, timed and weighed (issue 15, item 6): every page each role reaches,
answered in under 150 ms at p95 on the server with the statistics benchmark's sales in the
database, and under 300 KB on first load.

    PYTHONPATH=. .venv/bin/python -m bench.portal [--sales 10000000] [--customers 1000000]
        [--merchants 10000] [--associations 100] [--requests 40] [--reuse] [--keep]

1. starts the five services and the portal as processes (tests/harness.py, on the database
   and vhost of COMPTOIR_DATABASE_URL and COMPTOIR_AMQP_URL, ports from
   COMPTOIR_TEST_PORT_BASE), their clock at the end of the generated years (2030-12-20), an
   SMTP sink of its own for the cardholder's code;
2. generates crm's statistics as bench/stats.py does (``--reuse``: keeps what a ``--keep``
   run left), so that the dashboards of association 0 and its merchant 0 read their share of
   ``--sales`` and the network's whole;
3. admits association 0 and merchant 0 in cards under the generated ids, with a till, and
   books a few real enrolments and sales there (the desk and the cardholder space have
   someone to show), then signs in one person per role: the operator, the association's
   administrator, the merchant's manager and staff member, and a cardholder (a code by
   e-mail);
4. crawls each role's pages from its home (same-site links, two levels, one page per shape
   of path), adds those no link reaches as such (a year's dashboard, a customer's pages, the
   campaign's form), then requests each ``--requests`` times, one at a time: p50 and p95 at the
   client over the loopback, and the first load's weight (the HTML and the styles and
   scripts it links);
5. prints a line per page, then the JSON line.

Uses its own database and vhost (``bash bench/env.sh bench``), never a suite's: it empties
crm's statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import stats

ROOT = Path(__file__).resolve().parents[1]
CLOCK_AT = datetime(2030, 12, 20, 10, 0, tzinfo=UTC)  # inside the generated years' last month
TARGET_P95_MS = 150
TARGET_WEIGHT_KB = 300
_LINK = re.compile(r'href="(/[^"#]*)"')
_ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Not pages: what changes state, leaves, or downloads a file.
_SKIP = ("/sign-out", "/language", "/static/", "/forgot", "/password/", "/holder")
_DOWNLOAD = re.compile(r"\.(csv|xlsx|xml|json|zip|pdf)(\?|$)|/download|/export")


def shape(path: str) -> str:
    return _UUID.sub("{id}", path.split("?")[0])


def extra_pages(role: str, account: str) -> list[str]:
    """Pages no link of the crawl reaches as such: the dashboards' longest preset (a year of
    the generated data), a customer's pages (found by a search form), the campaign's form."""
    year = ["/dashboard?preset=this_year", "/dashboard?preset=last_30_days"]
    return {
        "association_admin": year,
        "manager": [
            *year,
            f"/desk/customers/{account}",
            f"/manage/customers/{account}",
            "/manage/campaigns/new",
        ],
        "staff": [f"/desk/customers/{account}"],
    }.get(role, [])


async def admitted(http: aiohttp.ClientSession, harness: Any, admin: dict[str, str]) -> Any:
    """Association 0 and merchant 0 of the generated data, known to cards, with a till."""
    from shared.client import TerminalClient

    aid, mid, tid = stats._md5_uuid("a", 0), stats._md5_uuid("m", 0), uuid.uuid4()
    cards = harness.url("cards")
    body = {
        "name": "Association 0",
        "rate_mode": "merchant",
        "taux_client_bps": 300,
        "taux_uc_bps": 50,
    }
    async with http.put(f"{cards}/v1/associations/{aid}", json=body, headers=admin) as r:
        assert r.status in (200, 201), await r.text()
    body = {"name": "Merchant 0"}
    async with http.put(
        f"{cards}/v1/associations/{aid}/merchants/{mid}", json=body, headers=admin
    ) as r:
        assert r.status in (200, 201), await r.text()
    secret = secrets.token_hex(24)
    till = {
        "association_id": aid,
        "merchant_id": mid,
        "shop_id": mid,
        "label": "bench till",
        "secret": secret,
    }
    async with http.put(
        f"{harness.url('terminals')}/v1/terminals/{tid}", json=till, headers=admin
    ) as r:
        assert r.status in (200, 201), await r.text()
    return (
        uuid.UUID(aid),
        uuid.UUID(mid),
        TerminalClient(http, harness.url("terminals"), str(tid), secret),
    )


async def customers(till: Any, count: int) -> list[tuple[str, str]]:
    """``count`` real cardholders with a purchase each: (account id, e-mail)."""
    made = []
    for i in range(count):
        email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
        phone = f"06{uuid.uuid4().int % 10**8:08d}"
        r = await till.enrol(phone, email=email, first_name=f"Client{i}", last_name="Banc")
        assert r.status == 201, r
        sale = await till.sale(phone, 1000 + 137 * i)
        assert sale.status == 201, sale
        made.append((str(r.body["account_id"]), email))
    return made


async def signed_in(http: aiohttp.ClientSession, role: str, aid: Any, mid: Any) -> Any:
    from tests.portal import Browser, person

    email, password = await person(
        http,
        role,
        aid if role != "operator" else None,
        mid if role in ("manager", "staff") else None,
    )
    browser = Browser(http)
    page = await browser.sign_in(email, password)
    assert page.status == 303, page
    return browser


async def holder(http: aiohttp.ClientSession, mailbox: Any, aid: Any, email: str) -> Any:
    from tests.portal import Browser
    from tests.space import codes_sent, next_code

    browser = Browser(http)
    before = codes_sent(mailbox, email)
    await browser.get(f"/holder/{aid}")
    sent = await browser.post(f"/holder/{aid}", {"address": email})
    assert sent.status == 303, sent
    code = await next_code(mailbox, email, before, timeout=60)
    await browser.get("/holder-code")
    page = await browser.post("/holder-code", {"code": code})
    assert page.status == 303, page
    return browser


async def crawl(browser: Any, start: str, limit: int = 40) -> list[str]:
    """The role's pages: same-site links from ``start``, two levels, one per shape."""
    seen: dict[str, str] = {}
    frontier = [start]
    for _ in range(3):
        found: list[str] = []
        for path in frontier:
            if shape(path) in seen or len(seen) >= limit:
                continue
            page = await browser.get(path)
            if page.status != 200:
                continue
            seen[shape(path)] = path
            found += [
                link.replace("&amp;", "&")
                for link in _LINK.findall(page.text)
                if not link.startswith(_SKIP) and not _DOWNLOAD.search(link)
            ]
        frontier = list(dict.fromkeys(found))
    return list(seen.values())


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1) if s else 0.0


async def timed(browser: Any, path: str, requests: int) -> dict[str, Any]:
    times = []
    page = None
    for _ in range(requests + 3):  # three to warm up
        t0 = time.perf_counter()
        page = await browser.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert page.status == 200, (path, page.status)
    assert page is not None
    weight = len(page.text.encode())
    for asset in dict.fromkeys(_ASSET.findall(page.text)):
        got = await browser.get(asset)
        weight += len(got.text.encode())
    return {
        "p50_ms": pct(times[3:], 0.5),
        "p95_ms": pct(times[3:], 0.95),
        "kb": round(weight / 1024, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    from shared import clock
    from tests import harness
    from tests.messaging import Mailbox

    logs = ROOT / "run" / "bench" / f"portal-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=harness.smtp_port())
    smtp.start()
    procs = harness.Services(logs)
    admin = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
    # One calendar for the services and this process (the till signs with its clock).
    anchor = clock.anchored(CLOCK_AT)
    clock.install(clock.from_env({clock.ENV: anchor}))
    try:
        for name in harness.SERVICES:
            procs.start(name, {clock.ENV: anchor, "COMPTOIR_LOG_LEVEL": "WARNING"})
        await procs.wait_ready()
        conn = await asyncpg.connect(harness.DATABASE_URL)
        try:
            t0 = time.perf_counter()
            timings = {} if args.reuse else await stats.generate(conn, args)
            generated_s = round(time.perf_counter() - t0, 1)
            await conn.execute("SET search_path TO crm")
            lines = await conn.fetchval("SELECT count(*) FROM statistics_lines")
            if not lines:
                raise SystemExit("bench.portal: no statistics in the database: generate (--keep)")
        finally:
            await conn.close()
        async with aiohttp.ClientSession() as http:
            aid, mid, till = await admitted(http, harness, admin)
            held = await customers(till, 5)
            people = {
                role: await signed_in(http, role, aid, mid)
                for role in ("operator", "association_admin", "manager", "staff")
            }
            people["cardholder"] = await holder(http, mailbox, aid, held[0][1])
            pages: dict[str, dict[str, Any]] = {}
            for role, browser in people.items():
                home = "/space" if role == "cardholder" else "/"
                for path in [*await crawl(browser, home), *extra_pages(role, held[0][0])]:
                    key = f"{role} {shape(path)}" + (
                        "?" + path.split("?", 1)[1] if "?" in path else ""
                    )
                    pages[key] = await timed(browser, path, args.requests)
                    p = pages[key]
                    print(
                        f"  {key}: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, {p['kb']} KB",
                        file=sys.stderr,
                        flush=True,
                    )
        if not (args.keep or args.reuse):
            conn = await asyncpg.connect(harness.DATABASE_URL)
            try:
                await conn.execute(f"TRUNCATE crm.{', crm.'.join(stats.STAT_TABLES)} CASCADE")
            finally:
                await conn.close()
    finally:
        procs.stop_all()
        smtp.stop()
    slow = sorted(k for k, p in pages.items() if p["p95_ms"] >= TARGET_P95_MS)
    heavy = sorted(k for k, p in pages.items() if p["kb"] >= TARGET_WEIGHT_KB)
    return {
        "bench": "portal",
        "sales": args.sales,
        "statistics_lines": lines,
        "generation_s": generated_s,
        "generation_steps_s": timings,
        "requests_per_page": args.requests,
        "pages": len(pages),
        "max_p95_ms": max(p["p95_ms"] for p in pages.values()),
        "max_kb": max(p["kb"] for p in pages.values()),
        "over_p95_target": slow,
        "over_weight_target": heavy,
        "per_page": pages,
        "target_p95_ms": TARGET_P95_MS,
        "target_kb": TARGET_WEIGHT_KB,
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_avg_at_end": os.getloadavg()[0],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sales", type=int, default=10_000_000)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--merchants", type=int, default=10_000)
    p.add_argument("--associations", type=int, default=100)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--keep", action="store_true", help="keep the generated statistics")
    p.add_argument("--reuse", action="store_true", help="use what a --keep run left")
    result = asyncio.run(run(p.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
