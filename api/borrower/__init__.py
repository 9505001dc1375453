"""The borrower's own page at /me: reached by the personal link in a message or a letter's code,
opened with a one-time code, and showing only the case its link names."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.borrower import entry, routes
from arrears.borrower_links import Links
from arrears.channels import Channels
from arrears.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the page, its stylesheet, and the signer and channels it sends codes through."""
    app.state.borrower_links = Links.from_settings(settings)
    app.state.borrower_channels = Channels.from_settings(settings)
    app.include_router(entry.router)
    app.include_router(routes.router)
    app.mount("/me/static", StaticFiles(directory=STATIC), name="borrower-static")
