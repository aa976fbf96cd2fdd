"""The house's lint check (issue 12): the limits of docs/architecture.md, enforced by ``make lint``.

    python deploy/check_house.py [--report] PATH...

Each PATH is a folder (walked for ``*.py``) or a file; a PATH that does not exist is skipped
(``terminal/`` before it exists). Tests, benchmarks and migrations are not checked. Three
rules, each offender printed as ``file:line: rule: what``:

- ``module-size``: a module over 400 lines (it holds more than one thing: split it by layer or
  by resource);
- ``sql-outside-adapters``: SQL outside an ``adapters/`` folder,
  ``shared/db/`` and the backbone modules below: a call of one of asyncpg's query methods
  (``.fetch(`` … ``.copy_from_query(``) or a string that starts as SQL does;
- ``route-size``: an HTTP route handler (a function decorated with ``….route(...)``) over 40
  lines (a route parses, calls one use case and serialises).

Exit status 1 when anything is found, unless ``--report``: then every offender is printed and
the status is 0 (to measure a tree that is still on its way).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_ROUTE_LINES = 40

# asyncpg's methods that send SQL (Connection, Pool and Transaction share the names).
QUERY_METHODS = frozenset(
    {
        "fetch",
        "fetchrow",
        "fetchval",
        "execute",
        "executemany",
        "copy_records_to_table",
        "copy_to_table",
        "copy_from_query",
    }
)

# The backbone's own tables (shared/migrations: outbox, inbox, dead letters) have their SQL in
# the module that is their only user, as an adapter would: the outbox's writer and relay, the
# consumer's inbox and dead letters in the batch's transaction, the service's readiness probe
# (SELECT 1). Nothing else in shared/ may send SQL: a new need goes to shared/db/.
BACKBONE = frozenset({"shared/outbox.py", "shared/consumer.py", "shared/service.py"})

# Folders whose modules are not checked at all.
SKIPPED_PARTS = frozenset({"tests", "bench", "migrations", "__pycache__", ".venv"})

# A string that starts as SQL: the keyword, then what makes it a statement rather than a
# sentence of prose ("With the card…", "Update refused"): INSERT INTO, UPDATE x SET, DELETE
# FROM, WITH x AS (, and SELECT either in capitals or followed somewhere by FROM.
_SQL_START = re.compile(r"^\s*(select|insert|update|delete|with)\b", re.IGNORECASE)
_SQL_SHAPE = {
    "insert": re.compile(r"^\s*insert\s+into\b", re.IGNORECASE),
    "update": re.compile(r"^\s*update\s+[\w.\"]+(\s+(as\s+)?\w+)?\s+set\b", re.IGNORECASE),
    "delete": re.compile(r"^\s*delete\s+from\b", re.IGNORECASE),
    "with": re.compile(
        r"^\s*with\s+(recursive\s+)?[\w\"]+(\s*\([^)]*\))?\s+as\s*\(", re.IGNORECASE
    ),
    "select": re.compile(r"^\s*(SELECT\b|select\b[\s\S]*\bfrom\b)", re.IGNORECASE),
}


@dataclass(frozen=True, order=True)
class Offence:
    path: str
    line: int
    rule: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.what}"


def looks_like_sql(text: str) -> bool:
    m = _SQL_START.match(text)
    if m is None:
        return False
    keyword = m.group(1).lower()
    if keyword == "select":
        # In capitals it is SQL (SELECT 1); in lower case only with a FROM ("select a card").
        return m.group(1) == "SELECT" or bool(re.search(r"\bfrom\b", text, re.IGNORECASE))
    return bool(_SQL_SHAPE[keyword].match(text))


def sql_allowed(rel: str) -> bool:
    parts = rel.split("/")
    return (
        "adapters" in parts[:-1]
        or rel.startswith("shared/db/")
        or "migrations" in parts
        or rel in BACKBONE
    )


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes (a docstring that opens with "Select…" is prose)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "route"
    )


def check_source(rel: str, source: str) -> list[Offence]:
    """The offences of one module, ``rel`` its path from the root (with forward slashes)."""
    out: list[Offence] = []
    lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    if lines > MAX_MODULE_LINES:
        out.append(
            Offence(
                rel,
                MAX_MODULE_LINES + 1,
                "module-size",
                f"{lines} lines (limit {MAX_MODULE_LINES}): split it by layer or by resource",
            )
        )
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        return [*out, Offence(rel, exc.lineno or 1, "syntax", str(exc.msg))]
    check_sql = not sql_allowed(rel)
    docstrings = _docstrings(tree) if check_sql else set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            _is_route(d) for d in node.decorator_list
        ):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_ROUTE_LINES:
                out.append(
                    Offence(
                        rel,
                        node.lineno,
                        "route-size",
                        f"route handler {node.name} has {length} lines (limit {MAX_ROUTE_LINES}):"
                        " parse, call a use case, serialise",
                    )
                )
        if not check_sql:
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
        ):
            out.append(
                Offence(
                    rel,
                    node.lineno,
                    "sql-outside-adapters",
                    f".{node.func.attr}() call: SQL belongs in adapters",
                )
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and looks_like_sql(node.value)
        ):
            first = node.value.strip().split("\n", 1)[0][:50]
            out.append(Offence(rel, node.lineno, "sql-outside-adapters", f"SQL text {first!r}"))
    return out


def _modules(path: Path) -> Iterator[Path]:
    if path.is_file():
        if path.suffix == ".py":
            yield path
        return
    for p in sorted(path.rglob("*.py")):
        if not SKIPPED_PARTS.intersection(p.relative_to(path).parts[:-1]):
            yield p


def _skipped(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (
        bool(SKIPPED_PARTS.intersection(parts[:-1]))
        or name.startswith("test_")
        or name == "conftest.py"
    )


def check_paths(paths: Sequence[Path], root: Path) -> list[Offence]:
    out: list[Offence] = []
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            continue
        for module in _modules(given):
            module = module.resolve()
            if module in seen:
                continue
            seen.add(module)
            try:
                rel = module.relative_to(root).as_posix()
            except ValueError:
                rel = module.as_posix()
            if _skipped(rel):
                continue
            out.extend(check_source(rel, module.read_text(encoding="utf-8")))
    return sorted(out)


# The baseline: what the tree still holds while the house is being built, as
# "<count> <rule> <module>" lines. A module may hold no more offences of a rule than counted
# (line numbers move; counts do not), so the tree can only get better; a module that is
# mended is taken out of the file by --write-baseline.
def render_baseline(offences: Sequence[Offence]) -> str:
    counts: dict[tuple[str, str], int] = {}
    for o in offences:
        counts[(o.path, o.rule)] = counts.get((o.path, o.rule), 0) + 1
    head = "# deploy/check_house.py --baseline: offences still tolerated, per module and rule\n"
    return head + "".join(f"{n} {rule} {path}\n" for (path, rule), n in sorted(counts.items()))


def read_baseline(path: Path) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            count, rule, module = line.split(maxsplit=2)
            out[(module, rule)] = int(count)
    return out


def beyond_baseline(
    offences: Sequence[Offence], baseline: dict[tuple[str, str], int]
) -> list[Offence]:
    """The offences of each (module, rule) when there are more than the baseline tolerates:
    all of them, since which one is new cannot be told from line numbers."""
    by_key: dict[tuple[str, str], list[Offence]] = {}
    for o in offences:
        by_key.setdefault((o.path, o.rule), []).append(o)
    return [o for key, found in by_key.items() if len(found) > baseline.get(key, 0) for o in found]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("paths", nargs="+", type=Path, help="folders or modules to check")
    parser.add_argument(
        "--report", action="store_true", help="print every offender and exit 0 (to measure)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="the paths are shown, and the allowlists read, relative to it (default: here)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="tolerate the offences counted in this file (per module and rule), fail on more",
    )
    parser.add_argument(
        "--write-baseline", action="store_true", help="write the --baseline file from this tree"
    )
    args = parser.parse_args(argv)
    offences = check_paths(args.paths, args.root.resolve())
    if args.baseline is not None:
        if args.write_baseline:
            args.baseline.write_text(render_baseline(offences))
            return 0
        offences = beyond_baseline(offences, read_baseline(args.baseline))
    for o in offences:
        print(o)
    if offences:
        rules: dict[str, int] = {}
        for o in offences:
            rules[o.rule] = rules.get(o.rule, 0) + 1
        summary = ", ".join(f"{n} {rule}" for rule, n in sorted(rules.items()))
        files = len({o.path for o in offences})
        print(f"check_house: {summary} in {files} files", file=sys.stderr)
        return 0 if args.report else 1
    if args.baseline is not None:
        print(f"check_house: nothing beyond what {args.baseline} tolerates", file=sys.stderr)
    else:
        print("check_house: the house is in order", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
