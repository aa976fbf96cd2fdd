"""A rule's refusal (``domain.base.Refused``) answered as the HTTP problem it names."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from services.cards.domain.base import Refused
from shared.http import Problem

P = ParamSpec("P")
T = TypeVar("T")


def problem(refused: Refused) -> Problem:
    extra: dict[str, Any] = dict(refused.extra)
    if refused.reason is not None:
        extra["reason"] = refused.reason
    return Problem(refused.status, refused.title, refused.detail, **extra)


@contextmanager
def answered() -> Iterator[None]:
    """Inside: a refusal leaves as its problem."""
    try:
        yield
    except Refused as exc:
        raise problem(exc) from exc


def use_case(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A use case whose rules' refusals leave as their problems."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with answered():
            return await fn(*args, **kwargs)

    return run
