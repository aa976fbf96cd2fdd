"""JSON logs through structlog, with the correlation and causation ids of the work in hand.

The ids live in contextvars so that every log line written while handling a request or an
event carries them without being passed around.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


def new_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def tracing(correlation: str | None, causation: str | None) -> Iterator[str]:
    """Bind the ids for the duration of one unit of work; a missing correlation id starts one."""
    corr = correlation or new_id()
    t1 = correlation_id.set(corr)
    t2 = causation_id.set(causation)
    try:
        yield corr
    finally:
        correlation_id.reset(t1)
        causation_id.reset(t2)


def _add_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    corr = correlation_id.get()
    if corr and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = corr
    cause = causation_id.get()
    if cause and "causation_id" not in event_dict:
        event_dict["causation_id"] = cause
    return event_dict


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


def configure(service: str, level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stdout, format="%(message)s", level=level.upper())
    # aio-pika and aiormq log every reconnection attempt at INFO; keep them for warnings.
    for noisy in ("aiormq", "aio_pika", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_ids,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get(name: str | None = None) -> Any:
    return structlog.get_logger(name)
