"""The gateway's pure part (services/terminals/domain and the waiters): the answers built from
their models, the sync session's refusals, the registry's health. No database, no network."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.terminals.domain.answers import SaleAccepted
from services.terminals.domain.outcomes import decide
from services.terminals.domain.sync import (
    SyncError,
    check_chunk,
    check_close,
    check_resume,
    fresh_lines,
    session_state,
)
from services.terminals.domain.sync_registry import LATE_AFTER_S, health
from services.terminals.entrypoints import consumers
from services.terminals.service.waiters import Waiters
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CardTransaction,
    EnrolmentRefused,
    RuleRefusal,
)
from shared.events import new_event
from shared.sync.messages import Chunk, Close

NOW = datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
IDS = {k: uuid.uuid4() for k in ("association", "merchant", "shop", "terminal")}


def _credited(**over: Any) -> CagnotteCredited:
    fields: dict[str, Any] = {
        "association_id": IDS["association"],
        "merchant_id": IDS["merchant"],
        "shop_id": IDS["shop"],
        "terminal_id": IDS["terminal"],
        "occurred_at": NOW,
        "sale_id": uuid.uuid4(),
        "account_id": uuid.uuid4(),
        "amount_cents": 2460,
        "product_family": None,
        "reward_cents": 123,
        "fee_cents": 12,
        "taux_client_bps": 500,
        "taux_uc_bps": 50,
        "balance_cents": 623,
        "visits": 1,
        "refusals": [RuleRefusal(code="legal_tobacco", detail="tobacco earns nothing")],
    }
    return CagnotteCredited(**(fields | over))


def test_an_accepted_sale_is_answered_with_its_model_dumped() -> None:
    credited = _credited()
    decision = decide(new_event("cards", credited))
    assert decision is not None
    assert (decision.request_id, decision.kind, decision.status, decision.http_status) == (
        credited.sale_id,
        "sale",
        "accepted",
        201,
    )
    body = decision.body
    assert SaleAccepted.model_validate(body).sale_id == credited.sale_id
    assert body["sale_id"] == str(credited.sale_id) and body["account_id"] == str(
        credited.account_id
    )
    assert body["refusals"] == [{"code": "legal_tobacco", "detail": "tobacco earns nothing"}]
    assert list(body) == list(SaleAccepted.model_fields)


def test_a_verdict_is_decided_once_for_its_request_and_its_waiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler stores the decision in its transaction, the commit wakes the waiter with the
    same one: it was decided (an answer model built and dumped) twice."""
    made: list[str] = []

    def counted(event: Any) -> Any:
        made.append(event.id)
        return decide(event)

    monkeypatch.setattr(consumers, "decide", counted)
    kept = consumers.Decided(size=3)
    events = [new_event("cards", _credited()) for _ in range(5)]
    stored = [kept.made(e) for e in events[:2]]
    assert [kept.committed(e) for e in events[:2]] == stored  # the same, not made again
    assert made == [e.id for e in events[:2]]
    # a batch whose commit failed is pushed out, bounded; one never kept is made after commit
    for e in events:
        kept.made(e)
    assert kept.committed(events[0]) is not None and made.count(events[0].id) == 3
    assert kept.committed(events[4]) is not None and made.count(events[4].id) == 1


def test_an_account_a_sale_opened_answers_nothing_an_enrolment_refusal_a_409() -> None:
    opened = AccountOpened(
        account_id=uuid.uuid4(),
        association_id=IDS["association"],
        opened_at=NOW,
        request_id=uuid.uuid4(),
        request_kind="sale",
    )
    assert decide(new_event("cards", opened)) is None
    refused = EnrolmentRefused(
        enrolment_id=uuid.uuid4(),
        reason="already_enrolled",
        detail="this phone has an account",
        account_id=uuid.uuid4(),
    )
    decision = decide(new_event("cards", refused))
    assert decision is not None and decision.http_status == 409
    assert decision.body["extra"] == {
        "reason": "already_enrolled",
        "account_id": str(refused.account_id),
    }


