"""Seed a demo network through the back-office HTTP APIs, idempotently.

One association, "Cœur de Ville" (rates per merchant, network taux client 3 %, taux UC 0.5 %),
four merchants with one shop and one terminal each, and a portal login for each role (the
operator, the association's administrator, the bistrot's manager and staff; Camille, the demo
card's holder, signs in with a code sent to her e-mail). Every id is fixed; every terminal's
secret and every login's password is random (nothing public, not even the admin token, lets
anyone derive it) and kept in ``.comptoir/demo.json`` (mode 0600), which the CLI and the card
demo read: running the seed again reuses the secrets of that file, so the credentials it wrote
stay valid.

    python -m deploy.seed [--out .comptoir/demo.json]

Service addresses come from ``COMPTOIR_<SERVICE>_URL`` (default ``http://127.0.0.1:<port>``)
and the admin token from ``COMPTOIR_ADMIN_TOKEN`` (default: the services' default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from shared.client import AdminClient
from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / ".comptoir" / "demo.json"
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://comptoir.dev/demo")


def demo_id(name: str) -> str:
    """A fixed UUID for a demo object: the same on every machine and every run."""
    return str(uuid.uuid5(_NS, name))


@dataclass(frozen=True)
class Merchant:
    key: str  # terminal name used by the CLI
    name: str
    trade: str
    taux_client_bps: int | None  # None: the network rate
    taux_uc_bps: int | None = None  # None: the network fee

    @property
    def id(self) -> str:
        return demo_id(f"merchant/{self.key}")

    @property
    def shop_id(self) -> str:
        return demo_id(f"shop/{self.key}")

    @property
    def terminal_id(self) -> str:
        return demo_id(f"terminal/{self.key}")


ASSOCIATION_ID = demo_id("association/coeur-de-ville")
ASSOCIATION = {
    "name": "Cœur de Ville",
    "rate_mode": "merchant",
    "taux_client_bps": 300,
    "taux_uc_bps": 50,
    "issuer_prefix": "250001",
}
# Each merchant's product families (F6, F10): codes, labels and legal flags.
FAMILIES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "bistrot": (
        ("menu-midi", {"label": "Menu du midi"}),
        ("tabac", {"label": "Tabac", "tobacco": True}),
    ),
    "boulangerie": (("viennoiseries", {"label": "Viennoiseries"}),),
    "librairie": (
        ("livres", {"label": "Livres", "book": True}),
        ("jeux", {"label": "Jeux à gratter", "gambling": True}),
    ),
    "fleuriste": (("bouquets", {"label": "Bouquets"}),),
}
# A personalised card for the CLI's examples (the issue id makes the seed idempotent).
DEMO_CARD = {"issue_id": demo_id("card/camille"), "first_name": "Camille", "last_name": "Durand"}
MERCHANTS = (
    Merchant("bistrot", "Le Bistrot du Marché", "restaurant", 500),
    Merchant("boulangerie", "Boulangerie Lemoine", "bakery", None),
    Merchant("librairie", "Librairie des Halles", "bookshop", 250),
    Merchant("fleuriste", "Fleurs de Saison", "florist", 400, 75),
)


def service_urls() -> dict[str, str]:
    """Where each service answers: ``COMPTOIR_<NAME>_URL`` or the local default port."""
    return {
        name: os.environ.get(f"COMPTOIR_{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
        for name, port in DEFAULT_PORTS.items()
    }


def admin_token() -> str:
    return os.environ.get("COMPTOIR_ADMIN_TOKEN") or Settings().admin_token


# The demo's portal logins: (key, role, e-mail, name, merchant key or None).
LOGINS = (
    ("operator", "operator", "operateur@comptoir.localhost", "Olivia Opératrice", None),
    (
        "association",
        "association_admin",
        "tresorier@coeurdeville.localhost",
        "Thomas Trésorier",
        None,
    ),
    ("manager", "manager", "gerant@bistrot.localhost", "Marc Gérant", "bistrot"),
    ("staff", "staff", "comptoir@bistrot.localhost", "Sophie Serveuse", "bistrot"),
)
HOLDER_EMAIL = "camille.durand@example.org"


def known_passwords(path: Path = DEFAULT_OUT) -> dict[str, str]:
    """The logins' passwords of a previous seed (key -> password), if its file has them."""
    try:
        demo = json.loads(path.read_text())
        return {k: v["password"] for k, v in demo["logins"].items() if "password" in v}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


