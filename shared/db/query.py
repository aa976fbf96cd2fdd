"""The query kit: what every adapter would otherwise write by hand.

- ``Batch``: many rows inserted in one statement, ``INSERT … SELECT * FROM unnest($1::t[], …)``,
  from a list of columns and their PostgreSQL types; the statement is built once.
- ``one_or_404``: a row looked up by its key, or the problem+json 404 that names what was
  missing, with a stable ``reason`` (``unknown_<what>``).
- ``as_model`` / ``as_models``: rows mapped to pydantic models, typed for mypy.

Adapters use them; routes and use cases never see SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel

from shared.http import Problem

M = TypeVar("M", bound=BaseModel)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_TYPE = re.compile(r"^[a-z_][a-z0-9_ ]*(\([0-9, ]+\))?$")


@dataclass(frozen=True)
class Batch:
    """One multi-row insert into ``table``: ``columns`` are ``(name, PostgreSQL type)`` in the
    order of each row's values; ``suffix`` is what follows the select (``ON CONFLICT … DO
    NOTHING``, ``RETURNING id``). Names and types are the code's constants, checked here so
    that a typo fails at import, not at the first sale."""

    table: str
    columns: Sequence[tuple[str, str]]
    suffix: str = ""
    sql: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.table):
            raise ValueError(f"bad table name {self.table!r}")
        if not self.columns:
            raise ValueError(f"{self.table}: no columns")
        for name, type_ in self.columns:
            if not _NAME.match(name) or not _TYPE.match(type_):
                raise ValueError(f"{self.table}: bad column {name!r} {type_!r}")
        names = ", ".join(name for name, _ in self.columns)
        arrays = ", ".join(f"${i}::{type_}[]" for i, (_, type_) in enumerate(self.columns, 1))
        sql = f"INSERT INTO {self.table} ({names}) SELECT * FROM unnest({arrays})"
        object.__setattr__(self, "sql", f"{sql} {self.suffix}".strip())

    def arrays(self, rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
        """The rows as one array per column, the statement's arguments."""
        width = len(self.columns)
        rows = rows if isinstance(rows, list) else list(rows)
        for row in rows:  # checked first: the transpose below runs in C, without a check
            if len(row) != width:
                raise ValueError(f"{self.table}: a row of {len(row)} values for {width} columns")
        if not rows:
            return [[] for _ in range(width)]
        # zip(*rows) transposes in C: a Python loop per value was a measurable part of the
        # consumers' CPU on the sync storm (docs/benchmarks.md, 2026-12-06 23:00).
        return [list(column) for column in zip(*rows, strict=True)]

    async def execute(
        self, conn: asyncpg.Connection | asyncpg.Pool, rows: Iterable[Sequence[Any]]
    ) -> int:
        """Insert the rows; the number of rows the statement inserted (after ON CONFLICT)."""
        arrays = self.arrays(rows)
        if not arrays[0]:
            return 0
        status: str = await conn.execute(self.sql, *arrays)
        return int(status.rsplit(" ", 1)[-1])

    async def fetch(
        self, conn: asyncpg.Connection | asyncpg.Pool, rows: Iterable[Sequence[Any]]
    ) -> list[asyncpg.Record]:
        """Insert the rows and return what ``RETURNING`` in the suffix names."""
        arrays = self.arrays(rows)
        if not arrays[0]:
            return []
        records: list[asyncpg.Record] = await conn.fetch(self.sql, *arrays)
        return records


async def one_or_404(
    conn: asyncpg.Connection | asyncpg.Pool, what: str, key: object, sql: str, *args: Any
) -> asyncpg.Record:
    """The row ``sql`` finds, or a 404 naming ``what`` (words, e.g. "card type") and its key,
    with reason ``unknown_<what>``."""
    row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
    if row is None:
        reason = "unknown_" + re.sub(r"[^a-z0-9]+", "_", what.lower()).strip("_")
        raise Problem(404, f"Unknown {what}", f"no {what} {key}", reason=reason)
    return row


def as_model(model: type[M], row: asyncpg.Record | dict[str, Any]) -> M:
    """A row as ``model``: its columns are the model's fields (extra columns are the model's
    business: pydantic ignores them unless it forbids them)."""
    return model.model_validate(dict(row))


def as_models(model: type[M], rows: Iterable[asyncpg.Record | dict[str, Any]]) -> list[M]:
    return [model.model_validate(dict(r)) for r in rows]
