"""bench/ingest's results as the tables of docs/benchmarks.md: sales/s, latency, and the CPU
each process spent per sale committed (its % of a core over the measured window x 10 / sales/s),
one row a run, then each label's medians (an A/B of alternated runs, 2026-12-07).

    python -m bench.ingest ... | tail -1 >> main.jsonl     # each run, each code its own file
    python -m bench._ingest_table main=main.jsonl perf=perf.jsonl
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any

PROCESSES = (
    "terminals",
    "cards",
    "clearing",
    "crm",
    "notifications",
    "postgres (bench backends)",
    "rabbitmq",
)


def row(result: dict[str, Any]) -> list[float]:
    """sales/s, p50, p99, then ms of CPU a sale per process, then their total."""
    c = result["comptoir"]
    per_s = c["sales_per_s"]
    cpu = c["cpu"]["pct_of_one_core"]
    per_sale = [cpu.get(p, 0.0) * 10 / per_s for p in PROCESSES]
    return [per_s, c["p50_ms"], c["p99_ms"], *per_sale, sum(per_sale)]


def main(args: list[str]) -> None:
    if not args or any("=" not in a for a in args):
        raise SystemExit(__doc__)
    head = ["code", "sales/s", "p50 ms", "p99 ms", *(p.split()[0] for p in PROCESSES), "total"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    medians: dict[str, list[float]] = {}
    for arg in args:
        label, path = arg.split("=", 1)
        with open(path) as f:
            rows = [row(json.loads(line)) for line in f if line.strip()]
        for r in rows:
            print(f"| {label} | " + " | ".join(_fmt(i, x) for i, x in enumerate(r)) + " |")
        if rows:
            medians[label] = [statistics.median(col) for col in zip(*rows, strict=True)]
    for label, m in medians.items():
        print(f"| **{label}, medians** | " + " | ".join(_fmt(i, x) for i, x in enumerate(m)) + " |")


def _fmt(i: int, x: float) -> str:
    return f"{x:,.0f}" if i < 3 else f"{x:.3f}"


if __name__ == "__main__":
    main(sys.argv[1:])
