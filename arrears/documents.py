"""Letters: sandboxed Jinja2 templates per pack and language, rendered to HTML and PDF.

Lookup: `docs_templates/letters/<pack>/<language>/<document>.html.j2` first, then
`docs_templates/letters/common/<language>/<document>.html.j2`. The HTML is a pure function
of the template and its inputs; the PDF takes its identifier and dates from the document's
idempotency key and issue time, and the font subsets' timestamps are pinned (below), so the
same HTML gives the same PDF bytes. The stored PDF, with its SHA-256, stays the record.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, Undefined, meta, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _template_root() -> Path:
    """`docs_templates/` beside the source tree, or in the working directory of an installed image."""
    beside = Path(__file__).resolve().parent.parent / "docs_templates"
    return beside if beside.is_dir() else Path.cwd() / "docs_templates"


TEMPLATE_ROOT = _template_root()

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "reference": "Reference",
        "date": "Date",
        "loan": "Loan",
        "page": "Page",
        "online": "Pay, promise to pay, ask for a plan or a call back, or dispute, on your own page:",
        "online_code": "Or go to {start} and enter your code",
    },
    "nl": {
        "reference": "Kenmerk",
        "date": "Datum",
        "loan": "Lening",
        "page": "Pagina",
        "online": "Betalen, een betaling toezeggen, een regeling of terugbellen vragen, of bezwaar maken, "
        "op uw eigen pagina:",
        "online_code": "Of ga naar {start} en vul uw code in",
    },
    "sv": {
        "reference": "Referens",
        "date": "Datum",
        "loan": "Lån",
        "page": "Sida",
        "online": "Betala, lova att betala, be om en plan eller att bli uppringd, eller bestrid, "
        "på din egen sida:",
        "online_code": "Eller gå till {start} och ange din kod",
    },
    "es": {
        "reference": "Referencia",
        "date": "Fecha",
        "loan": "Préstamo",
        "page": "Página",
        "online": "Pague, prometa un pago, pida un plan o que le llamemos, o dispute la deuda, en su página:",
        "online_code": "O vaya a {start} e introduzca su código",
    },
    "fr": {
        "reference": "Référence",
        "date": "Date",
        "loan": "Dossier",
        "page": "Page",
        "online": "Payez, promettez un paiement, demandez un plan ou un rappel, ou contestez, "
        "sur votre page :",
        "online_code": "Ou allez sur {start} et saisissez votre code",
    },
}


class TemplateMissing(LookupError):
    """No template for this document in this pack and language."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered document: what was used to make it and the bytes it made."""

    template: str
    template_version: str
    language: str
    html: str
    pdf: bytes
    sha256: str  # of the PDF
    html_sha256: str


def locale_for(language: str, country: str) -> Locale:
    """The pack country's conventions in the borrower's language (en_NL, sv_SE, en_US …)."""
    try:
        return Locale.parse(f"{language}_{country}")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


def _defined(value: Any) -> None:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()


def _money(amount: Decimal | str | int, currency: str, locale: Locale) -> str:
    _defined(amount)
    if amount is None:
        raise ValueError("money() got no amount")
    return format_currency(Decimal(str(amount)), currency, locale=locale)


def _day(value: date | datetime | str, locale: Locale) -> str:
    _defined(value)
    if value is None:
        raise ValueError("day() got no date")
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, format="long", locale=locale)


def _number(value: Decimal | int | str, locale: Locale) -> str:
    _defined(value)
    return format_decimal(Decimal(str(value)), locale=locale)