def _line(seq: int) -> CardTransaction:
    return CardTransaction(
        seq=seq,
        kind="sale",
        card_number="2500010000000018",
        atc=seq,
        occurred_at=NOW,
        amount_cents=100,
        available_delta=5,
        pending_delta=0,
        available_after=5 * seq,
        pending_after=0,
        visits_after=seq,
        terminal_nonce="00" * 8,
        certificate="00" * 8,
    )


def _code(exc: pytest.ExceptionInfo[SyncError]) -> str:
    return exc.value.code


def test_a_chunk_too_large_or_with_a_hole_is_refused_before_the_database() -> None:
    session = uuid.uuid4()
    check_chunk(Chunk(session_id=session, transactions=[_line(3), _line(4)]), max_chunk=2)
    with pytest.raises(SyncError) as too_large:
        check_chunk(Chunk(session_id=session, transactions=[_line(1), _line(2)]), max_chunk=1)
    assert _code(too_large) == "chunk_too_large" and too_large.value.extra == {"max_chunk": 1}
    with pytest.raises(SyncError) as hole:
        check_chunk(Chunk(session_id=session, transactions=[_line(1), _line(3)]), max_chunk=9)
    assert _code(hole) == "not_contiguous"


def test_a_chunk_after_a_hole_in_what_the_gateway_holds_is_out_of_order() -> None:
    check_resume(first=1, committed=0)
    check_resume(first=6, committed=5)
    check_resume(first=2, committed=5)  # a re-send, or a hole the close reported
    with pytest.raises(SyncError) as late:
        check_resume(first=7, committed=5)
    assert _code(late) == "out_of_order" and late.value.extra == {"last_committed_seq": 5}


def test_a_resent_line_is_skipped_and_one_with_other_content_conflicts() -> None:
    held = {1: b"a", 2: b"b"}
    assert fresh_lines([1, 2, 3], [b"a", b"b", b"c"], held) == [2]
    with pytest.raises(SyncError) as clash:
        fresh_lines([1, 2, 3], [b"a", b"X", b"c"], held)
    assert _code(clash) == "seq_conflict" and clash.value.extra == {"seqs": [2]}


def test_a_close_range_must_be_possible() -> None:
    session = uuid.uuid4()
    check_close(Close(session_id=session, from_seq=0, to_seq=0, count=0, amount_cents=0))
    check_close(Close(session_id=session, from_seq=1, to_seq=3, count=3, amount_cents=9))
    for bad in ((0, 1, 0, 0), (4, 3, 0, 0), (1, 3, 4, 0)):
        with pytest.raises(SyncError) as refused:
            check_close(
                Close(
                    session_id=session,
                    from_seq=bad[0],
                    to_seq=bad[1],
                    count=bad[2],
                    amount_cents=bad[3],
                )
            )
        assert _code(refused) == "bad_range"


def test_a_session_must_be_known_alive_and_not_failed() -> None:
    session_state("open", False, "s")
    session_state("ok", False, "s")
    for status, expired, code in (
        (None, None, "unknown_session"),
        ("open", True, "session_expired"),
        ("failed", False, "protocol"),
    ):
        with pytest.raises(SyncError) as refused:
            session_state(status, expired, "s")
        assert _code(refused) == code


def test_the_registry_health_is_failing_then_late_then_ok() -> None:
    recent = NOW - timedelta(hours=1)
    old = NOW - timedelta(seconds=LATE_AFTER_S + 1)
    assert health("mismatch", False, recent, NOW) == "failing"
    assert health("failed", False, recent, NOW) == "failing"
    assert health("open", True, recent, NOW) == "failing"  # cut off: abandoned
    assert health("ok", False, old, NOW) == "late"
    assert health(None, None, None, NOW) == "late"  # never synced
    assert health("ok", False, recent, NOW) == "ok"


async def test_a_waiter_gets_its_verdict_or_none_at_its_timeout() -> None:
    waiters = Waiters()
    answered, silent = uuid.uuid4(), uuid.uuid4()
    with waiters.wait(answered, 5.0) as waiter:
        waiters.resolve([(answered, 201, {"ok": True})])
        assert await waiter == (201, {"ok": True})
    with waiters.wait(silent, 0.01) as waiter:
        assert await asyncio.wait_for(waiter, 1.0) is None
    assert len(waiters) == 0  # nothing left behind
