"""asyncpg pool and forward-only SQL migrations, one schema per service.

Migrations are numbered files ``NNNN_name.sql``: first the messaging tables every service
shares (``shared/migrations``), then the service's own. They are applied at start, in
order, under an advisory lock so that two replicas starting together do not race; a file
changed after it was applied stops the start (forward only: write a new migration).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import orjson

SHARED_MIGRATIONS = Path(__file__).parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(*folders: tuple[str, Path]) -> list[Migration]:
    found: list[Migration] = []
    for prefix, folder in folders:
        for path in sorted(folder.glob("*.sql")):
            if not _NAME.match(path.name):
                raise MigrationError(f"migration file name must be NNNN_name.sql: {path}")
            found.append(Migration(f"{prefix}/{path.stem}", path))
    return found


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def create_pool(dsn: str, schema: str, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        # No JIT: the services' queries are short or index-bound, and compiling one costs up
        # to a second (clearing's statements of a large association, bench/clearing.py).
        server_settings={
            "search_path": schema,
            "application_name": f"comptoir-{schema}",
            "jit": "off",
        },
        command_timeout=60,
    )
    assert pool is not None
    return pool


def service_role_url(url: str, service: str) -> str:
    """``url`` with the service's own role, ``comptoir_<service>``, in place of its user, the
    password kept: how ``make run`` and the tests connect each service on a machine prepared
    by deploy/ensure-infra.sh (deploy/postgres/service-roles.sql). Each role owns its schema
    and has no right on the others'."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    password = f":{parts.password}" if parts.password is not None else ""
    netloc = f"{quote(f'comptoir_{service}', safe='')}{password}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _lock_key(schema: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"comptoir-migrate-{schema}".encode()).digest()[:8], "big", signed=True
    )


async def migrate(dsn: str, schema: str, service_migrations: Path) -> list[str]:
    """Apply what is pending; return the versions applied now."""
    migrations = discover(("shared", SHARED_MIGRATIONS), (schema, service_migrations))
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            owner, may_create = await conn.fetchrow(
                """SELECT nspowner::regrole::text, has_schema_privilege(oid, 'CREATE')
                   FROM pg_namespace WHERE nspname = $1""",
                schema,
            )
            if not may_create:
                # Not a passing outage: retrying would not help, so the start stops here.
                raise MigrationError(
                    f"schema {schema} belongs to {owner}, and this service's role may not "
                    "change it: run deploy/ensure-infra.sh, which hands each schema over to "
                    "its service's role (deploy/postgres/hand-over-schemas.sql)"
                )
            await conn.execute(f'SET search_path TO "{schema}"')
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                r["version"]: r["checksum"]
                for r in await conn.fetch("SELECT * FROM schema_migrations")
            }
            for m in migrations:
                if m.version in done:
                    if done[m.version] != m.checksum:
                        raise MigrationError(
                            f"{m.version} was changed after it was applied; add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                        m.version,
                        m.checksum,
                    )
                applied_now.append(m.version)
            unknown = set(done) - {m.version for m in migrations}
            if unknown:
                raise MigrationError(
                    f"database has migrations this code does not know: {sorted(unknown)}"
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    finally:
        await conn.close()
    return applied_now


async def pending(pool: asyncpg.Pool, service_migrations: Path, schema: str) -> list[str]:
    migrations = discover(("shared", SHARED_MIGRATIONS), (schema, service_migrations))
    try:
        rows = await pool.fetch("SELECT version FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        return [m.version for m in migrations]
    done = {r["version"] for r in rows}
    return [m.version for m in migrations if m.version not in done]


TRANSIENT_SQLSTATES = {
    "40001",
    "40P01",
    "55P03",
    "57P01",
    "57P02",
    "57P03",
    "08000",
    "08003",
    "08006",
}


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: serialization failures, deadlocks, lost or restarting servers."""
    if isinstance(exc, (asyncpg.PostgresConnectionError, ConnectionError, OSError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and "connection" in str(exc).lower():
        return True
    state: Any = getattr(exc, "sqlstate", None)
    return state in TRANSIENT_SQLSTATES


T = TypeVar("T")


async def transaction(
    pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]], attempts: int = 3
) -> T:
    """Run ``work`` in one transaction, again (with a short backoff) after a transient error
    such as a deadlock with concurrent work; the last error is raised."""
    for attempt in range(1, attempts + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await work(conn)
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
