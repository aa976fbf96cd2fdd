"""What the clearing routes share: the period in a path, and the path shapes."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from services.clearing.domain.periods import parse_period

PERIOD = "[1-9][0-9][0-9][0-9]-(?:0[1-9]|1[0-2])"
STATEMENT = "/v1/merchants/{merchant_id}/statements/{period:" + PERIOD + "}"
SETTLEMENT = "/v1/associations/{association_id}/settlements/{period:" + PERIOD + "}"


def period(request: web.Request) -> date:
    return parse_period(request.match_info["period"])
