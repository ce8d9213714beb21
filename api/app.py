"""The application factory: one engine, one set of routes, errors in one shape."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import anyio.to_thread

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api import errors, idempotency
from api.routes import audit, caps, cycles, distribution, forecasts, master, orders, runs
from api.settings import Settings, get_settings
from models.db import make_engine

log = logging.getLogger("api")
THREADS = 32  # worker threads for the synchronous routes; the database pool holds more connections than this

DESCRIPTION = """Order allocation for a tobacco commercial company.

Account managers submit each retailer's order for the cycle; each retailer's **total** is capped by the
floating-cap policy (总量浮动管理: never a floor, never a per-spec quota); scarce supply is allocated with
maximal volume and provably fair sharing of shortages; forecasts are scored per spec.

Authenticate with `Authorization: Bearer <token>` (create one with `tobacco-alloc users create`).
Errors are `{"detail", "code"}`; lists are `{"items", "next_cursor"}` with `cursor` and `limit` (≤ 1000).
"""


class BodyLimit:
    """Refuse a declared body above the limit with 413 before reading it."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    body = (b'{"detail":"the request body is larger than the %d bytes this service accepts; '
                            b'split it","code":"too_large"}' % self.max_bytes)
                    await send({"type": "http.response.start", "status": 413,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests inside the application at once; the rest wait here, holding nothing.

    Synchronous routes need a worker thread at several steps (dependencies, the route, response validation)
    and a database connection in between. With no more requests inside than threads, and more connections
    than threads, a request that holds a connection always finds a thread to finish with, so overload
    queues requests instead of deadlocking them.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit
        self.semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(self.limit)
        async with self.semaphore:
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        on_start = getattr(runs, "on_startup", None)
        if on_start is not None:
            on_start(app)
        yield
        if own_engine:
            engine.dispose()

    app = FastAPI(title="tobacco-alloc", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.engine = engine
    app.state.settings = settings
    errors.install(app)
    idempotency.install(app)
    for module in (master, cycles, caps, orders, runs, distribution, forecasts, audit):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConcurrencyLimit, limit=THREADS)
    return app
