"""One place that turns every failure into {"detail", "code"} with the right status, never a stack trace."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from allocation.floors import floor_like
from models.sqlite import is_lock_timeout
from models.errors import DomainError

FLOOR_RULE = ("caps set an upper limit on a retailer's total only: total-quantity floating management (总量浮动管理) "
              "forbids a floor, a minimum purchase or a per-spec quantity")

log = logging.getLogger("api")


def error_body(detail: str, code: str, **extra) -> dict:
    return {"detail": detail, "code": code, **extra}


def _where(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def validation_sentence(errors) -> str:
    msgs = []
    for err in errors[:10]:
        where = _where(err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "is not a field this request accepts"
        msgs.append(f"{where}: {msg}")
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return "; ".join(msgs) + more


def _caller_error(request: Request) -> JSONResponse | None:
    """401 or 403 for a request whose body failed to parse before its caller was checked; else None."""
    from api.deps import read_session
    from models.users import principal_for_token

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token.strip():
        with read_session(request.app) as session:
            principal = principal_for_token(session, token.strip())
    if principal is None:
        return JSONResponse(error_body("send `Authorization: Bearer <token>` with a valid token", "unauthorized"),
                            401, headers={"WWW-Authenticate": "Bearer"})
    route = request.scope.get("route")
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "roles", None)
        if roles and principal.role not in roles:
            return JSONResponse(error_body(f"the {principal.role} role may not do this; it needs "
                                           f"{' or '.join(roles)}", "forbidden"), 403)
        stack.extend(dep.dependencies)
    return None


RETRY_AFTER_S = 1


async def _unexpected(_request: Request, exc: Exception):
    log.exception("unhandled error")
    return JSONResponse(error_body("the service failed to answer this request; it has been logged",
                                   "internal_error"), 500)


async def _database(request: Request, exc: OperationalError):
    """503 with Retry-After when SQLite's write lock stayed taken past the bound (nothing was written)."""
    if not is_lock_timeout(exc):
        return await _unexpected(request, exc)
    log.warning("database busy: %s %s waited past the write-lock bound", request.method, request.url.path)
    return JSONResponse(error_body("the database is busy with other writes and nothing was written; retry in a "
                                   "moment", "database_busy"), 503, headers={"Retry-After": str(RETRY_AFTER_S)})


def allowed_methods(request: Request, router_allow: str | None) -> str | None:
    """A 405's Allow: the methods the schema documents for the URL's most literal path (/orders/import, not
    /orders/{retailer_id}); the router's own names only the first route whose path matched (GET and POST
    /v1/cycles are two routes). A path outside the schema (docs, console pages) keeps the router's."""
    paths = getattr(request.app.state, "allow_by_path", None)
    if paths is None:
        paths = request.app.state.allow_by_path = [
            (re.compile("^" + "/".join("[^/]+" if part.startswith("{") else re.escape(part)
                                       for part in path.split("/")) + "$"), path.count("{"),
             {m.upper() for m in ops} | ({"HEAD"} if "get" in ops else set()))
            for path, ops in request.app.openapi().get("paths", {}).items()]
    matching = [(params, methods) for pattern, params, methods in paths if pattern.match(request.url.path)]
    if not matching:
        return router_allow
    fewest = min(params for params, _ in matching)
    return ", ".join(sorted({m for params, methods in matching if params == fewest for m in methods}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(Exception, _unexpected)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError):
        headers = exc.extra.pop("headers", None) if exc.extra else None
        return JSONResponse(error_body(exc.detail, exc.code, **(exc.extra or {})), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            # a body that is not JSON is parsed before the caller is known; who is asking still comes first
            refused = await run_in_threadpool(_caller_error, _request)  # a token lookup: never on the event loop
            if refused is not None:
                return refused
        code = "invalid_request"
        detail = validation_sentence(errors)
        if any(e.get("type") == "extra_forbidden" and floor_like(str(e.get("loc", ("",))[-1]))
               and any(p in str(_request.url.path) for p in ("/cap", "/scenarios")) for e in errors):
            code = "floor_or_quota_refused"
            detail = f"{FLOOR_RULE}; {detail}"
        elif any(tuple(e.get("loc", ())) == ("header", "Idempotency-Key") for e in errors):
            code = "invalid_idempotency_key"
            detail = f"Idempotency-Key must be 1 to 200 visible ASCII characters; {detail}"
        return JSONResponse(error_body(detail, code), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. JSON that is not UTF-8): malformed
            return JSONResponse(error_body("the body could not be read; send UTF-8 JSON", "invalid_request"), 422)
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
                413: "too_large"}.get(
            exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allow = allowed_methods(_request, (headers or {}).get("Allow"))
            headers = {**(headers or {}), "Allow": allow or ""}
            detail = f"{_request.method} is not answered here; this URL answers {allow or 'nothing'}"
        return JSONResponse(error_body(detail, code), exc.status_code, headers=headers)
