"""The event envelope (CloudEvents 1.0 attributes) and the registry of versioned event types.

An event's ``type`` is ``comptoir.<name>.v<version>`` and its routing key on the broker is
``<name>.v<version>``: consumers bind to what they understand, and a new version of a
contract is a new type that can be published beside the old one during a migration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from shared import clock
from shared import logging as log

TYPE_PREFIX = "comptoir."


class EventData(BaseModel):
    """Base of every event payload; subclasses set ``name`` and ``version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.name}.v{cls.version}"

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.name}.v{cls.version}"


D = TypeVar("D", bound=EventData)

_REGISTRY: dict[str, type[EventData]] = {}


def register(model: type[D]) -> type[D]:
    t = model.type()
    if t in _REGISTRY and _REGISTRY[t] is not model:
        raise ValueError(f"event type registered twice: {t}")
    _REGISTRY[t] = model
    return model


def model_for(type_: str) -> type[EventData] | None:
    return _REGISTRY.get(type_)


def registered() -> list[type[EventData]]:
    return list(_REGISTRY.values())


@dataclass(frozen=True, slots=True)
class Event(Generic[D]):
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None
    correlation_id: str
    causation_id: str | None
    data: D

    @property
    def routing_key(self) -> str:
        return self.type.removeprefix(TYPE_PREFIX)

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "specversion": "1.0",
                "id": self.id,
                "source": self.source,
                "type": self.type,
                "time": self.time.isoformat(),
                "subject": self.subject,
                "datacontenttype": "application/json",
                "correlationid": self.correlation_id,
                "causationid": self.causation_id,
                "data": self.data.model_dump(mode="json"),
            }
        ).decode()


def new_event(
    source: str,
    data: D,
    subject: str | None = None,
    *,
    cause: Event[Any] | None = None,
    event_id: str | None = None,
) -> Event[D]:
    """A new event; it inherits the correlation id of its cause (or of the work in hand)."""
    if cause is not None:
        correlation = cause.correlation_id
        causation: str | None = cause.id
    else:
        correlation = log.correlation_id.get() or log.new_id()
        causation = log.causation_id.get()
    return Event(
        id=event_id or str(uuid.uuid4()),
        source=f"comptoir/{source}",
        type=data.type(),
        time=clock.now(),
        subject=subject,
        correlation_id=correlation,
        causation_id=causation,
        data=data,
    )


class PoisonEvent(Exception):
    """An event that can never be processed as it is: it goes to the dead-letter exchange."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


def parse(raw: dict[str, Any]) -> Event[EventData]:
    """Validate one envelope against the registered contract of its type."""
    event_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or raw.get("specversion") != "1.0":
        raise PoisonEvent("not a CloudEvents 1.0 envelope", event_id)
    try:
        uuid.UUID(str(event_id))
    except ValueError as exc:
        raise PoisonEvent("event id is not a UUID", None) from exc
    type_ = raw.get("type")
    model = model_for(str(type_))
    if model is None:
        raise PoisonEvent(f"unknown event type {type_!r}", event_id)
    try:
        data = model.model_validate(raw.get("data"))
        time = datetime.fromisoformat(str(raw["time"]))
    except (ValidationError, KeyError, ValueError) as exc:
        raise PoisonEvent(f"invalid {type_}: {exc}".replace("\n", " ")[:500], event_id) from exc
    return Event(
        id=str(event_id),
        source=str(raw.get("source")),
        type=str(type_),
        time=time,
        subject=raw.get("subject"),
        correlation_id=str(raw.get("correlationid") or event_id),
        causation_id=raw.get("causationid"),
        data=data,
    )


BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def pack(envelopes_json: list[str]) -> bytes:
    """Several envelopes in one broker message (CloudEvents batched content mode)."""
    return ("[" + ",".join(envelopes_json) + "]").encode()


def unpack(body: bytes) -> list[Any]:
    decoded = orjson.loads(body)
    if isinstance(decoded, dict):
        return [decoded]
    if not isinstance(decoded, list):
        raise PoisonEvent("message body is neither an event nor a batch of events")
    return decoded
