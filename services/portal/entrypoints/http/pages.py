"""The pages of signing in and out with a password, the home page of each role, the
language choice and the style sheet (HTML; the JSON API is in api.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from services.portal.domain.people import normal_email
from services.portal.entrypoints import web as w
from services.portal.service import people, sessions
from services.portal.service.sessions import Session

STATIC = Path(__file__).resolve().parents[2] / "static"
routes = web.RouteTableDef()


def signed_in(request: web.Request, signed: people.SignedIn, home: str = "/") -> web.Response:
    response = w.redirect(home)
    w.set_cookie(
        request,
        response,
        "comptoir",
        signed.session_id,
        w.portal(request).settings.session_absolute_s,
    )
    return response


def too_many(request: web.Request, template: str, wait: int, **context: Any) -> web.Response:
    message = w.say(request, "Too many attempts: try again in {n} minute(s).", n=-(-wait // 60))
    response = w.render(request, template, status=429, error=message, **context)
    response.headers["Retry-After"] = str(wait)
    return response


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request)
    return w.render(request, "home.html", session, scope=await _scope(request, session))


async def _scope(request: web.Request, session: Session) -> dict[str, str]:
    """The names of the person's association and merchant, asked of cards with the person's
    own scope token (so the page shows only what their scope reaches)."""
    p = session.principal
    services = w.portal(request).services
    found = {
        key: str(value)
        for key, value in (
            ("association", p.association_id),
            ("merchant", p.merchant_id),
            ("account", p.account_id),
        )
        if value is not None
    }
    paths = {"association": f"/v1/associations/{p.association_id}"}
    paths["merchant"] = f"{paths['association']}/merchants/{p.merchant_id}"
    for key in ("association", "merchant"):
        if key not in found:
            continue
        try:
            answer = await services.call(p, "GET", "cards", paths[key])
        except (aiohttp.ClientError, TimeoutError):
            continue  # cards unreachable: the ids still say who is signed in
        if answer.status == 200:
            found[key] = answer.body["name"]
    return found


@routes.get("/sign-in")
async def sign_in_page(request: web.Request) -> web.Response:
    if await w.session_of(request) is not None:
        return w.redirect("/")
    return w.render(request, "sign_in.html", email="")


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    fields = await w.form(request, None)
    raw, password = fields.get("email", ""), fields.get("password", "")
    try:
        email = normal_email(raw)
    except ValueError:
        email = raw.strip().lower()[:254]
    try:
        signed = await people.sign_in(
            w.portal(request),
            email,
            password[: people.MAX_PASSWORD],
            w.client_address(request),
            w.language(request),
        )
    except people.TooMany as exc:
        return too_many(request, "sign_in.html", exc.retry_after, email=email)
    if signed is None:
        error = w.say(request, "Wrong e-mail or password.")
        return w.render(request, "sign_in.html", status=401, error=error, email=email)
    return signed_in(request, signed)


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    session = await w.session_of(request)
    if session is not None:
        await w.form(request, session)
        await sessions.close(w.portal(request), session)
    response = w.redirect("/sign-in")
    w.drop_cookie(request, response, "comptoir")
    return response


@routes.post("/language")
async def choose_language(request: web.Request) -> web.Response:
    session = await w.session_of(request)
    fields = await w.form(request, session)
    chosen = fields.get("language", "fr")
    response = w.redirect("/" if session is not None else "/sign-in")
    if chosen in w.LANGUAGES:
        response.set_cookie(
            "comptoir_lang",
            chosen,
            max_age=365 * 86400,
            path="/",
            samesite="Lax",
            secure=w.portal(request).settings.portal_secure_cookies,
            httponly=True,
        )
    return response


@routes.get("/static/portal.css")
async def style(_: web.Request) -> web.Response:
    response = web.Response(
        body=(STATIC / "portal.css").read_bytes(), content_type="text/css", charset="utf-8"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
