"""Clearing benchmark: the month-end close of a large network, and its biggest statement export.

    PYTHONPATH=. .venv/bin/python -m bench.clearing [--merchants 10000] [--sales 10000000]
        [--associations 100] [--holders 1000000] [--concurrency 1] [--reuse]

(or ``make bench BENCHES=clearing``). What it does (docs/benchmarks.md has the results):

1. applies clearing's migrations to its own database ``comptoir_bench`` (``shared.db.migrate``,
   as the service does at start), then generates October 2026 straight into PostgreSQL with
   set-based SQL: ``--associations`` associations, ``--merchants`` merchants spread over them
   round-robin by rank, ``--holders`` cardholders with names, and ``--sales`` journal entries
   (one per sale, in time order, a day per statement) with their postings: 1 - ``--redemptions``
   of them accruals (merchant debit reward + fee, customer_liability and operator_fees credits),
   the rest redemptions at a merchant of the same association (customer_liability debit,
   merchant credit). Sales per merchant follow a Zipf law of exponent ``--zipf`` (0.8: the
   largest merchant has about 3.7 % of all sales, its association about 4.4 %). Every
   association, merchant, partner and the operator have valid bank details (IBAN, BIC,
   mandate, creditor identifier); each association has a partner club, the merchants whose
   rank is a multiple of 10 a partnership with it (rate 2 %), a twentieth of the holders a
   membership, so the close books partner shares and writes real SEPA files. The generator
   runs as ``postgres`` with ``session_replication_role = replica`` (no per-row trigger or
   foreign-key check: the rows are consistent by construction, and checked after) and
   ``synchronous_commit = off``; every index is the real one. Then VACUUM ANALYZE, as
   autovacuum would have done in a month.
   ``--reuse`` keeps the data of a previous run of the same sizes (a marker in
   ``bench.clearing_marker``) and only undoes that run's close;
2. resets the vhost ``comptoir_bench`` and starts the clearing service alone on port 28082
   (``COMPTOIR_CLOSE_AFTER_HOURS=0``, ``COMPTOIR_RECONCILE_EVERY_S=0``); reads the entries
   and the holders once, so that they are in the OS page cache as on a database server whose
   RAM holds the month (this VM pages out what is left untouched for ~30 s);
3. ``statements_s``: closes October for every association through
   ``POST /v1/associations/{id}/periods/2026-10/close``, ``--concurrency`` requests at a time
   (partner shares, frozen statements, settlement files and their entries, the outbox events);
   then waits until the relay has published the statements' events;
4. ``export_s``: downloads the XLSX statement of the largest merchant
   (``GET /v1/merchants/{id}/statements/2026-10.xlsx``), reading the whole streamed body;
   checks the file (zip, detail rows counted in the sheet); then the CSV for reference;
5. ``peak_rss_mb``: the service's peak RSS (``VmHWM`` of /proc/<pid>/status) before it is
   stopped; the bench's own peak (``ru_maxrss``) apart. Unless ``--no-explain``, the
   statements' queries are run again under EXPLAIN ANALYZE for the largest association.

``--service-env K=V`` tries a setting of the service; ``--no-prewarm`` measures with whatever
the OS page cache holds (reported as ``os_cached_pct_before``).

A human summary goes to stderr; the last line of stdout is a JSON object with
``statements_s``, ``export_s``, ``peak_rss_mb`` and the rest; run/bench/clearing-<date>/ keeps
the service's log, the exported files and the plans.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import itertools
import os
import resource
import subprocess
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import psutil

from bench.ingest import (
    ADMIN_TOKEN,
    AMQP,
    DB,
    DSN,
    PG,
    PY,
    ROOT,
    SERVICES,
    VHOST,
    Proc,
    broker_check,
    child_env,
    code_version,
    end_leftovers,
    machine,
    ports_free,
    rabbitmqctl,
    say,
    wait_ready,
)
from services.clearing.adapters.partners import _SHARES
from services.clearing.adapters.settlement import _PARTNERS
from services.clearing.adapters.statements import _DETAIL_KINDS, _DETAILS, _FIGURES
from services.clearing.domain import bank
from shared import db

SUPER_BENCH_DSN = f"postgresql://postgres@{PG}/{DB}"
MIGRATIONS = ROOT / "services" / "clearing" / "migrations"
PERIOD = dt.date(2026, 10, 1)
LABEL = "2026-10"
DAYS = 31
BUCKETS = 1 << 20  # resolution of the merchant draw: the smallest merchant gets ~20 buckets
GENERATOR = 1  # bump when the generated data changes: --reuse then regenerates
OPERATOR = uuid.UUID(int=0)  # books.OPERATOR: the operator's bank details
TARGET = {"statements_s": 30.0, "export_s": 10.0, "peak_rss_mb": 300.0}
NS = uuid.UUID("0b5e11c4-7a8e-4c2f-9d5b-3c1ea7f0d2a9")  # the generated ids

# fmt: off
FIRST_NAMES = [
    "Jean", "Marie", "Pierre", "Nathalie", "Michel", "Isabelle", "Philippe", "Sylvie", "Alain",
    "Catherine", "Nicolas", "Françoise", "Christophe", "Sandrine", "Patrick", "Valérie",
    "Laurent", "Christine", "Stéphane", "Céline", "Éric", "Sophie", "Frédéric", "Véronique",
    "Olivier", "Hélène", "Julien", "Camille", "Léa", "Hugo", "Chloé", "Lucas", "Zoé",
]
LAST_NAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
]
SHOPS = [
    "Boulangerie", "Boucherie", "Épicerie", "Fromagerie", "Librairie", "Pharmacie",
    "Fleuriste", "Quincaillerie", "Primeur", "Caviste", "Opticien", "Coiffure", "Pressing",
    "Brasserie", "Droguerie", "Mercerie",
]
FAMILIES = [
    "alimentaire", "boulangerie", "boucherie", "textile", "librairie", "bricolage", "beaute",
    "restauration",
]
# fmt: on
CLIENT_BPS = (100, 200, 300, 500, 800, 1000)
UC_BPS = (50, 100, 150, 200, 300)


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NS, ":".join(str(p) for p in parts))


def _iban(kind: str, n: int) -> str:
    """A valid French IBAN (SWIFT layout: 5 digits bank, 5 branch, 11 account, 2 key)."""
    bank_code = {"association": "30004", "merchant": "30006", "partner": "10107"}.get(kind, "30002")
    bban = f"{bank_code}{n % 100_000:05d}{n:011d}{n % 97:02d}"
    return f"FR{bank.iban_check_digits('FR', bban)}{bban}"


def _creditor_id(n: int) -> str:
    national = f"{100_000 + n}"
    return f"FR{bank.creditor_id_check_digits('FR', national)}ZZZ{national}"


# ---------------------------------------------------------------------------------------------
# Generation


def merchant_plan(args: argparse.Namespace) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Merchants by rank (1 = the largest), their association (round-robin by rank) and rates;
    and the draw table: bucket b -> the merchant whose share of the cumulated Zipf weights
    holds (b + 0.5) / BUCKETS."""
    weights = [k**-args.zipf for k in range(1, args.merchants + 1)]
    total = sum(weights)
    cumulated = list(itertools.accumulate(weights))
    draw = [
        1 + min(bisect.bisect_right(cumulated, (b + 0.5) / BUCKETS * total), args.merchants - 1)
        for b in range(BUCKETS)
    ]
    rows = []
    for k in range(1, args.merchants + 1):
        a = (k - 1) % args.associations
        name = f"{SHOPS[k % len(SHOPS)]} {LAST_NAMES[(k // 7) % len(LAST_NAMES)]} {k:05d}"
        created = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=k % 900)
        rows.append(
            (
                k,
                _id("merchant", k),
                a,
                _id("association", a),
                name,
                CLIENT_BPS[k % len(CLIENT_BPS)],
                UC_BPS[(k // 3) % len(UC_BPS)],
                created,
                weights[k - 1] / total,
            )
        )
    return rows, draw


_BENCH_TABLES = """
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.clearing_marker, bench.clearing_merchants, bench.clearing_associations;
CREATE TABLE bench.clearing_associations (
    idx int PRIMARY KEY, id uuid NOT NULL UNIQUE, liability_account bigint, fees_account bigint
);
CREATE TABLE bench.clearing_merchants (
    idx int PRIMARY KEY, id uuid NOT NULL UNIQUE, association_idx int NOT NULL,
    association_id uuid NOT NULL, taux_client_bps int NOT NULL, taux_uc_bps int NOT NULL,
    share float8 NOT NULL, account_id bigint
);
CREATE TABLE bench.clearing_marker (
    params jsonb NOT NULL, max_entry_id bigint NOT NULL, max_posting_id bigint NOT NULL,
    max_account_id bigint NOT NULL, facts jsonb NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now()
);
"""

# One day of sales, in time order: each row draws its merchant (a bucket of the Zipf table),
# its kind, a holder of the merchant's association, a time between 8:00 and 20:00 Paris and
# its amounts; the postings are written from the entries the same statement returns.
_DAY = """
WITH draw AS (
    SELECT g, ($3::int[])[1 + floor(random() * $4)::int] AS midx, random() AS r_kind,
           random() AS r_holder, random() AS r_time, random() AS r_amount, random() AS r_family,
           random() AS r_lag
    FROM generate_series(1, $2::int) g
), src AS (
    SELECT d.*, m.id AS merchant_id, m.association_id, m.taux_client_bps, m.taux_uc_bps,
           m.association_idx + $5::bigint * floor(d.r_holder * $6)::bigint AS holder,
           ((date '2026-10-01' + $1::int) + time '08:00' + d.r_time * interval '12 hours')
               AT TIME ZONE 'Europe/Paris' AS occurred_at,
           500 + floor(d.r_amount * d.r_amount * 15000)::bigint AS purchase,
           200 + floor(d.r_amount * 2800)::bigint AS redeemed
    FROM draw d JOIN bench.clearing_merchants m ON m.idx = d.midx
), rows AS (
    SELECT CASE WHEN r_kind < $7 THEN 'redemption' ELSE 'accrual' END AS kind, *,
           (purchase * taux_client_bps + 5000) / 10000 AS reward,
           (purchase * taux_uc_bps + 5000) / 10000 AS fee
    FROM src
), e AS (
    INSERT INTO clearing.journal_entries (
        kind, reference_id, event_id, association_id, merchant_id, purchase_cents, occurred_at,
        booked_at, period, event_time, account_id, card_number, product_family, amount_cents,
        reward_cents, fee_cents, merchant_cents)
    SELECT kind, md5($8::text || ':sale:' || $1 || ':' || g)::uuid,
           md5($8::text || ':event:' || $1 || ':' || g)::uuid, association_id, merchant_id,
           CASE kind WHEN 'accrual' THEN purchase END, occurred_at,
           occurred_at + interval '1 second' + r_lag * interval '4 seconds', date '2026-10-01',
           occurred_at + r_lag * interval '1 second', md5('holder:' || holder)::uuid,
           '9900' || lpad(holder::text, 12, '0'),
           CASE kind WHEN 'accrual' THEN ($9::text[])[1 + floor(r_family * array_length($9, 1))::int] END,
           CASE kind WHEN 'redemption' THEN redeemed END,
           CASE kind WHEN 'accrual' THEN reward END,
           CASE kind WHEN 'accrual' THEN fee END,
           CASE kind WHEN 'accrual' THEN reward + fee ELSE -redeemed END
    FROM rows ORDER BY occurred_at
    RETURNING id, kind, association_id, merchant_id, reward_cents, fee_cents, amount_cents,
              merchant_cents
)
INSERT INTO clearing.postings (entry_id, account_id, amount_cents)
SELECT e.id, p.account_id, p.amount
FROM e JOIN bench.clearing_merchants m ON m.id = e.merchant_id
JOIN bench.clearing_associations a ON a.id = e.association_id
CROSS JOIN LATERAL (VALUES
    (CASE e.kind WHEN 'accrual' THEN 1 ELSE 2 END, m.account_id, e.merchant_cents),
    (CASE e.kind WHEN 'accrual' THEN 2 ELSE 1 END, a.liability_account,
     CASE e.kind WHEN 'accrual' THEN -e.reward_cents ELSE e.amount_cents END),
    (3, a.fees_account, -e.fee_cents)
) p(n, account_id, amount)
WHERE p.amount IS NOT NULL
ORDER BY e.id, p.n
"""


async def generate(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    """Everything of October 2026 the close reads; returns facts about the data."""
    t0 = time.perf_counter()
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS clearing CASCADE")
        await conn.execute(_BENCH_TABLES)
    finally:
        await conn.close()
    await db.migrate(DSN, "clearing", MIGRATIONS)
    merchants, draw = merchant_plan(args)
    su = await asyncpg.connect(SUPER_BENCH_DSN, command_timeout=None)
    try:
        await su.execute(
            """SET session_replication_role = replica; SET synchronous_commit = off;
               SET work_mem = '256MB'; SET maintenance_work_mem = '1GB';
               SET search_path = clearing"""
        )
        await _parties(su, args, merchants)
        say(f"  parties ready in {time.perf_counter() - t0:.1f} s; sales, a day at a time")
        per_holder_assoc = args.holders // args.associations
        for day in range(DAYS):
            n = args.sales // DAYS + (1 if day < args.sales % DAYS else 0)
            t = time.perf_counter()
            async with su.transaction():
                await su.execute("SELECT setseed($1)", ((args.seed * 7919 + day) % 2000) / 1000 - 1)
                await su.execute(
                    _DAY,
                    day,
                    n,
                    draw,
                    BUCKETS,
                    args.associations,
                    per_holder_assoc,
                    args.redemptions,
                    str(args.seed),
                    FAMILIES,
                )
            say(f"  2026-10-{day + 1:02d}: {n:,} sales in {time.perf_counter() - t:.1f} s")
        generated_s = time.perf_counter() - t0
        say("  VACUUM ANALYZE")
        for table in ("journal_entries", "postings", "holders", "pivot_accounts", "merchants"):
            await su.execute(f"VACUUM (ANALYZE) clearing.{table}")
        for table in ("partners", "partnerships", "partner_members", "bank_details", "books"):
            await su.execute(f"ANALYZE clearing.{table}")
        vacuum_s = time.perf_counter() - t0 - generated_s
        checks = await _checks(su)
        facts = await _facts(su)
        facts.update(
            {
                "generation_s": round(generated_s, 1),
                "vacuum_analyze_s": round(vacuum_s, 1),
                "checks": checks,
                "checks_s": round(time.perf_counter() - t0 - generated_s - vacuum_s, 1),
            }
        )
        await su.execute(
            """INSERT INTO bench.clearing_marker
               (params, max_entry_id, max_posting_id, max_account_id, facts)
               SELECT $1::jsonb, (SELECT max(id) FROM journal_entries),
                      (SELECT max(id) FROM postings), (SELECT max(id) FROM pivot_accounts),
                      $2::jsonb""",
            orjson.dumps(params).decode(),
            orjson.dumps(facts).decode(),
        )
    finally:
        await su.close()
    return facts


async def _parties(su: asyncpg.Connection, args: argparse.Namespace, merchants: list[Any]) -> None:
    """Associations, merchants, their pivot accounts, holders, partners, bank details, books."""
    assocs = [(a, _id("association", a)) for a in range(args.associations)]
    await su.copy_records_to_table(
        "clearing_associations", schema_name="bench", records=assocs, columns=("idx", "id")
    )
    await su.copy_records_to_table(
        "clearing_merchants",
        schema_name="bench",
        records=[(m[0], m[1], m[2], m[3], m[5], m[6], m[8]) for m in merchants],
        columns=(
            "idx",
            "id",
            "association_idx",
            "association_id",
            "taux_client_bps",
            "taux_uc_bps",
            "share",
        ),
    )
    await su.copy_records_to_table(
        "merchants",
        records=[(m[1], m[3], m[4], m[5], m[6], m[7]) for m in merchants],
        columns=("id", "association_id", "name", "taux_client_bps", "taux_uc_bps", "created_at"),
    )
    await su.execute(
        """INSERT INTO pivot_accounts (association_id, kind, merchant_id)
           SELECT association_id, 'merchant', id FROM bench.clearing_merchants ORDER BY idx;
           INSERT INTO pivot_accounts (association_id, kind)
           SELECT id, k FROM bench.clearing_associations,
                  unnest(ARRAY['customer_liability', 'operator_fees']) k ORDER BY idx, k;
           UPDATE bench.clearing_merchants m SET account_id = a.id FROM pivot_accounts a
           WHERE a.kind = 'merchant' AND a.merchant_id = m.id;
           UPDATE bench.clearing_associations x SET
               liability_account = (SELECT id FROM pivot_accounts a WHERE a.association_id = x.id
                                    AND a.kind = 'customer_liability'),
               fees_account = (SELECT id FROM pivot_accounts a WHERE a.association_id = x.id
                               AND a.kind = 'operator_fees');
           INSERT INTO books (association_id) SELECT id FROM bench.clearing_associations;
           ANALYZE bench.clearing_merchants; ANALYZE bench.clearing_associations"""
    )
    per = args.holders // args.associations
    await su.execute(
        """INSERT INTO holders (account_id, association_id, title, first_name, last_name)
           SELECT md5('holder:' || h)::uuid, a.id, (ARRAY['M.', 'Mme'])[1 + h % 2],
                  ($2::text[])[1 + (h / 7) % array_length($2, 1)],
                  ($3::text[])[1 + (h / 3) % array_length($3, 1)]
           FROM generate_series(0, $1::bigint - 1) h
           JOIN bench.clearing_associations a ON a.idx = h % $4""",
        per * args.associations,
        FIRST_NAMES,
        LAST_NAMES,
        args.associations,
    )
    # F19: a partner club per association, a tenth of its merchants in partnership with it
    # (2 %), a twentieth of its holders members.
    partners = [(_id("partner", a), aid, f"Club partenaire {a:03d}") for a, aid in assocs]
    await su.copy_records_to_table(
        "partners",
        records=[(*p, dt.datetime(2025, 6, 1, tzinfo=dt.UTC)) for p in partners],
        columns=("id", "association_id", "name", "created_at"),
    )
    await su.copy_records_to_table(
        "partnerships",
        records=[
            (m[1], _id("partner", m[2]), 200, dt.date(2026, 1, 1))
            for m in merchants
            if m[0] % 10 == 0
        ],
        columns=("merchant_id", "partner_id", "rate_bps", "starts_on"),
    )
    await su.execute(
        """INSERT INTO partner_members (partner_id, account_id, since)
           SELECT p.id, h.account_id, date '2026-01-01'
           FROM holders h JOIN partners p ON p.association_id = h.association_id
           WHERE get_byte(uuid_send(h.account_id), 15) % 20 = 0"""
    )
    signed = dt.date(2025, 1, 15)
    details: list[tuple[Any, ...]] = [
        ("operator", OPERATOR, "Comptoir SAS", _iban("operator", 1), "BNPAFRPP", None, None, None)
    ]
    for a, aid in assocs:
        details.append(
            (
                "association",
                aid,
                f"Association des commercants {a:03d}",
                _iban("association", a),
                "CEPAFRPP",
                None,
                None,
                _creditor_id(a),
            )
        )
        details.append(
            (
                "partner",
                _id("partner", a),
                f"Club partenaire {a:03d}",
                _iban("partner", a),
                "CMCIFRPP",
                None,
                None,
                None,
            )
        )
    for m in merchants:
        details.append(
            (
                "merchant",
                m[1],
                m[4],
                _iban("merchant", m[0]),
                "SOGEFRPP",
                f"CPT-M-{m[0]:06d}",
                signed,
                None,
            )
        )
    await su.copy_records_to_table(
        "bank_details",
        records=details,
        columns=(
            "party_kind",
            "party_id",
            "holder",
            "iban",
            "bic",
            "mandate_id",
            "mandate_signed_on",
            "creditor_id",
        ),
    )


async def _checks(su: asyncpg.Connection) -> dict[str, int]:
    """What the service's invariants say of the generated journal: every entry balanced, and
    its merchant_cents equal to its posting on its merchant's account."""
    unbalanced = await su.fetchval(
        """SELECT count(*) FROM (SELECT entry_id FROM postings GROUP BY entry_id
                                 HAVING sum(amount_cents) <> 0) x"""
    )
    mismatched = await su.fetchval(
        """SELECT count(*) FROM journal_entries e
           JOIN postings p ON p.entry_id = e.id
           JOIN pivot_accounts a ON a.id = p.account_id AND a.kind = 'merchant'
           WHERE a.merchant_id <> e.merchant_id OR p.amount_cents <> e.merchant_cents"""
    )
    no_postings = await su.fetchval(
        """SELECT count(*) FROM journal_entries e
           WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)"""
    )
    return {"unbalanced": unbalanced, "merchant_mismatch": mismatched, "no_postings": no_postings}


async def _facts(conn: asyncpg.Connection) -> dict[str, Any]:
    per_merchant = await conn.fetch(
        """SELECT merchant_id, association_id, count(*) AS n FROM clearing.journal_entries
           WHERE period = $1 GROUP BY 1, 2 ORDER BY n DESC""",
        PERIOD,
    )
    per_assoc: dict[uuid.UUID, int] = {}
    for r in per_merchant:
        per_assoc[r["association_id"]] = per_assoc.get(r["association_id"], 0) + r["n"]
    total = sum(per_assoc.values())
    top = per_merchant[0]
    biggest = max(per_assoc, key=lambda a: per_assoc[a])
    counts = sorted(per_assoc.values())
    return {
        "entries": total,
        "redemptions": await conn.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE kind = 'redemption'"
        ),
        "postings": await conn.fetchval("SELECT count(*) FROM clearing.postings"),
        "holders": await conn.fetchval("SELECT count(*) FROM clearing.holders"),
        "partner_members": await conn.fetchval("SELECT count(*) FROM clearing.partner_members"),
        "merchants_with_sales": len(per_merchant),
        "largest_merchant": {
            "id": str(top["merchant_id"]),
            "lines": top["n"],
            "share_pct": round(100 * top["n"] / total, 2),
        },
        "smallest_merchant_lines": per_merchant[-1]["n"],
        "largest_association": {"id": str(biggest), "entries": per_assoc[biggest]},
        "association_entries": {
            "min": counts[0],
            "median": counts[len(counts) // 2],
            "max": counts[-1],
        },
    }


async def reusable(params: dict[str, Any]) -> asyncpg.Record | None:
    """The marker of data generated with the same parameters, if that data is still there."""
    conn = await asyncpg.connect(DSN)
    try:
        if not await conn.fetchval(
            "SELECT to_regclass('bench.clearing_marker') IS NOT NULL "
            "AND to_regclass('clearing.journal_entries') IS NOT NULL"
        ):
            return None
        marker = await conn.fetchrow("SELECT * FROM bench.clearing_marker")
        if marker is None or orjson.loads(marker["params"]) != params:
            return None
        facts = orjson.loads(marker["facts"])
        there = await conn.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE id <= $1", marker["max_entry_id"]
        )
        return marker if there == facts["entries"] else None
    finally:
        await conn.close()


async def undo_close(marker: asyncpg.Record) -> dict[str, float]:
    """Back to the generated state: what a previous run's close booked and froze, removed
    (as ``postgres``, the journal's append-only triggers off for this session only)."""
    su = await asyncpg.connect(SUPER_BENCH_DSN, command_timeout=None)
    try:
        await su.execute("SET session_replication_role = replica; SET search_path = clearing")
        async with su.transaction():
            out: dict[str, float] = {
                "postings": await _deleted(
                    su, "DELETE FROM postings WHERE id > $1", marker["max_posting_id"]
                ),
                "entries": await _deleted(
                    su, "DELETE FROM journal_entries WHERE id > $1", marker["max_entry_id"]
                ),
                "accounts": await _deleted(
                    su, "DELETE FROM pivot_accounts WHERE id > $1", marker["max_account_id"]
                ),
                "statements": await _deleted(su, "DELETE FROM statements"),
            }
            await su.execute(
                """DELETE FROM settlements; DELETE FROM period_closes; DELETE FROM outbox;
                   DELETE FROM inbox; UPDATE books SET closed_through = NULL"""
            )
        # The close's entries went wherever the free space map found room, all over the
        # table, clearing those pages' all-visible bits: without this VACUUM each rerun would
        # leave more index-only scans visiting the table (autovacuum's state after a month is
        # what the generation left).
        t0 = time.perf_counter()
        for table in (
            "journal_entries",
            "postings",
            "pivot_accounts",
            "statements",
            "settlements",
            "period_closes",
            "outbox",
        ):
            await su.execute(f"VACUUM {table}")
        out["vacuum_s"] = round(time.perf_counter() - t0, 1)
        return out
    finally:
        await su.close()


async def _deleted(conn: asyncpg.Connection, sql: str, *args: Any) -> int:
    status = await conn.execute(sql, *args)
    return int(status.split()[-1])


# ---------------------------------------------------------------------------------------------
# Measures


class RssWatch(threading.Thread):
    """The service's RSS every 0.1 s, its peak per phase (VmHWM gives the lifetime peak)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            with contextlib.suppress(psutil.Error):
                mb = self.proc.memory_info().rss / 2**20
                self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), mb)
            self.stopped.wait(0.1)


def vm_hwm_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


async def close_all(
    session: aiohttp.ClientSession, associations: list[uuid.UUID], concurrency: int
) -> tuple[float, list[dict[str, Any]]]:
    """Close October for every association; (wall time, each answer with its time)."""
    base = f"http://127.0.0.1:{SERVICES['clearing']}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    gate = asyncio.Semaphore(concurrency)
    body = orjson.dumps({"actor": "bench.clearing"})

    async def one(aid: uuid.UUID) -> dict[str, Any]:
        async with gate:
            t = time.perf_counter()
            async with session.post(
                f"{base}/v1/associations/{aid}/periods/{LABEL}/close", data=body, headers=headers
            ) as r:
                raw = await r.read()
                took = time.perf_counter() - t
                if r.status != 201:
                    raise SystemExit(f"close of {aid}: {r.status} {raw[:500]!r}")
        out: dict[str, Any] = orjson.loads(raw)
        out["seconds"] = took
        return out

    t0 = time.perf_counter()
    answers = await asyncio.gather(*(one(a) for a in associations))
    return time.perf_counter() - t0, answers


async def download(
    session: aiohttp.ClientSession, merchant_id: str, ext: str, dest: Path
) -> dict[str, float]:
    """Fetch a statement export, the whole streamed body, into ``dest``."""
    url = f"http://127.0.0.1:{SERVICES['clearing']}/v1/merchants/{merchant_id}/statements/{LABEL}.{ext}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    size = 0
    first: float | None = None
    t0 = time.perf_counter()
    with dest.open("wb") as f:
        async with session.get(url, headers=headers) as r:
            if r.status != 200:
                raise SystemExit(f"export {ext}: {r.status} {(await r.read())[:500]!r}")
            async for chunk in r.content.iter_chunked(1 << 16):
                if first is None:
                    first = time.perf_counter()
                size += len(chunk)
                f.write(chunk)
    took = time.perf_counter() - t0
    return {"s": took, "ttfb_s": (first or t0) - t0, "bytes": size}


def xlsx_detail_rows(path: Path) -> int:
    """Detail lines in the "Détails" sheet (the third): its rows with a date in column A (the
    title and the header have text there, the totals lines nothing); reading the zip also
    checks every CRC."""
    mark = b'<c r="A'
    with zipfile.ZipFile(path) as z:
        if z.testzip() is not None:
            raise SystemExit(f"{path}: a corrupt zip member")
        cells = 0
        tail = b""
        with z.open("xl/worksheets/sheet3.xml") as sheet:
            while chunk := sheet.read(1 << 20):
                data = tail + chunk
                cells += data.count(mark)
                tail = data[-(len(mark) - 1) :]  # too short to hold a whole mark
    return cells - 2  # the title and the header


def csv_detail_rows(path: Path) -> int:
    """Lines with a date: not the header, nor the totals lines (their first cell is empty)."""
    with path.open("rb") as f:
        return sum(1 for line in f if line[:1].isdigit())


async def explain(
    conn: asyncpg.Connection, aid: uuid.UUID, mid: uuid.UUID, out: Path
) -> dict[str, float]:
    """The statements' queries under EXPLAIN (ANALYZE, BUFFERS): the plans into ``out``, the
    execution time of each returned (ms)."""
    queries: list[tuple[str, str, tuple[Any, ...]]] = [
        ("figures", _FIGURES, (aid, PERIOD)),
        ("shares", _SHARES, (aid, PERIOD)),
        ("partner_positions", _PARTNERS, (aid, PERIOD, dt.date.min)),
        (
            "adjustments_of",
            """SELECT merchant_id, reference_id, adjusts_period, merchant_cents, note, occurred_at
               FROM journal_entries WHERE association_id = $1 AND period = $2
               AND kind = 'merchant_adjustment' ORDER BY occurred_at, id""",
            (aid, PERIOD),
        ),
        # The first page of the largest merchant: the details are read a page at a time.
        (
            "details_largest_merchant_page",
            _DETAILS,
            (mid, PERIOD, _DETAIL_KINDS, dt.datetime.min.replace(tzinfo=dt.UTC), 0, 5_000),
        ),
    ]
    times: dict[str, float] = {}
    text = []
    for name, sql, params in queries:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
        plan = "\n".join(r[0] for r in rows)
        text.append(f"-- {name}\n{plan}\n")
        for line in plan.splitlines():
            if line.startswith("Execution Time:"):
                times[name] = float(line.split()[2])
    await asyncio.to_thread(out.write_text, "\n".join(text))
    return times


async def db_sizes(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch(
        """SELECT c.relname, pg_total_relation_size(c.oid) AS total, pg_relation_size(c.oid) AS heap
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'clearing' AND c.relkind = 'r'
           ORDER BY total DESC LIMIT 4"""
    )
    return {
        "database_mb": round(await conn.fetchval("SELECT pg_database_size($1)", DB) / 2**20),
        "tables_mb": {
            r["relname"]: {"total": round(r["total"] / 2**20), "heap": round(r["heap"] / 2**20)}
            for r in rows
        },
    }


def start_service(run_dir: Path, extra: list[str]) -> Proc:
    env = child_env(
        {
            "COMPTOIR_DATABASE_URL": DSN,
            "COMPTOIR_AMQP_URL": AMQP,
            "COMPTOIR_PORT": str(SERVICES["clearing"]),
            "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
            "COMPTOIR_ENV": "development",  # the development card keys (shared/production.py)
            "COMPTOIR_LOG_LEVEL": "WARNING",
            "COMPTOIR_CLOSE_AFTER_HOURS": "0",
            "COMPTOIR_RECONCILE_EVERY_S": "0",
        }
    )
    for kv in extra:
        k, _, v = kv.partition("=")
        env[k] = v
    return Proc("clearing", [PY, "-m", "services.clearing"], env, run_dir / "clearing.log")


# What the statements and the export read: the entries, the statement index, the holders.
CACHED = (
    "journal_entries",
    "journal_entries_statement",
    "journal_entries_details",
    "holders",
    "holders_pkey",
)


async def prewarm() -> float:
    """Read the tables and the indexes the close and the export use once (pg_prewarm's
    ``read`` mode: into the OS page cache), so that every run starts with them cached, as on
    a database server whose RAM holds the month. This VM pages out what was not touched for
    ~30 s (DAMON reclaim), so without it a run's figures depend on what ran before: one run
    found the statement index 0.9 % cached and closed in 34 s, the next 99.7 % and 20 s."""
    t0 = time.perf_counter()
    su = await asyncpg.connect(SUPER_BENCH_DSN, command_timeout=None)
    try:
        await su.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for relation in CACHED:
            await su.fetchval("SELECT pg_prewarm($1::regclass, 'read')", f"clearing.{relation}")
    finally:
        await su.close()
    return round(time.perf_counter() - t0, 1)


async def os_cached_pct() -> dict[str, float] | None:
    """Share of each relation of ``CACHED`` in the OS page cache (fincore over its files);
    None where the data directory cannot be read."""
    try:
        su = await asyncpg.connect(SUPER_BENCH_DSN)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        base = await su.fetchval("SELECT current_setting('data_directory')")
        rels = {
            r: await su.fetchval("SELECT pg_relation_filepath($1)", f"clearing.{r}") for r in CACHED
        }
    finally:
        await su.close()
    return await asyncio.to_thread(_fincore, base, rels)


def _fincore(base: str, rels: dict[str, str]) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for name, rel in rels.items():
        # the relation's segments: 40147, 40147.1, ... (not its _fsm and _vm forks)
        files = [str(p) for p in Path(base).glob(f"{rel}*") if p.name.replace(".", "").isdigit()]
        try:
            r = subprocess.run(
                ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", *files],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            return None
        if r.returncode != 0 or not files:
            return None
        pairs = [tuple(map(int, line.split())) for line in r.stdout.splitlines()]
        size = sum(p[1] for p in pairs)
        out[name] = round(100 * sum(p[0] for p in pairs) / size, 1) if size else 0.0
    return out


async def wait_outbox_empty(conn: asyncpg.Connection, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while await conn.fetchval("SELECT count(*) FROM clearing.outbox"):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = ROOT / "run" / "bench" / time.strftime("clearing-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    end_leftovers()
    ports_free([SERVICES["clearing"]])
    params = {
        "generator": GENERATOR,
        "merchants": args.merchants,
        "sales": args.sales,
        "associations": args.associations,
        "holders": args.holders,
        "zipf": args.zipf,
        "redemptions": args.redemptions,
        "seed": args.seed,
    }
    out: dict[str, Any] = {
        "bench": "clearing",
        "machine": machine(),
        "code": code_version(),
        **{k: v for k, v in params.items() if k != "generator"},
        "concurrency": args.concurrency,
        "service_env": args.service_env,
    }
    say(f"logs in {run_dir}")
    marker = await reusable(params) if args.reuse else None
    if marker is not None:
        facts = orjson.loads(marker["facts"])
        await db.migrate(DSN, "clearing", MIGRATIONS)  # a migration added since: applied
        out["undone"] = await undo_close(marker)
        out["generated"] = False
        say(f"reusing the data generated at {marker['generated_at']:%Y-%m-%d %H:%M} UTC")
    else:
        say(
            f"generating {args.sales:,} sales of {args.merchants:,} merchants in "
            f"{args.associations} associations, {args.holders:,} holders"
        )
        facts = await generate(args, params)
        out["generated"] = True
        say(f"generated in {facts['generation_s']} s; checks {facts['checks']}")
    out["data"] = facts
    if any(facts["checks"].values()):
        raise SystemExit(f"the generated journal is inconsistent: {facts['checks']}")
    await measure(args, out, facts, run_dir)
    (run_dir / "result.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    say(
        f"== statements {out['statements_s']} s, export {out['export_s']} s, service peak RSS "
        f"{out['peak_rss_mb']} MB; targets {out['targets']}; checks ok: {out['checks_ok']}"
    )
    return out


async def measure(
    args: argparse.Namespace, out: dict[str, Any], facts: dict[str, Any], run_dir: Path
) -> None:
    """Start the service, close every association, export, and fill ``out``."""
    conn = await asyncpg.connect(DSN)
    out.update(await db_sizes(conn))
    associations = [
        r["id"] for r in await conn.fetch("SELECT id FROM bench.clearing_associations ORDER BY idx")
    ]
    largest = facts["largest_merchant"]
    rabbitmqctl("await_startup")
    broker_check()
    rabbitmqctl("delete_vhost", VHOST, check=False)
    rabbitmqctl("add_vhost", VHOST)
    rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    procs = {"clearing": start_service(run_dir, args.service_env)}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_ready(
                session,
                procs,
                lambda name, attempt: start_service(run_dir, args.service_env),
            )
            service = procs["clearing"]
            watch = RssWatch(service.pid)
            watch.start()
            if args.prewarm:
                out["prewarm_s"] = await prewarm()
            out["os_cached_pct_before"] = await os_cached_pct()
            out["loadavg_before_measure"] = [round(x, 2) for x in os.getloadavg()]

            # 3. every statement: the close of each association
            watch.phase = "statements"
            cpu0 = cpu_s(service.ps)
            say(
                f"closing {LABEL} for {len(associations)} associations, {args.concurrency} at a time"
            )
            t_close = time.perf_counter()
            statements_s, answers = await close_all(session, associations, args.concurrency)
            cpu1 = cpu_s(service.ps)
            drained = await wait_outbox_empty(conn, 300)
            drained_s = time.perf_counter() - t_close
            times = sorted(a["seconds"] for a in answers)
            by_assoc = {a["association_id"]: a["seconds"] for a in answers}
            settlements = [a["settlement"] for a in answers]
            frozen = await conn.fetchval(
                "SELECT count(*) FROM clearing.statements WHERE period = $1", PERIOD
            )
            files = await conn.fetchrow(
                """SELECT sum(length(direct_debit)) AS dd, sum(length(credit_transfer)) AS ct
                   FROM clearing.settlements WHERE period = $1""",
                PERIOD,
            )
            out.update(
                {
                    "statements_s": round(statements_s, 2),
                    "statements": sum(a["statements"] for a in answers),
                    "statements_frozen": frozen,
                    "partner_shares": sum(a["partner_shares"] for a in answers),
                    "close_s": {
                        "median": round(times[len(times) // 2], 3),
                        "max": round(times[-1], 3),
                        "largest_association": round(
                            by_assoc[facts["largest_association"]["id"]], 3
                        ),
                    },
                    "settlement": {
                        "statuses": sorted({s["status"] for s in settlements}),
                        "collections": sum(s["collections_count"] for s in settlements),
                        "transfers": sum(s["transfers_count"] for s in settlements),
                        "held": sum(len(s["held"]) for s in settlements),
                        "sepa_files_mb": round(
                            ((files["dd"] or 0) + (files["ct"] or 0)) / 2**20, 2
                        ),
                    },
                    "outbox_drained": drained,
                    # from the first close to the last statement event published
                    "outbox_drained_s": round(drained_s, 2) if drained else None,
                }
            )
            say(
                f"  {out['statements']:,} statements in {statements_s:.2f} s (close median "
                f"{out['close_s']['median']} s, max {out['close_s']['max']} s); "
                f"{out['settlement']['collections']:,} collections, "
                f"{out['settlement']['transfers']:,} transfers; outbox drained: {drained}"
            )

            # 4. the largest merchant's statement, XLSX then CSV
            out["os_cached_pct_before_export"] = await os_cached_pct()
            watch.phase = "export"
            cpu2 = cpu_s(service.ps)
            xlsx = await download(session, largest["id"], "xlsx", run_dir / "largest.xlsx")
            cpu3 = cpu_s(service.ps)
            watch.phase = "csv"
            csv = await download(session, largest["id"], "csv", run_dir / "largest.csv")
            watch.phase = "after"
            export_rows = await conn.fetchval(
                """SELECT count(*) FROM clearing.journal_entries
                   WHERE merchant_id = $1 AND period = $2 AND kind = ANY($3)""",
                uuid.UUID(largest["id"]),
                PERIOD,
                _DETAIL_KINDS,
            )
            in_xlsx = await asyncio.to_thread(xlsx_detail_rows, run_dir / "largest.xlsx")
            in_csv = await asyncio.to_thread(csv_detail_rows, run_dir / "largest.csv")
            out.update(
                {
                    "export_s": round(xlsx["s"], 2),
                    "export_ttfb_s": round(xlsx["ttfb_s"], 3),
                    "export_rows": export_rows,
                    "export_rows_in_file": in_xlsx,
                    "export_mb": round(xlsx["bytes"] / 2**20, 2),
                    "rows_per_s": round(export_rows / xlsx["s"]),
                    "csv_s": round(csv["s"], 2),
                    "csv_mb": round(csv["bytes"] / 2**20, 2),
                    "csv_rows_in_file": in_csv,
                }
            )
            say(
                f"  XLSX of the largest merchant: {export_rows:,} lines, "
                f"{out['export_mb']} MB in {xlsx['s']:.2f} s ({out['rows_per_s']:,} lines/s); "
                f"CSV {out['csv_mb']} MB in {csv['s']:.2f} s"
            )
            out["service_cpu_s"] = {
                "statements": round(cpu1 - cpu0, 2),
                "export": round(cpu3 - cpu2, 2),
            }
            out["peak_rss_mb"] = round(vm_hwm_mb(service.pid) or 0.0, 1)
            watch.stopped.set()
            out["rss_mb_by_phase"] = {k: round(v, 1) for k, v in watch.peaks.items()}
    finally:
        for p in procs.values():
            await p.stop()
    if args.explain:
        say("EXPLAIN ANALYZE of the statements' queries (largest association)")
        # a session set up as the service's are (search_path, jit...)
        pool = await db.create_pool(DSN, "clearing", 1, 1)
        try:
            async with pool.acquire() as session_conn:
                out["explain_ms"] = await explain(
                    session_conn,
                    uuid.UUID(facts["largest_association"]["id"]),
                    uuid.UUID(largest["id"]),
                    run_dir / "plans.txt",
                )
        finally:
            await pool.close()
    await conn.close()
    out["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["targets"] = {
        "statements_s<30": out["statements_s"] < TARGET["statements_s"],
        "export_s<10": out["export_s"] < TARGET["export_s"],
        "peak_rss_mb<300": out["peak_rss_mb"] < TARGET["peak_rss_mb"],
    }
    out["checks_ok"] = (
        out["statements"] == out["statements_frozen"] == args.merchants
        and in_xlsx == export_rows == in_csv
        and bool(out["outbox_drained"])
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.clearing",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--merchants", type=int, default=10_000)
    p.add_argument("--sales", type=int, default=10_000_000, help="journal entries of October")
    p.add_argument("--associations", type=int, default=100)
    p.add_argument("--holders", type=int, default=1_000_000, help="cardholders, with names")
    p.add_argument("--zipf", type=float, default=0.8, help="exponent of sales per merchant rank")
    p.add_argument("--redemptions", type=float, default=0.10, help="share of redemptions")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=1, help="close requests in flight")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data of a previous run with the same sizes (undo its close only)",
    )
    p.add_argument(
        "--no-prewarm",
        dest="prewarm",
        action="store_false",
        help="measure with whatever the OS page cache holds (see os_cached_pct_before)",
    )
    p.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="skip the EXPLAIN ANALYZE of the statements' queries",
    )
    p.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="COMPTOIR_X=V",
        help="extra env for the service (to try a setting); repeatable",
    )
    args = p.parse_args(argv)
    if args.merchants < args.associations or args.holders < args.associations:
        p.error("at least one merchant and one holder per association")
    return args


if __name__ == "__main__":
    result = asyncio.run(main(parse_args()))
    print(orjson.dumps(result).decode())
