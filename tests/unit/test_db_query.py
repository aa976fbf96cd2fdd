"""The query kit's statement building, without a database (the adapters' tests run it)."""

from __future__ import annotations

import pytest

from shared.db.query import Batch


def test_a_batch_builds_one_unnest_insert_with_typed_arrays() -> None:
    b = Batch("sales", (("id", "uuid"), ("amount_cents", "bigint")), "ON CONFLICT DO NOTHING")
    assert b.sql == (
        "INSERT INTO sales (id, amount_cents) SELECT * FROM unnest($1::uuid[], $2::bigint[]) "
        "ON CONFLICT DO NOTHING"
    )
    assert b.arrays([(1, 10), (2, 20)]) == [[1, 2], [10, 20]]


def test_a_row_of_the_wrong_width_is_refused() -> None:
    b = Batch("sales", (("id", "uuid"), ("amount_cents", "bigint")))
    with pytest.raises(ValueError, match="1 values for 2 columns"):
        b.arrays([(1,)])


@pytest.mark.parametrize(
    ("table", "columns"),
    [("sales; DROP", (("id", "uuid"),)), ("sales", (("id)", "uuid"),)), ("sales", ())],
)
def test_names_that_are_not_identifiers_fail_at_import(
    table: str, columns: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(ValueError):
        Batch(table, columns)
