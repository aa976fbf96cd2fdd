"""The sync protocol's messages: what they accept and refuse, the close's arithmetic."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.sync.messages import (
    ERRORS,
    REPLIES,
    REQUESTS,
    TRANSACTIONS,
    Chunk,
    Close,
    Hello,
    Updates,
    missing_ranges,
    totals,
)
from tests.cardtx import CardTxFactory, MemoryJournal


def _hello(**over: object) -> dict[str, object]:
    return {
        "terminal_id": str(uuid.uuid4()),
        "software": "t/1",
        "params_version": 0,
        "blacklist_version": 0,
        "pending_count": 0,
        "journal_first_seq": 1,
        "journal_last_seq": 3,
    } | over


def test_hello_refuses_a_journal_range_that_runs_backwards() -> None:
    Hello.model_validate(_hello())
    with pytest.raises(ValidationError):
        Hello.model_validate(_hello(journal_first_seq=5, journal_last_seq=4))


def test_messages_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Hello.model_validate(_hello(colour="red"))
    with pytest.raises(ValidationError):
        Updates.model_validate(
            {
                "session_id": str(uuid.uuid4()),
                "params_version": 0,
                "blacklist_version": 0,
                "extra": 1,
            }
        )


def test_a_chunk_has_at_least_one_valid_transaction() -> None:
    sid = str(uuid.uuid4())
    with pytest.raises(ValidationError):
        Chunk.model_validate({"session_id": sid, "transactions": []})
    tx = CardTxFactory(uuid.uuid4(), seed=2).sale().model_dump(mode="json")
    Chunk.model_validate({"session_id": sid, "transactions": [tx]})
    for field, value in (
        ("card_number", "12"),
        ("certificate", "zz"),
        ("seq", 0),
        ("amount_cents", -5),
    ):
        with pytest.raises(ValidationError):
            Chunk.model_validate({"session_id": sid, "transactions": [tx | {field: value}]})


def test_transactions_round_trip_through_json() -> None:
    txs = CardTxFactory(uuid.uuid4(), seed=3).batch(50, cards=5)
    assert TRANSACTIONS.validate_json(TRANSACTIONS.dump_json(txs)) == txs


def test_close_counts_lines_and_sums_amounts_of_both_kinds() -> None:
    f = CardTxFactory(uuid.uuid4(), seed=4)
    card = f.card()
    txs = [f.sale(card, 10_000), f.sale(card, 5_000)]
    txs.append(f.redemption(card, 300))
    assert totals(txs) == (3, 15_300)
    j = MemoryJournal(txs)
    assert j.totals(1, 3) == (3, 15_300)
    assert j.totals(2, 2) == (1, 5_000)


def test_close_fields_are_bounded() -> None:
    with pytest.raises(ValidationError):
        Close.model_validate(
            {
                "session_id": str(uuid.uuid4()),
                "from_seq": -1,
                "to_seq": 3,
                "count": 3,
                "amount_cents": 1,
            }
        )


def test_missing_ranges_are_the_holes_of_the_range() -> None:
    assert missing_ranges([1, 2, 3], 1, 3) == []
    assert missing_ranges([], 1, 3) == [(1, 3)]
    assert missing_ranges([2, 5], 1, 6) == [(1, 1), (3, 4), (6, 6)]
    assert missing_ranges([0, 9], 1, 3) == [(1, 3)]
    assert missing_ranges([], 0, 0) == []


@given(st.sets(st.integers(1, 60)), st.integers(1, 60), st.integers(0, 30))
def test_missing_ranges_and_present_lines_partition_the_range(
    present: set[int], a: int, width: int
) -> None:
    b = a + width
    holes = missing_ranges(sorted(present), a, b)
    covered = {s for lo, hi in holes for s in range(lo, hi + 1)}
    assert covered == set(range(a, b + 1)) - present
    assert all(lo <= hi for lo, hi in holes)
    assert all(h1[1] + 1 < h2[0] for h1, h2 in itertools.pairwise(holes))


def test_every_request_has_a_reply_and_every_error_an_http_status() -> None:
    assert set(REQUESTS) == set(REPLIES) == {"hello", "chunk", "close", "updates"}
    assert all(400 <= status < 600 for status, _ in ERRORS.values())
    assert {"seq_conflict", "out_of_order", "chunk_too_large", "replay"} <= set(ERRORS)
