"""The web side of every page and call: security headers, cookies, CSRF, the language, the
session, the templates. One place, so that no page forgets one (docs/access.md)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import jinja2
from aiohttp import web

from services.portal.domain import limits
from services.portal.entrypoints.words import translate
from services.portal.service.sessions import Session, current
from services.portal.service.state import Portal
from shared.access import BOOTSTRAP, Principal
from shared.http import Problem
from shared.service import RUNTIME

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM = 16 * 1024

# No inline script or style anywhere: the pages' CSS is one file of ours.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # A password link's token is in its URL: no page tells another site where it came from.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer, pages, JSON and errors alike (an on_response_prepare signal)."""
    response.headers.update(HEADERS)
    if "csp" in response:  # a page's own sources beside ours (the kiosk's script)
        response.headers["Content-Security-Policy"] = f"{CSP}; {response['csp']}"
    if response.content_type == "text/html":
        response.headers["Cache-Control"] = "no-store"


def portal(request: web.Request) -> Portal:
    p: Portal | None = request.app[RUNTIME].state.get("portal")
    if p is None:
        raise Problem(503, "Not ready", "the service is starting")
    return p


def cookie_name(request: web.Request, base: str) -> str:
    """``__Host-`` when Secure: the browser then refuses it from a sub-domain or over HTTP."""
    return f"__Host-{base}" if portal(request).settings.portal_secure_cookies else base


def set_cookie(
    request: web.Request, response: web.StreamResponse, base: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=portal(request).settings.portal_secure_cookies,
        samesite="Lax",
    )


def drop_cookie(request: web.Request, response: web.StreamResponse, base: str) -> None:
    set_cookie(request, response, base, "", 0)


def read_cookie(request: web.Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(request, base))


def language(request: web.Request, session: Session | None = None) -> Language:
    """The visitor's choice (a cookie), else the session's, else Accept-Language's best."""
    for chosen in (request.cookies.get("comptoir_lang"), session and session.language):
        for known in LANGUAGES:
            if chosen == known:
                return known
    best: tuple[float, Language] = (0.0, "fr")
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        lang = tag.split("-")[0].lower()
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        for known in LANGUAGES:
            if lang == known and weight > best[0]:
                best = (weight, known)
    return best[1]


def say(request: web.Request, key: str, **values: object) -> str:
    """A page's sentence in the visitor's language."""
    return translate(key, language(request), **values)


async def session_of(request: web.Request) -> Session | None:
    return await current(portal(request), read_cookie(request, "comptoir"))


class SignInFirst(Exception):
    """A page for the signed-in reached without a session (or with another role's)."""


async def signed_in_as(request: web.Request, *roles: str) -> Session:
    """The page's session, of one of ``roles`` (any when none is named); a page handler
    that needs one starts with this (page_errors sends the visitor to sign in)."""
    session = await session_of(request)
    if session is None or (roles and session.principal.role not in roles):
        raise SignInFirst()
    return session


def anonymous_csrf(request: web.Request) -> str:
    """A signed-out form's token: the value of its own cookie (double submit), made once."""
    token = read_cookie(request, "comptoir_csrf") or request.get("new_csrf")
    if not token:
        token = request["new_csrf"] = secrets.token_urlsafe(24)
    return str(token)


def csrf_token(request: web.Request, session: Session | None) -> str:
    return session.csrf if session is not None else anonymous_csrf(request)


def check_origin(request: web.Request) -> None:
    """A state-changing request from another site is refused, whatever it carries."""
    origin = request.headers.get("Origin")
    if origin == "null" and request.headers.get("Sec-Fetch-Site") == "same-origin":
        # Our own form: under Referrer-Policy no-referrer a browser sends its Origin as
        # "null" (Fetch, "serialize a request origin"); Sec-Fetch-Site, which no page can
        # set, says where it came from.
        origin = None
    ours = {request.host, urlsplit(portal(request).settings.portal_url).netloc}
    if origin and urlsplit(origin).netloc not in ours:  # "null" (a sandboxed frame) too
        raise Problem(403, "Forbidden", "a request from another site", reason="csrf")
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Problem(403, "Forbidden", "a request from another site", reason="csrf")