@lru_cache(maxsize=8)
def environment(root: Path = TEMPLATE_ROOT) -> ImmutableSandboxedEnvironment:
    """The one template environment: sandboxed, strict about missing values, HTML-escaped."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def template_name(pack: str, language: str, document: str, root: Path = TEMPLATE_ROOT) -> str:
    """The template that a pack uses for a document in a language."""
    for folder in (pack, "common"):
        name = f"letters/{folder}/{language}/{document}.html.j2"
        if (root / name).is_file():
            return name
    raise TemplateMissing(f"no template for {document!r} in {language!r} for {pack}")


def _parts(name: str, root: Path) -> list[str]:
    """The template and every template it extends or includes, depth first, each once."""
    seen: list[str] = []
    todo = [name]
    while todo:
        part = todo.pop(0)
        if part in seen:
            continue
        seen.append(part)
        source = (root / part).read_text()
        todo[:0] = [p for p in meta.find_referenced_templates(environment(root).parse(source)) if p]
    return seen


def template_version(name: str, root: Path = TEMPLATE_ROOT) -> str:
    """SHA-256 (first 16 hex) over the template, the layout it extends and the parts it includes:
    any edit is a new version."""
    digest = hashlib.sha256()
    for part in _parts(name, root):
        digest.update((root / part).read_bytes())
    return digest.hexdigest()[:16]


def available_languages(pack: str, document: str, root: Path = TEMPLATE_ROOT) -> list[str]:
    """Languages in which a pack has a document."""
    found = set()
    for folder in (pack, "common"):
        base = root / "letters" / folder
        if base.is_dir():
            found |= {p.parent.name for p in base.glob(f"*/{document}.html.j2")}
    return sorted(found)


def render_html(
    *,
    pack: str,
    country: str,
    language: str,
    document: str,
    context: dict[str, Any],
    root: Path = TEMPLATE_ROOT,
) -> tuple[str, str]:
    """(template name, HTML) for a document; missing values raise instead of printing blanks."""
    name = template_name(pack, language, document, root)
    locale = locale_for(language, country)
    env = environment(root)
    try:
        template = env.get_template(name)
    except TemplateNotFound as exc:  # pragma: no cover - template_name checked the file
        raise TemplateMissing(str(exc)) from exc
    currency = context["loan"]["currency"]
    html = template.render(
        **context,
        lang=language,
        labels=LABELS.get(language, LABELS["en"]),
        **_formats(locale, currency),
        # another language's formats, for a letter that carries a second language's version
        formats=lambda other: _formats(locale_for(other, country), currency),
    )
    return name, html


def _formats(locale: Locale, currency: str) -> dict[str, Any]:
    return {
        "money": lambda amount, currency=currency: _money(amount, currency, locale),
        "day": lambda value: _day(value, locale),
        "number": lambda value: _number(value, locale),
    }


# fontTools stamps every font subset it writes with the current time unless SOURCE_DATE_EPOCH
# is set (the reproducible-builds convention): pinned, one HTML always gives one PDF, byte for
# byte, which re-running a past period's report relies on. Not configuration: a render constant.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")

# Pango and fontconfig are not safe to drive from several threads at once: one render at a
# time per process (scale rendering with worker processes, not threads).
_RENDER_LOCK = threading.Lock()


def html_to_pdf(html: str, *, identifier: str) -> bytes:
    """The PDF for an HTML document, its identifier derived from `identifier`."""
    from weasyprint import HTML  # imported late: it loads Pango, which only renderers need

    out = io.BytesIO()
    with _RENDER_LOCK:
        HTML(string=html, base_url=str(TEMPLATE_ROOT)).write_pdf(
            out, pdf_identifier=hashlib.sha256(identifier.encode()).hexdigest()[:32].encode()
        )
    return out.getvalue()


def render(
    *,
    pack: str,
    country: str,
    language: str,
    document: str,
    context: dict[str, Any],
    identifier: str,
    root: Path = TEMPLATE_ROOT,
) -> Rendered:
    """Render a document to HTML and PDF, with its template's name and version and the hashes."""
    name, html = render_html(
        pack=pack, country=country, language=language, document=document, context=context, root=root
    )
    pdf = html_to_pdf(html, identifier=identifier)
    return Rendered(
        template=name,
        template_version=template_version(name, root),
        language=language,
        html=html,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        html_sha256=hashlib.sha256(html.encode()).hexdigest(),
    )


def render_text(*, language: str, name: str, context: dict[str, Any], root: Path = TEMPLATE_ROOT) -> str:
    """A plain-text template (an SMS) from `docs_templates/sms/<language>/<name>.txt.j2`."""
    path = f"sms/{language}/{name}.txt.j2"
    if not (root / path).is_file():
        path = f"sms/en/{name}.txt.j2"
    template = environment(root).get_template(path)
    locale = locale_for(language, context.get("country", "US"))
    return template.render(
        **context,
        money=lambda amount, currency=context["loan"]["currency"]: _money(amount, currency, locale),
        day=lambda value: _day(value, locale),
    ).strip()
