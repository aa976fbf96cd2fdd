"""The pages of a forgotten password and of a password link (creation or reset)."""

from __future__ import annotations

from aiohttp import web

from services.portal.domain.people import normal_email
from services.portal.entrypoints import web as w
from services.portal.service import people

routes = web.RouteTableDef()


@routes.get("/forgot")
async def forgot_page(request: web.Request) -> web.Response:
    return w.render(request, "forgot.html", sent=False)


@routes.post("/forgot")
async def forgot(request: web.Request) -> web.Response:
    fields = await w.form(request, None)
    language = w.language(request)
    try:
        email = normal_email(fields.get("email", ""))
    except ValueError:
        email = None
    if email is not None:
        await people.request_reset(w.portal(request), email, language)
    # The same answer whether anyone has the address: the page tells nobody who has an account.
    return w.render(request, "forgot.html", sent=True)


@routes.get("/password/{token}")
async def password_page(request: web.Request) -> web.Response:
    person = await people.link_person(w.portal(request), request.match_info["token"])
    if person is None:
        return w.render(request, "link_invalid.html", status=410)
    return w.render(
        request, "password.html", name=person["name"], minimum=people.MIN_PASSWORD, error=None
    )


@routes.post("/password/{token}")
async def set_password(request: web.Request) -> web.Response:
    fields = await w.form(request, None)
    token = request.match_info["token"]
    portal = w.portal(request)
    person = await people.link_person(portal, token)
    if person is None:
        return w.render(request, "link_invalid.html", status=410)
    password, again = fields.get("password", ""), fields.get("again", "")
    error = None
    if not people.MIN_PASSWORD <= len(password) <= people.MAX_PASSWORD:
        error = w.say(request, "At least {n} characters.", n=people.MIN_PASSWORD)
    elif password != again:
        error = w.say(request, "The two passwords differ.")
    if error is not None:
        return w.render(
            request,
            "password.html",
            status=422,
            name=person["name"],
            minimum=people.MIN_PASSWORD,
            error=error,
        )
    if await people.set_password(portal, token, password) is None:
        return w.render(request, "link_invalid.html", status=410)
    response = w.render(request, "password_saved.html")
    w.drop_cookie(request, response, "comptoir")
    return response