def csrf_ok(request: web.Request, session: Session | None, given: str | None) -> bool:
    expected = session.csrf if session is not None else read_cookie(request, "comptoir_csrf")
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


async def form(request: web.Request, session: Session | None) -> dict[str, str]:
    """A page's POST: same site, the CSRF token right, the fields as text (403 otherwise)."""
    check_origin(request)
    if (request.content_length or 0) > MAX_FORM:
        raise Problem(413, "Too large", "the form is too large", reason="body_too_large")
    data = await request.post()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    given = fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_ok(request, session, given):
        raise Problem(403, "Forbidden", "missing or wrong CSRF token", reason="csrf")
    return fields


def render(
    request: web.Request,
    template: str,
    session: Session | None = None,
    status: int = 200,
    **context: Any,
) -> web.Response:
    lang = language(request, session)
    context.setdefault("error", None)

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        session=session,
        csrf=csrf_token(request, session),
        csrf_field=CSRF_FIELD,
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    if "new_csrf" in request:
        set_cookie(request, response, "comptoir_csrf", request["new_csrf"], 12 * 3600)
    return response


# What a page's error says to a person (the JSON API answers problem+json).
_PAGE_ERRORS = {"csrf": "The form has expired: try again.", "not_found": "Not found"}


@web.middleware
async def page_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A page's refusal as a page, in the visitor's language, with its status and reason."""
    try:
        return await handler(request)
    except SignInFirst:
        return redirect("/sign-in")
    except (Problem, web.HTTPNotFound) as exc:
        if request.path.startswith("/v1/") or request.path.endswith(".json"):
            raise
        status = exc.status
        reason = exc.extra.get("reason") if isinstance(exc, Problem) else "not_found"
        key = _PAGE_ERRORS.get(str(reason))
        if key is None or request.app[RUNTIME].state.get("portal") is None:
            raise
        response = render(request, "error.html", status=status, message=say(request, key))
        response.headers["X-Problem-Reason"] = str(reason)
        return response


def redirect(location: str) -> web.Response:
    """303: the browser GETs the next page (a refresh does not post the form again)."""
    return web.Response(status=303, headers={"Location": location})


def client_address(request: web.Request) -> str:
    """The client the sign-in limits count against (behind a trusted reverse proxy, the one
    its X-Forwarded-For names)."""
    return limits.client_address(
        request.remote,
        request.headers.get("X-Forwarded-For", ""),
        portal(request).trusted_proxies,
    )


async def caller(request: web.Request) -> Principal:
    """Who a JSON call acts for: the operator's bootstrap admin token, or a signed-in
    session (its CSRF token in X-CSRF-Token on every call that changes something)."""
    given = request.headers.get("Authorization", "")
    scheme, _, credential = given.partition(" ")
    if scheme.lower() == "bearer" and credential:
        admin = portal(request).settings.admin_token
        if hmac.compare_digest(credential.encode(), admin.encode()):
            return BOOTSTRAP
        raise Problem(401, "Unauthorized", "the bearer token is refused", reason="invalid_token")
    session = await session_of(request)
    if session is None:
        raise Problem(
            401, "Unauthorized", "sign in, or send the admin token", reason="missing_token"
        )
    if request.method not in ("GET", "HEAD"):
        check_origin(request)
        if not csrf_ok(request, session, request.headers.get(CSRF_HEADER)):
            raise Problem(403, "Forbidden", "missing or wrong CSRF token", reason="csrf")
    return session.principal


async def relay(
    request: web.Request, answer: aiohttp.ClientResponse, content_type: str, filename: str
) -> web.StreamResponse:
    """A service's file passed on as it comes (a statement, a SEPA file, an export), under
    the service's name for it (else ``filename``), never cached."""
    response = web.StreamResponse(
        headers={
            "Content-Type": answer.headers.get("Content-Type", content_type),
            "Content-Disposition": answer.headers.get(
                "Content-Disposition", f'attachment; filename="{filename}"'
            ),
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    async for chunk in answer.content.iter_chunked(64 * 1024):
        await response.write(chunk)
    await response.write_eof()
    return response
