"""Production by default (issue 11, finding 7, build item 4): the services refuse the public
development secrets outside development, take secrets from files, keep the terminals' secrets
sealed at rest under a key-encryption key that can be rotated, and connect each with its own
database role."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.terminals.domain.keyring import Keyring, KeyringError, kek_id
from shared.access import DEV_PUBLIC_KEYS, Signer
from shared.client import TerminalClient
from shared.settings import DEV_TERMINAL_KEK
from tests import harness
from tests.conftest import NetworkFactory

pytestmark = pytest.mark.timeout(120)

# Ports of the extra processes these tests start, above the suite's own (base .. base+10).
SPARE_PORT = harness.BASE_PORT + 30
NEW_KEK = "5a" * 32
PORTAL_KEYS = Signer("k1:" + "42" * 32).public_keys


def production_env(service: str, port: int, **extra: str) -> dict[str, str]:
    """The suite's environment for ``service`` without COMPTOIR_ENV=development nor any
    secret: each test adds the ones it is about."""
    env = harness.Services(Path(".")).env(service)
    for name in ("COMPTOIR_ENV", "COMPTOIR_ADMIN_TOKEN", "COMPTOIR_CARD_CERT_KEY"):
        env.pop(name, None)
    # A real network's portal key (not the development one), unless the test is about it.
    env.update(
        {
            "COMPTOIR_PORT": str(port),
            "COMPTOIR_SYNC_LINE_PORT": "0",
            "COMPTOIR_SCOPE_PUBLIC_KEYS": PORTAL_KEYS,
            # its own key for its calls to the other services, not the development one
            "COMPTOIR_SERVICE_SIGNING_KEY": f"svc-{service}:" + "44" * 32,
            **extra,
        }
    )
    return env


def spawn(service: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=harness.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_to_exit(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Iterator[Path]:
    """Where a Compose secret would be: a file only its owner reads."""
    path = tmp_path / "secret"
    yield path


def write_secret(path: Path, value: str) -> str:
    path.write_text(value + "\n")  # as `echo value > file` writes it
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize(
    ("service", "variable", "secrets"),
    [
        ("crm", "COMPTOIR_ADMIN_TOKEN", {}),
        ("notifications", "COMPTOIR_ADMIN_TOKEN", {}),
        ("cards", "COMPTOIR_CARD_CERT_KEY", {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42"}),
        ("terminals", "COMPTOIR_TERMINAL_KEK", {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42"}),
        # The suite's callback token is its own; Kannel's password is the development one.
        (
            "notifications",
            "COMPTOIR_SMS_PASSWORD",
            {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42"},
        ),
        ("crm", "COMPTOIR_LINK_KEY", {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42"}),
        # The portal signs every scope token: its development key is public.
        (
            "portal",
            "COMPTOIR_SCOPE_SIGNING_KEY",
            {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42"},
        ),
        # Unset, a service would sign its calls to the others with its development key.
        (
            "crm",
            "COMPTOIR_SERVICE_SIGNING_KEY",
            {"COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42", "COMPTOIR_SERVICE_SIGNING_KEY": ""},
        ),
        # Trusting the development portal key, even beside a real one, trusts tokens anyone
        # can sign.
        (
            "clearing",
            "COMPTOIR_SCOPE_PUBLIC_KEYS",
            {
                "COMPTOIR_ADMIN_TOKEN": "a-real-admin-token-42",
                "COMPTOIR_SCOPE_PUBLIC_KEYS": f"{PORTAL_KEYS},{DEV_PUBLIC_KEYS}",
            },
        ),
    ],
)
def test_a_service_refuses_a_development_secret_outside_development(
    service: str, variable: str, secrets: dict[str, str]
) -> None:
    done = run_to_exit(service, production_env(service, SPARE_PORT, **secrets))
    assert done.returncode != 0, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, not a traceback
    assert variable in lines[0] and "refusing to start" in lines[0], lines[0]
    assert "COMPTOIR_ENV=development" in lines[0]


def test_a_development_secret_written_in_capitals_is_still_refused() -> None:
    env = production_env(
        "cards",
        SPARE_PORT,
        COMPTOIR_ADMIN_TOKEN="a-real-admin-token-42",
        COMPTOIR_CARD_CERT_KEY="CE27CE27CE27CE27CE27CE27CE27CE27",
    )
    done = run_to_exit("cards", env)
    assert done.returncode != 0 and "COMPTOIR_CARD_CERT_KEY" in done.stderr, done


def test_a_secret_set_twice_in_the_environment_and_a_file_is_refused(secret_file: Path) -> None:
    env = production_env(
        "crm",
        SPARE_PORT,
        COMPTOIR_ADMIN_TOKEN="a-real-admin-token-42",
        COMPTOIR_ADMIN_TOKEN_FILE=write_secret(secret_file, "another-real-token-43"),
    )
    done = run_to_exit("crm", env)
    assert done.returncode != 0, done
    assert "COMPTOIR_ADMIN_TOKEN_FILE" in done.stderr and "Traceback" not in done.stderr


async def wait_http(url: str, proc: subprocess.Popen[bytes], want: int = 200) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:
        for _ in range(300):
            assert proc.poll() is None, f"exited with {proc.returncode}"
            try:
                async with s.get(url) as r:
                    if r.status == want:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered {want}")


@pytest_asyncio.fixture
async def spare(tmp_path: Path) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


async def test_a_service_in_production_starts_with_its_admin_token_from_a_file(
    services: harness.Services,
    spare: list[subprocess.Popen[bytes]],
    secret_file: Path,
    http: aiohttp.ClientSession,
) -> None:
    token = "a-real-admin-token-" + uuid.uuid4().hex
    env = production_env(
        "crm",
        SPARE_PORT,
        COMPTOIR_ADMIN_TOKEN_FILE=write_secret(secret_file, token),
        COMPTOIR_LINK_KEY="3c" * 32,
    )
    proc = spawn("crm", env, secret_file.with_name("crm.log"))
    spare.append(proc)
    base = f"http://127.0.0.1:{SPARE_PORT}"
    await wait_http(base + "/ready", proc)
    # The file's content (without its newline) is the token: the back office answers it...
    path = f"/v1/customers/{uuid.uuid4()}"
    async with http.get(base + path, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status != 401, await r.text()
    # ... and no longer the development one.
    headers = {"Authorization": "Bearer dev-admin-token"}
    async with http.get(base + path, headers=headers) as r:
        assert r.status == 401


async def test_cards_and_terminals_in_production_start_with_their_keys_from_files(
    spare: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Past the check, they listen (/health) and wait for a database that is not there:
    these do not join the suite's own services."""
    nowhere = {
        "COMPTOIR_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none",
        "COMPTOIR_AMQP_URL": "amqp://nobody:x@127.0.0.1:1/none",
    }
    files = {
        "COMPTOIR_ADMIN_TOKEN_FILE": write_secret(tmp_path / "token", "a-real-admin-token-42"),
        "COMPTOIR_CARD_CERT_KEY_FILE": write_secret(tmp_path / "cert", "0f" * 16),
        "COMPTOIR_TERMINAL_KEK_FILE": write_secret(tmp_path / "kek", NEW_KEK),
    }
    for i, service in enumerate(("cards", "terminals")):
        port = SPARE_PORT + 1 + i
        env = production_env(service, port, **nowhere, **files)
        proc = spawn(service, env, tmp_path / f"{service}.log")
        spare.append(proc)
        await wait_http(f"http://127.0.0.1:{port}/health", proc)


