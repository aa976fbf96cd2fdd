"""The dashboard (issue 15, item 3): a merchant manager's statistics, and an association
administrator's network statistics (their association's, or one of its merchants'), over a
period beside the previous one, with charts drawn on the server as SVG and each figure's detail
lines to download. The period and the merchant (opaque ids, dates) ride in the page's query;
a download is a POST with the CSRF token, so that no file is fetched by a link from elsewhere."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain import dashboard as d
from services.portal.entrypoints import web as w
from services.portal.entrypoints.dashboard_words import refusal
from services.portal.service import dashboard
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session
from shared import clock

routes = web.RouteTableDef()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _merchant(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        raise web.HTTPNotFound() from None


def _views(lang: str, unknown: str) -> dict[str, Any]:
    """What the template calls to write a figure and its change in the person's language."""
    return {
        "written": lambda line, value: d.written(line.kind, value, lang, unknown),
        "percent": lambda c: d.percent_written(c, lang),
        "money": lambda cents: d.written("money", cents, lang, unknown),
        "day": lambda day: d.day_written(day, lang),
    }


def _refused(request: web.Request, session: Session, exc: Refused, **context: Any) -> web.Response:
    """A refusal (crm's, or the period's) as the dashboard's form with one clear sentence."""
    lang = w.language(request, session)
    error = refusal(exc.reason, exc.status, lang)
    context.setdefault("stats", None)
    context.setdefault("merchant_name", None)
    response = w.render(request, "dashboard.html", session, exc.status, error=error, **context)
    response.headers["X-Problem-Reason"] = exc.reason
    return response


def _shown(stats: dict[str, Any], names: dict[str, str], lang: str) -> dict[str, Any]:
    """What the page shows of crm's answer: the figures' lines, the charts, the best
    customers with the names the person may read."""
    figures, previous = stats["figures"], stats["previous"]
    best = figures.get("best_customers") or []
    return {
        "stats": stats,
        "lines": d.lines(figures, previous),
        "sponsorship": d.sponsorship_lines(figures, previous),
        "charts": d.charts(figures, previous, lang),
        "best": [{**b, "name": names.get(b["account_id"])} for b in best],
        "exports": dashboard.EXPORTS,
    }


@routes.get("/dashboard")
async def dashboard_page(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *dashboard.DASHBOARD_ROLES)
    p, q = session.principal, request.query
    services, lang = w.portal(request).services, w.language(request, session)
    merchant_id = _merchant(q.get("merchant", ""))
    form = {"preset": "", "from": q.get("from", ""), "to": q.get("to", ""), "merchant": ""}
    choices = await dashboard.merchants(services, p) if p.role == "association_admin" else []
    context: dict[str, Any] = {"form": form, "merchants": choices, "presets": d.PRESETS}
    try:
        preset, period = d.chosen_period(
            q.get("preset", ""), form["from"], form["to"], clock.today_paris()
        )
        form.update(preset=preset, merchant=str(merchant_id or ""))
        form.update({"from": period.start.isoformat(), "to": period.end.isoformat()})
        stats = await dashboard.statistics(services, p, dashboard.scope_of(p, merchant_id), period)
    except d.PeriodRefused as exc:
        return _refused(request, session, Refused(400, exc.reason), **context)
    except Refused as exc:
        if p.role == "manager":  # the form shows their own merchant again, not the one refused
            form["merchant"] = ""
        return _refused(request, session, exc, **context)
    best = [b["account_id"] for b in stats["figures"].get("best_customers") or []]
    names = await dashboard.names(services, p, best)
    merchant_name = next((m["name"] for m in choices if m["id"] == form["merchant"]), None)
    return w.render(
        request,
        "dashboard.html",
        session,
        merchant_name=merchant_name,
        **_shown(stats, names, lang),
        **_views(lang, w.say(request, "unknown")),
        **context,
    )


@routes.post("/dashboard/export")
async def export(request: web.Request) -> web.StreamResponse:
    """One figure's detail lines (crm's CSV or XLSX), streamed on as crm writes it."""
    session = await w.signed_in_as(request, *dashboard.DASHBOARD_ROLES)
    fields = await w.form(request, session)
    name, fmt = fields.get("figure", ""), fields.get("format", "")
    if name not in dashboard.EXPORTS or fmt not in ("csv", "xlsx"):
        raise web.HTTPNotFound()
    p, started = session.principal, False
    form = {k: fields.get(k, "") for k in ("from", "to", "merchant")} | {"preset": ""}
    context: dict[str, Any] = {"form": form, "merchants": [], "presets": d.PRESETS}
    try:
        _, period = d.chosen_period("", form["from"], form["to"], clock.today_paris())
        scope = dashboard.scope_of(p, _merchant(form["merchant"]))
        kind: dashboard.Format = "csv" if fmt == "csv" else "xlsx"
        services = w.portal(request).services
        async with dashboard.export(services, p, scope, period, name, kind) as answer:
            started = True
            return await w.relay(request, answer, XLSX, f"{name}.{fmt}")
    except d.PeriodRefused as exc:
        return _refused(request, session, Refused(400, exc.reason), **context)
    except Refused as exc:
        if started:  # crm failed half-way: the download breaks off, the browser says so
            raise
        return _refused(request, session, exc, **context)
