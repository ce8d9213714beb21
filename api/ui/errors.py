"""Console errors as pages in the reader's language; the JSON API keeps its own handlers for everything else."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from api.errors import validation_sentence
from api.ui.render import render, url
from models.errors import DomainError

log = logging.getLogger("api")
PREFIX = "/ui/"
STATUS_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 422: "invalid_request", 500: "internal_error"}


def is_console(request: Request) -> bool:
    path = request.url.path
    return (path.startswith(PREFIX) or path == "/ui") and not path.startswith("/ui/static/")


def error_page(request: Request, status: int, code: str, detail: str):
    """The error in the page's language (by code), the API's English sentence beside it for support.

    An HTMX request gets the message alone, aimed at the page's message area instead of the part it asked for.
    """
    if status == 401 and request.method == "GET" and "hx-request" not in request.headers:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(url("/ui/", next=here), 303)
    if "hx-request" in request.headers:
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        if status == 401:
            headers["HX-Redirect"] = "/ui/"
        return render(request, "_error.html", status, headers=headers, code=code, detail=detail)
    return render(request, "error.html", status, code=code, detail=detail)


def install(app: FastAPI) -> None:
    """Wrap the API's handlers: console paths answer pages, every other path exactly as before."""

    def wrap(cls, to_page):
        original = app.exception_handlers[cls]

        async def handler(request: Request, exc):
            if not is_console(request):
                return await original(request, exc)
            return to_page(request, exc)

        app.exception_handlers[cls] = handler

    wrap(DomainError, lambda r, e: error_page(r, e.status_code, e.code, e.detail))
    wrap(RequestValidationError, lambda r, e: error_page(r, 422, "invalid_request", validation_sentence(e.errors())))
    wrap(StarletteHTTPException, lambda r, e: error_page(
        r, e.status_code, STATUS_CODES.get(e.status_code, "error"), e.detail if isinstance(e.detail, str) else ""))
    wrap(Exception, _unexpected)


def _unexpected(request: Request, exc: Exception):
    log.error("unhandled error on a console page", exc_info=exc)
    return error_page(request, 500, "internal_error", "")
