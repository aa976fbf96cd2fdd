"""Rules evaluation per sale: a network of 200 merchants × 20 families, 10 live promotions.

Pure CPU, no service, no database: ``PYTHONPATH=. python bench/rules.py`` or ``python -m
bench.rules [--sales N] [--seed S]``. Each sale is timed on its own with
``time.perf_counter_ns`` (the timer's own cost, measured empty, is subtracted). A human summary
goes to stderr; the last line of stdout is a JSON object. Target: under 20 µs per sale.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride

MERCHANTS = 200
FAMILIES = 20
PROMOTIONS = 10
TARGET_US = 20.0
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def build(rng: random.Random) -> RuleBook:
    network = NetworkRates(CalculationMode.FAMILY, 300, 50)
    merchants = []
    for m in range(MERCHANTS):
        families = []
        for f in range(FAMILIES):
            rate = rng.choice([None, 100, 250, 400, 600, 800])
            # Family 0 is tobacco, 1 gambling, 2 books at every merchant: ~15 % of sales hit a law.
            families.append(
                ProductFamily(f"f{f:02d}", rate, tobacco=f == 0, gambling=f == 1, book=f == 2)
            )
        merchants.append(
            Merchant.with_families(
                f"m{m:03d}", families, rng.choice([None, 200, 500]), rng.choice([None, 75])
            )
        )
    start, end = NOW - timedelta(days=10), NOW + timedelta(days=10)
    promotions = [
        # Network-wide: Christmas on every family, double points on three, a +50 % weekend.
        Promotion("p01", start, end, RateOverride(700)),
        Promotion("p02", start, end, Multiplier(2), families=frozenset({"f02", "f03", "f04"})),
        Promotion("p03", start, end, Multiplier(3, 2), families=frozenset({"f05", "f06"})),
        Promotion("p04", start, end, RateOverride(900), families=frozenset({"f07"})),
        # Merchants' own.
        Promotion("p05", start, end, RateOverride(1000), merchant_id="m000"),
        Promotion("p06", start, end, Multiplier(2), merchant_id="m001"),
        Promotion(
            "p07", start, end, RateOverride(1200), merchant_id="m002", families=frozenset({"f02"})
        ),
        Promotion(
            "p08", start, end, Multiplier(3), merchant_id="m003", families=frozenset({"f08"})
        ),
        Promotion("p09", start, end, RateOverride(500), merchant_id="m004"),
        Promotion("p10", start, end, Multiplier(2), merchant_id="m005"),
    ]
    return RuleBook(network, merchants, Program("bench", ProgramKind.CAGNOTTE), promotions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    book = build(rng)
    build_ms = (time.perf_counter() - t0) * 1000
    # Merchants 0-5 run their own promotions: weight them so those paths are measured too.
    merchant_ids = [f"m{m:03d}" for m in range(MERCHANTS)]
    sales = [
        Sale(
            rng.choice(merchant_ids[:6]) if rng.random() < 0.2 else rng.choice(merchant_ids),
            f"f{rng.randrange(FAMILIES):02d}",
            rng.randint(50, 50_000),
            NOW + timedelta(seconds=rng.randrange(-86_400, 86_400)),
            rng.randint(1, 5),
        )
        for _ in range(args.sales)
    ]
    evaluate, clock = book.evaluate, time.perf_counter_ns
    for sale in sales[:5_000]:  # warm-up
        evaluate(sale)
    empty = []
    for _ in range(5_000):
        a = clock()
        empty.append(clock() - a)
    overhead = statistics.median(empty)
    timings = []
    total_reward = refused = 0
    wall = time.perf_counter()
    for sale in sales:
        a = clock()
        result = evaluate(sale)
        timings.append(clock() - a - overhead)
        total_reward += result.reward_cents
        refused += result.refused
    wall_s = time.perf_counter() - wall
    timings.sort()
    n = len(timings)
    median_us = timings[n // 2] / 1000
    p99_us = timings[min(n - 1, (n * 99) // 100)] / 1000
    report = {
        "bench": "rules",
        "sales": n,
        "merchants": MERCHANTS,
        "families": FAMILIES,
        "promotions": PROMOTIONS,
        "median_us": round(median_us, 2),
        "p99_us": round(p99_us, 2),
        "mean_us": round(sum(timings) / n / 1000, 2),
        "max_us": round(timings[-1] / 1000, 2),
        "timer_overhead_ns": overhead,
        "build_ms": round(build_ms, 1),
        "sales_per_s": round(n / wall_s),
        "refused": refused,
        "total_reward_cents": total_reward,
        "target_us": TARGET_US,
        "target_met": p99_us < TARGET_US,
        "python": platform.python_version(),
    }
    print(
        f"rules: {n} sales over {MERCHANTS} merchants × {FAMILIES} families, "
        f"{PROMOTIONS} live promotions: median {median_us:.2f} µs, p99 {p99_us:.2f} µs "
        f"(target {TARGET_US} µs: {'met' if report['target_met'] else 'NOT met'}); "
        f"rulebook built in {build_ms:.0f} ms",
        file=sys.stderr,
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
