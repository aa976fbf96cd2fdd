"""The books' refusals as problem answers (the rules say what, the API says how)."""

from __future__ import annotations

from services.clearing.domain.errors import Refused
from shared.http import Problem


def problem(r: Refused) -> Problem:
    return Problem(r.status, r.title, r.detail, **r.extra)
