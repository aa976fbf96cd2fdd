"""What the cards service's route modules share: path parameters and optional bodies."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from services.cards.service.common import PROBLEMS
from shared.http import Problem, parse_model
from shared.rules.codes import InvalidCode, parse_card_number

M = TypeVar("M", bound=BaseModel)


def card_param(request: web.Request, name: str = "number") -> str:
    """A card number in the path, as printed or typed; 400 when it is not one."""
    try:
        return parse_card_number(request.match_info[name])
    except InvalidCode as exc:
        raise Problem(
            400,
            "Invalid card number",
            str(exc),
            PROBLEMS + "invalid-card-number",
            reason="invalid_card_number",
        ) from exc


async def optional_body(request: web.Request, model: type[M]) -> M:
    """A body whose fields are all optional may be left out altogether."""
    raw = await request.read()
    return parse_model(raw if raw.strip() else b"{}", model)
