"""Which set-aside events end a terminal's request as failed (services/terminals/domain/outcomes.py):
pure, no I/O."""

from __future__ import annotations

import uuid

from services.terminals.domain.outcomes import cause, failed
from shared.contracts import EventDeadLettered


def _notice(**over: str | None) -> EventDeadLettered:
    fields: dict[str, str | None] = {
        "service": "cards",
        "event_id": str(uuid.uuid4()),
        "event_type": "comptoir.sale.recorded.v1",
        "event_source": "terminals",
        "subject": f"sale/{uuid.uuid4()}",
        "reason": "handler failed: UniqueViolationError('duplicate key value violates ...')",
    }
    fields.update(over)
    return EventDeadLettered.model_validate(fields)


def test_a_request_event_cards_set_aside_fails_its_request_with_the_reason() -> None:
    notice = _notice()
    decision = failed(notice)
    assert decision is not None
    request_id, kind, status, http, body = decision
    assert (kind, status, http) == ("sale", "failed", 422)
    assert notice.subject == f"sale/{request_id}"
    assert body["extra"]["reason"] == "not_processed"
    assert body["extra"]["event_id"] == notice.event_id


def test_the_terminal_is_told_the_cause_never_the_databases_text() -> None:
    body = failed(_notice())[4]  # type: ignore[index]
    assert body["extra"]["cause"] == "handler failed: UniqueViolationError"
    assert "duplicate key" not in str(body)
    assert cause("invalid comptoir.sale.recorded.v1: 1 validation error") == (
        "invalid comptoir.sale.recorded.v1"
    )


def test_only_cards_setting_aside_a_terminal_request_event_fails_the_request() -> None:
    assert failed(_notice(service="clearing")) is None
    assert failed(_notice(event_source="cards")) is None
    assert failed(_notice(subject="terminal/x/1-4")) is None
    assert failed(_notice(subject=None)) is None
    for kind in ("redemption", "return", "enrolment"):
        d = failed(_notice(subject=f"{kind}/{uuid.uuid4()}"))
        assert d is not None and d[1] == kind