# --- terminals' secrets sealed at rest ----------------------------------------------------------


async def restart_terminals(services: harness.Services, extra: dict[str, str]) -> None:
    proc = services.procs["terminals"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    services.start("terminals", extra)
    await services.wait_ready("terminals")


def rotate_kek(current: str, previous: str) -> str:
    env = {
        **harness.Services(Path(".")).env("terminals"),
        "COMPTOIR_TERMINAL_KEK": current,
        "COMPTOIR_TERMINAL_KEK_PREVIOUS": previous,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.terminals", "rotate-kek"],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done
    return done.stdout


async def sale_is_accepted(terminal: TerminalClient) -> bool:
    r = await terminal.sale(f"06{uuid.uuid4().int % 10**8:08d}", 1000)
    assert r.status != 401 or r.body.get("type", "").endswith("bad-signature"), r
    return r.status in (201, 202)


async def test_a_terminal_secret_is_stored_sealed_and_still_signs(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    terminal = net.terminals[0]
    row = await db.fetchrow(
        "SELECT * FROM terminals.terminals WHERE id = $1", uuid.UUID(terminal.terminal_id)
    )
    assert row["secret"] is None
    assert terminal.secret.encode() not in bytes(row["secret_sealed"])
    assert row["secret_kek_id"] == kek_id(bytes.fromhex(DEV_TERMINAL_KEK))
    assert await sale_is_accepted(terminal)


async def test_after_a_kek_rotation_terminals_still_sign_and_the_old_key_no_longer_opens(
    services: harness.Services, make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=2)
    ids = [uuid.UUID(t.terminal_id) for t in net.terminals]
    # A row of before migration 0005, its secret in clear: the gateway seals it at start.
    legacy_id, legacy_secret = uuid.uuid4(), "a-legacy-secret-in-clear-" + uuid.uuid4().hex
    await db.execute(
        """INSERT INTO terminals.terminals (id, association_id, merchant_id, shop_id, label,
                                            secret, active)
           VALUES ($1, $2, $3, $3, 'legacy till', $4, true)""",
        legacy_id,
        net.association_id,
        net.merchants[0],
        legacy_secret,
    )
    legacy = TerminalClient(
        net.terminals[0].session, harness.url("terminals"), str(legacy_id), legacy_secret
    )
    try:
        # 1. The gateway with the new key, the old one as previous; 2. rotate-kek.
        await restart_terminals(
            services,
            {"COMPTOIR_TERMINAL_KEK": NEW_KEK, "COMPTOIR_TERMINAL_KEK_PREVIOUS": DEV_TERMINAL_KEK},
        )
        assert await db.fetchval(
            "SELECT secret IS NULL FROM terminals.terminals WHERE id = $1", legacy_id
        ), "the plaintext row was not sealed at start"
        out = rotate_kek(NEW_KEK, DEV_TERMINAL_KEK)
        assert kek_id(bytes.fromhex(NEW_KEK)) in out
        assert (
            await db.fetchval(
                "SELECT count(*) FROM terminals.terminals WHERE secret_kek_id <> $1 OR secret IS NOT NULL",
                kek_id(bytes.fromhex(NEW_KEK)),
            )
            == 0
        )
        # 3. The gateway with the new key only: every terminal still signs.
        await restart_terminals(services, {"COMPTOIR_TERMINAL_KEK": NEW_KEK})
        for terminal in [*net.terminals, legacy]:
            assert await sale_is_accepted(terminal), terminal.terminal_id
        # The old key opens none of them, even ignoring the key id.
        old = Keyring(bytes.fromhex(DEV_TERMINAL_KEK))
        new = Keyring(bytes.fromhex(NEW_KEK))
        for tid in [*ids, legacy_id]:
            row = await db.fetchrow("SELECT * FROM terminals.terminals WHERE id = $1", tid)
            with pytest.raises(KeyringError):
                old.secret_of(row)
            sealed = bytes(row["secret_sealed"])
            with pytest.raises(InvalidTag):
                AESGCM(old.current).decrypt(sealed[:12], sealed[12:], tid.bytes)
            assert new.secret_of(row) in {t.secret for t in net.terminals} | {legacy_secret}
    finally:
        # The suite goes on with the development key.
        rotate_kek(DEV_TERMINAL_KEK, NEW_KEK)
        await restart_terminals(services, {})
    assert await sale_is_accepted(net.terminals[0])


def test_a_sealed_secret_moved_to_another_terminal_does_not_open() -> None:
    keyring = Keyring(os.urandom(32))
    sealed, by = keyring.seal(uuid.uuid4(), "the-secret-of-one-terminal-0123456789")
    with pytest.raises(KeyringError):
        keyring.open(uuid.uuid4(), sealed, by)


def test_in_development_the_services_warn_of_their_development_secrets(
    services: harness.Services,
) -> None:
    """The suite runs with COMPTOIR_ENV=development and the development card and terminal keys
    (its admin token is its own): each service says so in its log at start."""
    for service, variable in (
        ("cards", "COMPTOIR_CARD_CERT_KEY"),
        ("terminals", "COMPTOIR_TERMINAL_KEK"),
        ("crm", "COMPTOIR_LINK_KEY"),
    ):
        log = (services.logs / f"{service}.log").read_text()
        warnings = [line for line in log.splitlines() if '"event":"development_secret"' in line]
        assert any(variable in line and '"level":"warning"' in line for line in warnings), service
        assert not any("COMPTOIR_ADMIN_TOKEN" in line for line in warnings)


# --- one database role per service ------------------------------------------------------------


async def test_each_service_connects_with_its_own_role_that_owns_its_schema_only(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    if not harness.DB_ROLES:
        pytest.skip("COMPTOIR_TEST_DB_ROLES=0: the services share the owner role")
    connected = {
        r["application_name"].removeprefix("comptoir-"): r["usename"]
        for r in await db.fetch(
            """SELECT DISTINCT application_name, usename FROM pg_stat_activity
               WHERE datname = current_database() AND application_name LIKE 'comptoir-%'"""
        )
    }
    for service in harness.SERVICES:
        assert connected.get(service) == f"comptoir_{service}", connected
        owner = await db.fetchval(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", service
        )
        assert owner == f"comptoir_{service}"
        for other in harness.SERVICES:
            may_use = await db.fetchval(
                "SELECT has_schema_privilege($1, $2, 'USAGE')", f"comptoir_{service}", other
            )
            assert may_use == (other == service), (service, other)


async def test_the_cards_role_cannot_read_the_terminals_secrets(
    make_network: NetworkFactory,
) -> None:
    if not harness.DB_ROLES:
        pytest.skip("COMPTOIR_TEST_DB_ROLES=0: the services share the owner role")
    await make_network(merchants=1)
    conn = await asyncpg.connect(harness.service_database_url("cards"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM cards.schema_migrations") > 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT secret_sealed FROM terminals.terminals")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM clearing.schema_migrations")
    finally:
        await conn.close()