async def seed_logins(
    admin: AdminClient, portal: str, card: dict[str, Any], known: dict[str, str]
) -> dict[str, Any]:
    """A login per role in the portal (the password set by the admin token, kept for the next
    run), and the cardholder's: the demo card's account gets an e-mail to receive a code."""
    merchants = {m.key: m.id for m in MERCHANTS}
    logins: dict[str, Any] = {}
    for key, role, email, name, merchant in LOGINS:
        person_id = demo_id(f"person/{key}")
        body: dict[str, Any] = {"email": email, "name": name, "role": role}
        if role != "operator":
            body["association_id"] = ASSOCIATION_ID
        if merchant is not None:
            body["merchant_id"] = merchants[merchant]
        r = await admin.call("PUT", f"{portal}/v1/people/{person_id}", body)
        _check(f"portal login {key}", r.status, r.body)
        password = known.get(key) or secrets.token_urlsafe(12)
        r = await admin.call(
            "PUT", f"{portal}/v1/people/{person_id}/password", {"password": password}
        )
        _check(f"password of {key}", r.status, r.body)
        logins[key] = {"role": role, "email": email, "password": password}
    r = await admin.call(
        "PATCH", f"{card['cards_url']}/v1/accounts/{card['account_id']}", {"email": HOLDER_EMAIL}
    )
    _check("the demo cardholder's e-mail", r.status, r.body)
    logins["cardholder"] = {
        "role": "cardholder",
        "email": HOLDER_EMAIL,
        "url": f"{portal}/holder/{ASSOCIATION_ID}",
    }
    return logins


