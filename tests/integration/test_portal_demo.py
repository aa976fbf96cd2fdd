"""`make run`'s demo logins (deploy/seed.py): one per role, each signs in to the portal, and
running the seed again keeps their passwords."""

from __future__ import annotations

import asyncio
import html
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from deploy import seed
from tests import harness
from tests.portal import Browser

pytestmark = pytest.mark.timeout(120)
ROLE_WORDS = {
    "operator": "opérateur du réseau",
    "association_admin": "administrateur d'association",
    "manager": "gérant (MANAGER)",
    "staff": "équipe du comptoir (CARD)",
}


async def test_the_demo_has_a_login_per_role_that_signs_in(
    services: harness.Services, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    urls = {name: harness.url(name) for name in harness.SERVICES}
    demo_file = tmp_path / "demo.json"
    demo = await seed.seed(urls, harness.ADMIN_TOKEN, demo_file)
    seed.write(demo, demo_file)
    logins = demo["logins"]
    assert set(logins) == {"operator", "association", "manager", "staff", "cardholder"}
    for login in logins.values():
        if "password" not in login:
            continue
        browser = Browser(http)
        assert (await browser.sign_in(login["email"], login["password"])).status == 303
        home = await browser.get("/")
        assert ROLE_WORDS[login["role"]] in html.unescape(home.text)
    lines = seed.login_lines(demo)
    assert any(logins["manager"]["password"] in line for line in lines)
    manager = next(line for line in lines if logins["manager"]["email"] in line)
    assert "/manage" in manager and "/kiosk/setup" in manager  # where the manager's pages are
    assert any(f"/holder/{seed.ASSOCIATION_ID}" in line for line in lines)

    again = await seed.seed(urls, harness.ADMIN_TOKEN, demo_file)
    assert again["logins"] == logins  # the same passwords: what was printed stays valid


async def test_the_first_operator_is_made_by_the_cli_and_sets_a_password_through_the_link(
    services: harness.Services, http: aiohttp.ClientSession
) -> None:
    email = f"ops-{uuid.uuid4().hex[:10]}@example.org"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.portal", "create-operator", email, "--name", "Ops"],
        cwd=harness.ROOT,
        env=services.env("portal"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.split()[-1]
    path = link.removeprefix(harness.url("portal"))
    assert path.startswith("/password/"), done.stdout
    browser = Browser(http)
    form = await browser.get(path)
    assert form.status == 200 and "Ops" in form.text
    password = f"ops-{uuid.uuid4().hex}"
    assert (await browser.post(path, {"password": password, "again": password})).status == 200
    assert (await Browser(http).sign_in(email, password)).status == 303
