from __future__ import annotations

import orjson
import pytest

from shared import logging as log
from shared import signing
from shared.events import PoisonEvent, new_event, pack, parse, unpack
from tests.factories import sale_recorded


def test_an_envelope_carries_the_cloudevents_attributes_and_round_trips() -> None:
    with log.tracing("corr-1", "cause-1"):
        e = new_event("terminals", sale_recorded(), subject="sale/x")
    raw = orjson.loads(e.to_json())
    assert {
        k: raw[k]
        for k in ("specversion", "source", "type", "subject", "correlationid", "causationid")
    } == {
        "specversion": "1.0",
        "source": "comptoir/terminals",
        "type": "comptoir.sale.recorded.v1",
        "subject": "sale/x",
        "correlationid": "corr-1",
        "causationid": "cause-1",
    }
    back = parse(raw)
    assert back.data == e.data and back.id == e.id and e.routing_key == "sale.recorded.v1"


def test_an_event_caused_by_another_keeps_its_correlation_id() -> None:
    first = new_event("terminals", sale_recorded())
    second = new_event("cards", sale_recorded(), cause=first)
    assert (second.correlation_id, second.causation_id) == (first.correlation_id, first.id)


def test_a_batch_message_unpacks_to_its_events() -> None:
    events = [new_event("terminals", sale_recorded()) for _ in range(3)]
    assert [parse(r).id for r in unpack(pack([e.to_json() for e in events]))] == [
        e.id for e in events
    ]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r.update(type="comptoir.nope.v1"), "unknown event type"),
        (lambda r: r.update(specversion="0.3"), "not a CloudEvents"),
        (lambda r: r.update(id="not-a-uuid"), "not a UUID"),
        (lambda r: r["data"].update(amount_cents=-5), "invalid comptoir.sale.recorded.v1"),
        (lambda r: r["data"].update(extra_field=1), "invalid comptoir.sale.recorded.v1"),
    ],
)
def test_a_malformed_envelope_is_poison_with_a_reason(mutate: object, reason: str) -> None:
    raw = orjson.loads(new_event("terminals", sale_recorded()).to_json())
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(PoisonEvent, match=reason):
        parse(raw)


def test_a_signature_covers_method_path_time_nonce_and_body() -> None:
    h = signing.headers("t1", "s" * 32, "POST", "/v1/sales", b'{"a":1}')
    args = (h[signing.TIMESTAMP], h[signing.NONCE])
    assert signing.verify("s" * 32, "POST", "/v1/sales", *args, b'{"a":1}', h[signing.SIGNATURE])
    for method, path, body, secret in [
        ("GET", "/v1/sales", b'{"a":1}', "s" * 32),
        ("POST", "/v1/redemptions", b'{"a":1}', "s" * 32),
        ("POST", "/v1/sales", b'{"a":2}', "s" * 32),
        ("POST", "/v1/sales", b'{"a":1}', "t" * 32),
    ]:
        assert not signing.verify(secret, method, path, *args, body, h[signing.SIGNATURE])
