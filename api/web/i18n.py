"""The workbench's languages: Babel message catalogs, the reader's language, and how money and
dates read in it (as in the letters: the pack country's conventions in the reader's language)."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

CATALOGS = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("en", "nl", "sv")
DEFAULT = "en"
NAMES = {"en": "English", "nl": "Nederlands", "sv": "Svenska"}
# where each language's pages are read: the conventions its money and dates follow by default
NONE = "\u2013"  # shown for a missing amount or date
REGION = {"en": "en_US", "nl": "nl_NL", "sv": "sv_SE"}


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The reader's language: their profile's choice if it is one of ours, else the best match
    in the browser's `Accept-Language`, else English."""
    if preferred in LANGUAGES:
        return preferred
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        wanted.append((quality, tag.strip().replace("-", "_")))
    ordered = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    return (
        negotiate_locale(ordered, LANGUAGES, sep="_")
        or negotiate_locale([t.split("_")[0] for t in ordered], LANGUAGES)
        or DEFAULT
    )


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language` (English is the source: no catalog)."""
    po = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def locale(language: str) -> Locale:
    return Locale.parse(REGION.get(language, language))


def money(amount: Decimal | str | int | float | None, currency: str, language: str) -> str:
    if amount is None:
        return NONE
    return format_currency(Decimal(str(amount)), currency, locale=locale(language))


def day(value: date | datetime | str | None, language: str) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="medium", locale=locale(language))


def moment(value: datetime | None, language: str, timezone: str = "UTC") -> str:
    if value is None:
        return NONE
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(timezone), locale=locale(language))


def N_(text: str) -> str:
    """Mark a text for the catalogs; it is translated where a page shows it."""
    return text
