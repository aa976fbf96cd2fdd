"""The house's lint check on small synthetic trees: long modules, SQL outside the adapters,
long route handlers; what is allowed stays quiet; --report lists without failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.check_house import check_paths, check_source, looks_like_sql, main


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rules(rel: str, source: str) -> list[tuple[int, str]]:
    return [(o.line, o.rule) for o in check_source(rel, source)]


def test_a_module_over_400_lines_is_named_at_its_401st_line() -> None:
    assert _rules("services/x/big.py", "x = 1\n" * 400) == []
    assert _rules("services/x/big.py", "x = 1\n" * 401) == [(401, "module-size")]


def test_query_calls_outside_adapters_are_flagged_with_their_line() -> None:
    source = (
        "async def f(conn):\n"
        "    await conn.fetch(q)\n"
        "    await conn.execute(q)\n"
        "    await pool.copy_records_to_table('t', records=[])\n"
    )
    assert _rules("services/x/service.py", source) == [
        (2, "sql-outside-adapters"),
        (3, "sql-outside-adapters"),
        (4, "sql-outside-adapters"),
    ]


def test_sql_strings_outside_adapters_are_flagged() -> None:
    source = (
        'A = "SELECT 1"\n'
        'B = """\n   insert into t (a) values ($1)"""\n'
        'C = "update cards set status = $2"\n'
        'D = "DELETE FROM t"\n'
        'E = "WITH s AS (SELECT 1) SELECT * FROM s"\n'
        'F = f"SELECT {cols} FROM t"\n'
    )
    assert [line for line, _ in _rules("shared/thing.py", source)] == [1, 2, 4, 5, 6, 7]


def test_prose_and_docstrings_are_not_sql() -> None:
    source = (
        '"""Select the card type, then update it."""\n'
        "def f():\n"
        '    """SELECT * FROM explained in a docstring."""\n'
        '    a = "With the card in hand"\n'
        '    b = "Update refused"\n'
        '    c = "select a card type"\n'
        '    d = "delete me"\n'
        "    return a, b, c, d\n"
    )
    assert _rules("services/x/domain.py", source) == []
    assert not looks_like_sql("Insert the card")
    assert looks_like_sql("  select a.id from a")


@pytest.mark.parametrize(
    "rel",
    [
        "services/x/adapters/repositories.py",
        "shared/db/query.py",
        "shared/outbox.py",
        "shared/consumer.py",
        "shared/service.py",
    ],
)
def test_sql_is_allowed_in_adapters_shared_db_and_the_backbone(rel: str) -> None:
    assert _rules(rel, 'async def f(c):\n    await c.fetch("SELECT * FROM t")\n') == []


def test_a_module_merely_named_adapters_is_not_the_adapters_folder() -> None:
    # The house keeps SQL in adapters/ folders, small services included.
    source = 'async def f(c):\n    await c.fetch("SELECT * FROM t")\n'
    assert _rules("services/x/adapters.py", source) == [(2, "sql-outside-adapters")] * 2


def test_a_route_handler_over_40_lines_is_flagged_at_its_def() -> None:
    def handler(lines: int) -> str:
        body = "".join("    x = 1\n" for _ in range(lines - 2))
        return (
            '@routes.route("GET", "/v1/x", summary="x")\n'
            "async def get_x(request):\n" + body + "    return x\n"
        )

    assert _rules("services/x/entrypoints/http/x.py", handler(40)) == []
    assert _rules("services/x/entrypoints/http/x.py", handler(41)) == [(2, "route-size")]
    # Not a route: a long plain function is the module limit's business, not this rule's.
    assert _rules("services/x/service.py", handler(41).replace("@routes.route", "@other")) == []


def test_tests_bench_and_migrations_are_not_checked(tmp_path: Path) -> None:
    sql = 'Q = "SELECT * FROM t"\n'
    _write(tmp_path, "services/x/tests/test_x.py", sql)
    _write(tmp_path, "services/x/migrations/helper.py", sql)
    _write(tmp_path, "services/x/test_y.py", sql)
    _write(tmp_path, "bench/ingest.py", sql)
    assert check_paths([tmp_path / "services", tmp_path / "bench"], tmp_path) == []


def test_the_paths_are_walked_and_a_missing_one_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "services/x/service.py", 'Q = "SELECT * FROM t"\n')
    _write(tmp_path, "services/x/adapters/sql.py", 'Q = "SELECT * FROM t"\n')
    found = check_paths([tmp_path / "services", tmp_path / "terminal"], tmp_path)
    assert [str(o) for o in found] == [
        "services/x/service.py:1: sql-outside-adapters: SQL text 'SELECT * FROM t'"
    ]


def test_it_fails_naming_file_and_line_unless_reporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "shared/a.py", "async def f(c):\n    await c.fetchval(q)\n")
    args = ["--root", str(tmp_path), str(tmp_path / "shared")]
    assert main(args) == 1
    assert "shared/a.py:2: sql-outside-adapters" in capsys.readouterr().out
    assert main(["--report", *args]) == 0
    assert "shared/a.py:2:" in capsys.readouterr().out


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    _write(tmp_path, "services/x/domain.py", "def rule(a: int) -> int:\n    return a + 1\n")
    assert main(["--root", str(tmp_path), str(tmp_path / "services")]) == 0


def test_the_baseline_tolerates_what_it_counts_and_fails_on_one_more(tmp_path: Path) -> None:
    _write(tmp_path, "services/x/service.py", "async def f(conn):\n    await conn.fetch(q)\n")
    baseline = tmp_path / "baseline.txt"
    args = ["--root", str(tmp_path), str(tmp_path / "services"), "--baseline", str(baseline)]
    assert main([*args, "--write-baseline"]) == 0
    assert "1 sql-outside-adapters services/x/service.py" in baseline.read_text()
    assert main(args) == 0
    _write(
        tmp_path,
        "services/x/service.py",
        "async def f(conn):\n    await conn.fetch(q)\n    await conn.execute(q)\n",
    )
    assert main(args) == 1
