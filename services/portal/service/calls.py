"""How the portal's use cases call the services: with the signed-in person's scope token, so
that each service decides what the person reaches. A refusal comes back as one exception for
every page, ``Refused``, with the service's status and stable reason, for the page to say in
the person's language."""

from __future__ import annotations

from typing import Any

import aiohttp

from services.portal.adapters.services import Answer, Services
from shared.access import Principal


class Refused(Exception):
    """A service said no, or could not be reached (status 503, reason ``unreachable``, the
    service in ``detail``). ``fields``: the fields a 422 named; ``account_id``: the account
    that already holds a contact (``already_enrolled``)."""

    def __init__(
        self,
        status: int,
        reason: str,
        detail: str = "",
        account_id: str | None = None,
        fields: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{status} {reason}: {detail}" if detail else f"{status} {reason}")
        self.status, self.reason, self.detail = status, reason, detail
        self.account_id, self.fields = account_id, fields


def refused(answer: Answer) -> Refused:
    """The refusal an answer carries: its problem's ``reason`` (the gateway's ``code``, or the
    end of the problem's ``type``), detail, named fields and account."""
    body = answer.body if isinstance(answer.body, dict) else {}
    reason = (
        body.get("reason")
        or body.get("code")
        or str(body.get("type", "")).rsplit("/", 1)[-1]
        or "refused"
    )
    fields = tuple(
        str(e.get("field", "")).split(".")[0]
        for e in body.get("errors") or []
        if isinstance(e, dict)
    )
    held = body.get("account_id")
    return Refused(
        answer.status, str(reason), str(body.get("detail", "")), str(held) if held else None, fields
    )


async def call(
    services: Services, p: Principal, method: str, service: Any, path: str, **kw: Any
) -> Answer:
    """The service's answer, whatever its status; Refused 503 when it cannot be reached."""
    try:
        return await services.call(p, method, service, path, **kw)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Refused(503, "unreachable", service) from exc


def ok(answer: Answer, *fine: int) -> Any:
    """The answer's body when its status is one of ``fine`` (200 if none); Refused otherwise."""
    if answer.status not in (fine or (200,)):
        raise refused(answer)
    return answer.body


async def result(
    services: Services,
    p: Principal,
    method: str,
    service: Any,
    path: str,
    fine: tuple[int, ...] = (200,),
    **kw: Any,
) -> Any:
    """``ok(await call(...), *fine)``: the body of an answer in ``fine``; Refused otherwise."""
    return ok(await call(services, p, method, service, path, **kw), *fine)
