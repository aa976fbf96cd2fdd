"""JSON logs through structlog, with the correlation and causation ids of the work in hand.

The ids live in contextvars so that every log line written while handling a request or an
event carries them without being passed around.
"""

from __future__ import annotations

import logging
import re
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


# What a log line never keeps, whatever writes it (issue 13): a signed link's token (crm's
# ``payload.mac``, two base64url runs), an e-mail address, a phone number (8 to 14 digits, maybe
# spaced or dotted, a leading +; a card number has 16, a date has dashes, a UUID's runs are
# joined by dashes: none is taken for one).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")
_EMAIL = re.compile(r"[^\s/@?&=<>()\"',;]+@[^\s/@?&=<>()\"',;]+")
_PHONE = re.compile(r"(?<![\w.+-])\+?\d(?:[ .]?\d){7,13}(?![\w-])")


def redact(text: str) -> str:
    """``text`` with any token, e-mail address or phone number replaced by its kind."""
    if "." in text:
        text = _TOKEN.sub("{token}", text)
    if "@" in text:
        text = _EMAIL.sub("{email}", text)
    return _PHONE.sub("{phone}", text)


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
