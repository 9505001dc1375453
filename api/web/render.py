"""Pages from templates: the sandboxed, autoescaping environment of the letters, with the reader's
language installed, and the helpers every page uses."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from api.web import i18n
from api.web.sessions import WebUser

TEMPLATES = Path(__file__).resolve().parent / "templates"

# What each role finds in the navigation, in order: (path, label).
NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    "agent": (("/web/queue", "Work queue"), ("/web/cases", "Cases")),
    "supervisor": (
        ("/web/queue", "Work queue"),
        ("/web/cases", "Cases"),
        ("/web/escalations", "Escalations"),
        ("/web/dashboard", "Dashboard"),
    ),
    "compliance": (
        ("/web/audit", "Audit trail"),
        ("/web/cases", "Cases"),
        ("/web/reports", "Reports"),
        ("/web/dashboard", "Dashboard"),
    ),
    "regulator": (("/web/reports", "Reports"),),
    "admin": (("/web/cases", "Cases"), ("/web/reports", "Reports"), ("/web/dashboard", "Dashboard")),
}


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(language: str) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    catalog = i18n.translations(language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]

    def t(text: object) -> str:
        """A text the code chose (a title, a message): translated, and escaped as any value is
        (never `_()`, whose result is markup and whose `%` would format the text)."""
        return catalog.gettext(str(text))

    def term(word: object) -> str:
        """One of the system's words (a stage, a task kind, a decision) as the reader says it."""
        if word is None:
            return i18n.NONE
        translated = catalog.gettext(str(word))
        return translated if translated != str(word) else str(word).replace("_", " ")

    env.globals.update(
        money=lambda amount, currency: i18n.money(amount, currency, language),
        day=lambda value: i18n.day(value, language),
        moment=lambda value: i18n.moment(value, language),
        language=language,
        languages=i18n.NAMES,
        term=term,
        t=t,
    )
    return env


def language_of(request: Request, user: WebUser | None) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), user.language if user else None)


def page(
    request: Request,
    template: str,
    *,
    user: WebUser | None,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page in the reader's language."""
    language = language_of(request, user)
    env = environment(language)
    html = env.get_template(template).render(
        user=user,
        title=title,
        csrf=user.csrf if user else "",
        navigation=NAVIGATION.get(user.role.value, ()) if user else (),
        path=request.url.path,
        query=request.url.query,
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Language": language,
            "Cache-Control": "no-store",
            # nothing but this origin's own files: no CDN, no inline script
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-src 'self'; object-src 'self'; frame-ancestors 'self'; "
            "form-action 'self'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )
