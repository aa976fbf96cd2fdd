"""A message's words: its template in the recipient's language (Jinja2), amounts and dates
formatted by Babel in that language. An e-mail has a subject, a text part and an HTML part
(autoescaped); an SMS a text, with the STOP mention when it is marketing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    UndefinedError,
    select_autoescape,
)

from shared.clock import PARIS

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOCALES = {"fr": "fr_FR", "en": "en_GB"}
STOP_MENTION = {"fr": "STOP au 38000", "en": "STOP to 38000"}


class Unrenderable(Exception):
    """No such template for this channel and language, or a variable it needs is missing or
    of the wrong kind: a permanent failure, with this reason."""


class Email(NamedTuple):
    subject: str
    text: str
    html: str


def _env(language: str) -> Environment:
    locale = LOCALES[language]
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )

    def money(cents: int) -> str:
        # Integer cents to an exact decimal: never through a float.
        return format_currency(Decimal(int(cents)).scaleb(-2), "EUR", locale=locale)

    def day(value: str | date) -> str:
        d = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(d, "long", locale=locale)

    def instant(value: str | datetime) -> str:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(at, "d MMMM y HH:mm", tzinfo=PARIS, locale=locale)

    env.filters.update(money=money, date=day, datetime=instant)
    return env


_ENVS = {language: _env(language) for language in LOCALES}


def _context(variables: dict[str, Any], unsubscribe_url: str | None) -> dict[str, Any]:
    optional = ("first_name", "shop_name", "body", "offer", "pending_cents", "unsubscribe_url")
    return {**dict.fromkeys(optional), **variables, "unsubscribe_url": unsubscribe_url}


def email(
    template: str, language: str, variables: dict[str, Any], unsubscribe_url: str | None = None
) -> Email:
    env = _ENVS[language]
    try:
        text_t = env.get_template(f"{language}/{template}.txt")
        html_t = env.get_template(f"{language}/{template}.html")
    except TemplateNotFound as exc:
        raise Unrenderable(f"no e-mail template {template} in {language}") from exc
    ctx = _context(variables, unsubscribe_url)
    try:
        return _email(text_t, html_t, ctx, language, unsubscribe_url)
    except (UndefinedError, TypeError, ValueError) as exc:
        raise Unrenderable(f"template {template}: {exc}") from exc


def _email(
    text_t: Any, html_t: Any, ctx: dict[str, Any], language: str, unsubscribe_url: str | None
) -> Email:
    subject = "".join(text_t.blocks["subject"](text_t.new_context(ctx))).strip()
    text = "".join(text_t.blocks["body"](text_t.new_context(ctx))).strip() + "\n"
    if unsubscribe_url:
        footer = "Se désinscrire" if language == "fr" else "Unsubscribe"
        colon = " :" if language == "fr" else ":"
        text += f"\n--\n{footer}{colon} {unsubscribe_url}\n"
    html = html_t.render({**ctx, "subject": subject})
    return Email(subject, text, html)


def sms(template: str, language: str, variables: dict[str, Any], marketing: bool) -> str:
    env = _ENVS[language]
    try:
        t = env.get_template(f"{language}/{template}.sms")
    except TemplateNotFound as exc:
        raise Unrenderable(f"no SMS template {template} in {language}") from exc
    try:
        text = " ".join(t.render(_context(variables, None)).split())
    except (UndefinedError, TypeError, ValueError) as exc:
        raise Unrenderable(f"template {template}: {exc}") from exc
    if marketing:
        # The opt-out every commercial SMS carries (answered by a customer's STOP, MO).
        text += f" {STOP_MENTION[language]}"
    return text
