"""The borrower page's templates and languages: the letters' sandbox (StrictUndefined, autoescape),
its own Babel catalogs (English is the source; Dutch, Swedish, Spanish, French), and money and
dates as the letters write them (the pack country's conventions in the borrower's language)."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from fastapi.responses import HTMLResponse
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arrears.documents import locale_for

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
CATALOGS = HERE / "translations"
LANGUAGES = ("en", "nl", "sv", "es", "fr")
DEFAULT = "en"
NAMES = {"en": "English", "nl": "Nederlands", "sv": "Svenska", "es": "Español", "fr": "Français"}


def language_for(preferred: str | None, accept_language: str | None) -> str:
    """The borrower's language on file when the page speaks it, else the browser's, else English."""
    if preferred in LANGUAGES:
        return preferred
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    po = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@lru_cache(maxsize=len(LANGUAGES) * 4)
def environment(language: str, country: str) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    catalog = translations(language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    locale = locale_for(language, country)

    def money(amount: Decimal | str | None, currency: str) -> str:
        return "\u2013" if amount is None else format_currency(Decimal(str(amount)), currency, locale=locale)

    def day(value: date | datetime | str | None) -> str:
        if value is None:
            return "\u2013"
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.date()
        return format_date(value, format="long", locale=locale)

    env.globals.update(money=money, day=day, language=language, t=catalog.gettext)
    return env


def gettext_for(language: str) -> gettext.NullTranslations:
    return translations(language)


def page(
    template: str,
    *,
    language: str,
    country: str = "US",
    status: int = 200,
    form_origins: tuple[str, ...] = (),
    **context: Any,
) -> HTMLResponse:
    """A whole page; only this origin's files (and, for pay-now, the provider's form target)."""
    html = environment(language, country).get_template(template).render(**context)
    form_action = " ".join(("'self'", *form_origins))
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Language": language,
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            f"script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action {form_action}; "
            "base-uri 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",  # the link's token must not leak to the provider
        },
    )
