"""A deployment on one real PostgreSQL: API processes and queue workers started as a user would, short settings.

Heartbeat 1 s, lease 5 s, stalled after 5 s, sweep every 1 s: a lost run is failed within 6 s (+ scheduling).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlmodel import Session

from models.db import make_engine
from models.migrate import upgrade
from models.users import create_user, get_or_create_company
from tests.worlds.runs import add_cycle, add_master

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"RUNS_EXECUTOR": "queue", "RUNS_HEARTBEAT_S": "1", "RUNS_LEASE_S": "5", "RUNS_STALLED_S": "5",
            "RUNS_SWEEP_S": "1"}
BOUND_S = 5 + 1  # max(lease, T) + sweep interval


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Deployment:
    url: str
    engine: object
    logs: Path
    slow_dir: Path
    admin: dict[str, dict]                  # company code -> headers
    cycles: dict[str, dict[str, int]]       # company code -> cycle name -> id
    apis: list = field(default_factory=list)       # [(port, Popen)]
    workers: list = field(default_factory=list)    # [Popen]

    def env(self) -> dict[str, str]:
        return {**os.environ, **SETTINGS, "DATABASE_URL": self.url, "SLOW_DIR": str(self.slow_dir),
                "PYTHONUNBUFFERED": "1"}

    def slow(self, cycle_id: int, seconds: int) -> Path:
        """The cycle's runs hold their child's interpreter lock for this long while solving."""
        marker = self.slow_dir / str(cycle_id)
        marker.write_text(str(seconds))
        return marker

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{uuid.uuid4().hex[:6]}.log", "wb")
        return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=self.env(), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)

    def start_api(self) -> None:
        port = free_port()
        self.apis.append((port, self._spawn(f"api-{port}", ["api.cli", "serve", "--port", str(port)])))

    def start_worker(self) -> subprocess.Popen:
        proc = self._spawn("worker", ["tests.executor.slow_worker", "worker", "--concurrency", "2"])
        self.workers.append(proc)
        return proc

    def restart_api(self, i: int) -> None:
        """Stop API process i as a deploy would (SIGTERM) and start a new one on its port."""
        port, proc = self.apis[i]
        self.stop(proc)
        self.apis[i] = (port, self._spawn(f"api-{port}", ["api.cli", "serve", "--port", str(port)]))

    def base(self, i: int) -> str:
        return f"http://127.0.0.1:{self.apis[i][0]}"

    def wait_ready(self, seconds: float = 180) -> None:
        """Every API answers /health and every live worker has registered its heartbeat."""
        deadline = time.monotonic() + seconds
        for port, proc in self.apis:
            while True:
                assert proc.poll() is None, f"API on {port} exited: {self.tail()}"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"API on {port} never answered: {self.tail()}"
                time.sleep(0.2)
        live = [w for w in self.workers if w.poll() is None]
        while self.sql("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '3 s'")[0][0] \
                < len(live):
            assert time.monotonic() < deadline, f"workers never registered: {self.tail()}"
            time.sleep(0.2)

    def sql(self, query: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def run(self, run_id: str) -> dict:
        row = self.sql("SELECT status, error, error_code, lease_owner, lease_expires_at, timings, certificate, cycle_id "
                       "FROM allocation_run WHERE id = :i", i=int(run_id))[0]
        return dict(row._mapping)

    def wait_run(self, run_id: str, states=("succeeded", "failed"), seconds: float = 90) -> dict:
        deadline = time.monotonic() + seconds
        while (run := self.run(run_id))["status"] not in states:
            assert time.monotonic() < deadline, f"run {run_id} stayed {run['status']}: {self.tail()}"
            time.sleep(0.1)
        return run

    def wait_job(self, run_id: str, status: str, seconds: float = 30) -> None:
        """Until the queue job of this run has reached `status` (a worker records it after the job returns)."""
        deadline = time.monotonic() + seconds
        query = "SELECT status::text FROM procrastinate_jobs WHERE args->>'job_id' = :r"
        while (got := self.sql(query, r=str(run_id))[0][0]) != status:
            assert time.monotonic() < deadline, f"job of run {run_id} stayed {got}: {self.tail()}"
            time.sleep(0.1)

    def tail(self, n: int = 1500) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-n:]}" for p in sorted(self.logs.iterdir()))

    def stop_all(self) -> None:
        procs = [p for _, p in self.apis] + self.workers
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            self.stop(proc)

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


def fresh_database(admin_url: str) -> tuple[str, object]:
    """A new migrated database (queue schema included) of its own, so no other test's jobs are in its queue."""
    name = f"q_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    return url, engine


def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def two_companies(engine, names: dict[str, list[str]]) -> tuple[dict, dict]:
    """The small world of tests/api/runs_world in each company, with closed cycles of the given names."""
    admin, cycles = {}, {}
    with Session(engine, expire_on_commit=False) as session:
        for code, cycle_names in names.items():
            company = get_or_create_company(session, code, code.title())
            add_master(session, company.id)
            cycles[code] = {n: add_cycle(session, company.id, name=n).id for n in cycle_names}
            admin[code] = {"Authorization": f"Bearer {create_user(session, company.id, 'admin', name='boss')[1]}"}
        session.commit()
    return admin, cycles
