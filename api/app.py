"""The application factory: one engine, one set of routes, errors in one shape."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from contextlib import asynccontextmanager

import anyio.to_thread

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api import docs, errors, idempotency, ui
from api.edge import BodyLimit, ConcurrencyLimit, RefuseControlCharacters
from api.schemas import ERROR_RESPONSES
from api.routes import (
    allocation_policy,
    audit,
    caps,
    compliance,
    cycles,
    distribution,
    forecasts,
    master,
    orders,
    runs,
    scenarios,
    supply,
)
from api.settings import Settings, get_settings
from executor import make_executor
from executor.sweeper import sweep_forever
from models.db import make_engine

log = logging.getLogger("api")
THREADS = 32  # worker threads for sync routes and dependencies = requests let in at once (edge.ConcurrencyLimit); the
#             database pool holds more connections than this, and commits run outside this limit (api/deps.py)

DESCRIPTION = """Order allocation for a tobacco commercial company.

Account managers submit each retailer's order for the cycle; each retailer's **total** is capped by the
floating-cap policy (总量浮动管理: never a floor, never a per-spec quota); scarce supply is allocated with
maximal volume and provably fair sharing of shortages; forecasts are scored per spec.

Authenticate with `Authorization: Bearer <token>` (create one with `tobacco-alloc users create`).
Errors are `{"detail", "code"}`; lists are `{"items", "next_cursor"}` with `cursor` and `limit` (≤ 1000).
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url, sqlite_lock_timeout=settings.sqlite_lock_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        gc.collect()
        gc.freeze()  # start-up objects live forever: keep them out of every later collection's walk
        # lost jobs are found by their expired leases, never because this process started; a test's shared
        # connection (not an Engine) is left to the test
        sweeper = asyncio.create_task(sweep_forever(engine, settings)) if isinstance(engine, Engine) else None
        yield
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if own_engine:
            engine.dispose()

    app = FastAPI(title="tobacco-alloc", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # docs.install serves both from the service's own assets
    app.state.engine = engine
    app.state.settings = settings
    app.state.executor = make_executor(settings, engine)
    errors.install(app)
    idempotency.install(app)
    docs.install(app)
    for module in (master, cycles, caps, orders, runs, allocation_policy, distribution, forecasts, compliance, audit,
                   supply, scenarios):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(master.service)
    ui.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(ConcurrencyLimit, limit=THREADS)
    return app
