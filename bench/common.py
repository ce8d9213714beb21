"""Shared bench plumbing: a throwaway PostgreSQL database, timers, and the rich table every bench prints."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

PG_ADMIN_URL = (os.environ.get("BENCH_PG_URL") or os.environ.get("TEST_PG_URL")
                or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
console = Console()


@contextmanager
def fresh_pg_database(admin_url: str = PG_ADMIN_URL):
    """A new PostgreSQL database beside the one admin_url names, for one benchmark, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def database(kind: str):
    """A fresh database of the kind asked for ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    with fresh_pg_database() as url:
        yield url


def best_of(repeat: int, fn, *args) -> tuple[float, object]:
    """Best wall time of `repeat` runs (the least disturbed by other work on a shared machine), and a result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - t)
    return best, result


def timed(fn, *args) -> tuple[float, object]:
    """Wall time of one run, and its result."""
    return best_of(1, fn, *args)


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), which can be fewer than the machine has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class Timer:
    def __init__(self):
        self.marks: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        yield
        self.marks[name] = time.perf_counter() - t0


def table(title: str, columns: list[str], rows: list[list]) -> Table:
    t = Table(title=f"{title}  ({os.cpu_count()} cores)")
    for c in columns:
        t.add_column(c, justify="right" if c != columns[0] else "left")
    for r in rows:
        t.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in r])
    return t


def free_port() -> int:
    """A free local TCP port for a server under test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, **env_extra: str) -> subprocess.Popen:
    """The API as it is deployed (uvicorn workers, no access log), answering /health before it returns."""
    import httpx

    env = {**os.environ, "DATABASE_URL": url, **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
                             "--no-access-log"], env=env, stdin=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the API did not start")


def load_master(session, company_id: int, city) -> None:
    """A generated city's managers, retailers and specs, through the real loader, as an operator loads them."""
    from fixtures.writer import frames_for
    from models.load import load_dir

    frames = frames_for(city)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("managers", "retailers", "brands"):
            frames[name].to_csv(f"{tmp}/{name}.csv", index=False)
        load_dir(session, company_id, tmp)
