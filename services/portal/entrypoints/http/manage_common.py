"""What the back office's pages share (manage.py, manage_shop.py, manage_file.py): the
manager's session, a page rendered with amounts in the person's language, a refusal said in
words, a form's mistakes field by field."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain import manage as rules
from services.portal.domain.desk import money
from services.portal.entrypoints import web as w
from services.portal.entrypoints.manage_words import refusal
from services.portal.service import manage
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# An association's administrator's choice of merchant (an opaque id, no personal data).
SHOP_COOKIE = "comptoir_shop"
HOME = "/manage"


def identified(request: web.Request, name: str) -> UUID:
    """The path's opaque id (404 when it is not one)."""
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound() from None


def _chosen(request: web.Request) -> UUID | None:
    try:
        return UUID(w.read_cookie(request, SHOP_COOKIE) or "")
    except ValueError:
        return None


async def manager(request: web.Request) -> Session:
    """The page's session: a merchant's manager, or an association's administrator (else to
    the sign-in page), and the merchant the page acts for (``acting``): the manager's own, the
    administrator's choice; an administrator who has chosen none is sent to choose one."""
    session = await w.signed_in_as(request, *manage.MANAGE_ROLES)
    found = await manage.acting(w.portal(request), session.principal, _chosen(request))
    if found is None and request.path != HOME:
        raise web.HTTPSeeOther(HOME)
    request["acting"] = found
    return session


def acting(request: web.Request) -> manage.Acting:
    """Who acts for which merchant on this page (``manager`` found it)."""
    found: manage.Acting | None = request.get("acting")
    if found is None:
        raise web.HTTPSeeOther(HOME)
    return found


def page(
    request: web.Request, session: Session, template: str, status: int = 200, **context: Any
) -> web.Response:
    lang = w.language(request, session)
    return w.render(
        request,
        template,
        session,
        status,
        money=lambda c: money(c, lang),
        acting=request.get("acting"),
        path=request.path,
        when=lambda iso: rules.when(iso, lang),
        **context,
    )


def refused(
    request: web.Request, session: Session, exc: Refused, template: str, **context: Any
) -> web.Response:
    """A service's refusal as the page with one clear sentence, its status and reason."""
    error = refusal(exc.reason, exc.status, w.language(request, session))
    response = page(request, session, template, exc.status, error=error, **context)
    response.headers["X-Problem-Reason"] = exc.reason
    return response


def form_errors(request: web.Request, exc: rules.FormRefused) -> dict[str, str]:
    """Each wrong field's sentence in the person's language."""
    return {k: w.say(request, v) for k, v in exc.errors.items()}