def known_secrets(path: Path = DEFAULT_OUT) -> dict[str, str]:
    """The terminals' secrets of a previous seed (terminal id -> secret), from its demo file;
    none if there is no readable one."""
    try:
        demo = json.loads(path.read_text())
        return {t["id"]: t["secret"] for t in demo["terminals"].values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def terminal_secret(known: dict[str, str], terminal_id: str) -> str:
    """The secret of a previous seed (re-running it keeps the credentials), else a new random
    one: the demo's secrets were once derived from the admin token, which is public in
    development (issue 11, finding 7)."""
    return known.get(terminal_id) or secrets.token_hex(32)


class SeedError(RuntimeError):
    pass


def _check(what: str, status: int, body: Any) -> None:
    if status not in (200, 201, 204):
        detail = (body.get("detail") or body.get("title")) if isinstance(body, dict) else body
        raise SeedError(f"{what}: HTTP {status}: {detail}")


async def seed(
    urls: dict[str, str] | None = None, token: str | None = None, demo_file: Path = DEFAULT_OUT
) -> dict[str, Any]:
    """Create or update the demo network; return the demo description (see ``write``), whose
    terminal secrets are those of ``demo_file`` when it has them."""
    urls = urls or service_urls()
    token = token or admin_token()
    known = known_secrets(demo_file)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        admin = AdminClient(session, token)
        cards = urls["cards"]
        r = await admin.call("PUT", f"{cards}/v1/associations/{ASSOCIATION_ID}", ASSOCIATION)
        _check("association", r.status, r.body)
        terminals: dict[str, Any] = {}
        for m in MERCHANTS:
            payload: dict[str, Any] = {
                "name": m.name,
                "taux_client_bps": m.taux_client_bps,
                "taux_uc_bps": m.taux_uc_bps,
            }
            r = await admin.call(
                "PUT", f"{cards}/v1/associations/{ASSOCIATION_ID}/merchants/{m.id}", payload
            )
            _check(f"merchant {m.name}", r.status, r.body)
            secret = terminal_secret(known, m.terminal_id)
            r = await admin.call(
                "PUT",
                f"{urls['terminals']}/v1/terminals/{m.terminal_id}",
                {
                    "association_id": ASSOCIATION_ID,
                    "merchant_id": m.id,
                    "shop_id": m.shop_id,
                    "label": f"{m.name} — caisse 1",
                    "secret": secret,
                },
            )
            _check(f"terminal of {m.name}", r.status, r.body)
            for code, family in FAMILIES.get(m.key, ()):
                r = await admin.call("PUT", f"{cards}/v1/merchants/{m.id}/families/{code}", family)
                _check(f"family {code} of {m.name}", r.status, r.body)
            terminals[m.key] = {
                "id": m.terminal_id,
                "secret": secret,
                "merchant_id": m.id,
                "merchant": m.name,
                "trade": m.trade,
                "shop_id": m.shop_id,
                "taux_client_bps": m.taux_client_bps
                if m.taux_client_bps is not None
                else ASSOCIATION["taux_client_bps"],
                "taux_uc_bps": m.taux_uc_bps
                if m.taux_uc_bps is not None
                else ASSOCIATION["taux_uc_bps"],
                "uses_network_rate": m.taux_client_bps is None,
            }
        r = await admin.call("POST", f"{cards}/v1/associations/{ASSOCIATION_ID}/cards", DEMO_CARD)
        _check("demo card", r.status, r.body)
        card = {"number": r.body["number"], "holder": "Camille Durand"}
        logins = await seed_logins(
            admin,
            urls["portal"],
            {"cards_url": cards, "account_id": r.body["account_id"]},
            known_passwords(demo_file),
        )
    return {
        "association": {"id": ASSOCIATION_ID, **ASSOCIATION},
        "urls": urls,
        "terminals": terminals,
        "cards": {"camille": card},
        "logins": logins,
    }


def write(demo: dict[str, Any], path: Path) -> None:
    """Write the demo credentials, readable by the owner only (they hold terminal secrets and
    the logins' passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(demo, f, ensure_ascii=False, indent=2)
        f.write("\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.seed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("COMPTOIR_DEMO_FILE", DEFAULT_OUT)),
        help="where to write the demo credentials (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        demo = asyncio.run(seed(demo_file=args.out))
    except (TimeoutError, SeedError, aiohttp.ClientError, OSError) as exc:
        print(f"seed: failed: {exc}", file=sys.stderr)
        return 1
    try:
        write(demo, args.out)
        where = str(args.out)
    except OSError as exc:
        where = f"not written ({exc})"
    print(
        f"seeded association {demo['association']['name']} ({demo['association']['id']}); "
        f"demo credentials: {where}"
    )
    for name, t in demo["terminals"].items():
        print(
            f"  {name:<12} {t['merchant']:<24} terminal {t['id']}  "
            f"taux client {t['taux_client_bps']} bp"
        )
    print(f"portal logins ({demo['urls']['portal']}):")
    for line in login_lines(demo):
        print(f"  {line}")
    return 0


# Where each demo login's pages are, once signed in (docs/front-desk.md, docs/dashboard.md,
# docs/merchant-back-office.md, docs/association-back-office.md, docs/kiosk.md).
PAGES = {
    "association": "/association, /dashboard, /manage",
    "manager": "/manage, /dashboard, /desk, /kiosk/setup",
    "staff": "/desk, /inbox",
    "cardholder": "/space",
}


def login_lines(demo: dict[str, Any]) -> list[str]:
    """The demo's logins, one a line, with their passwords (a developer's own machine) and
    the pages each reaches."""
    lines = []
    for key, login in demo.get("logins", {}).items():
        pages = f"   ({PAGES[key]})" if key in PAGES else ""
        if "password" in login:
            lines.append(f"{key:<12} {login['email']:<34} {login['password']}{pages}")
        else:
            lines.append(
                f"{key:<12} {login['email']:<34} a code by e-mail at {login['url']}{pages}"
            )
    return lines


if __name__ == "__main__":
    sys.exit(main())
