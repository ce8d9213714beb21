"""The web console: pages rendered by the service itself for the people who run the week (see docs/console.md)."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.ui import errors, pages
from api.ui.render import NAV, STATIC


def page_modules() -> list:
    """Every module of api/ui/pages: each brings its `router` and, optionally, its `NAV` entries."""
    return [importlib.import_module(f"{pages.__name__}.{m.name}") for m in pkgutil.iter_modules(pages.__path__)]


def install(app: FastAPI) -> None:
    """Mount the console's assets and pages (kept out of the OpenAPI schema) and its error pages."""
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    NAV.clear()
    for module in page_modules():
        app.include_router(module.router, include_in_schema=False)
        NAV.extend(getattr(module, "NAV", ()))
    errors.install(app)
