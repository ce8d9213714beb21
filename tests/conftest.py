"""Databases for tests: every database test runs on SQLite and on a real PostgreSQL, schema built by migrations."""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from api.app import create_app
from api.settings import Settings
from models.db import make_engine
from models.migrate import upgrade
from models.users import create_user, get_or_create_company

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample"
BACKENDS = ["sqlite", "postgresql"]


# --- no database work on the event loop: a blocking statement or commit there stalls every request in flight
_LOOP_DB_WORK: list[str] = []


def _on_the_event_loop(what: str) -> None:
    if threading.current_thread() is threading.main_thread():
        return  # the test itself (a browser driver may run a loop there); servers under test run in other threads
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: blocking is fine here
    where = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_stack()
             if "site-packages" not in f.filename and "conftest" not in f.filename]
    _LOOP_DB_WORK.append(f"{what[:120]!r} at {' <- '.join(reversed(where[-4:]))}")


event.listen(Engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: _on_the_event_loop(statement))
event.listen(Engine, "commit", lambda _c: _on_the_event_loop("COMMIT"))
event.listen(Engine, "rollback", lambda _c: _on_the_event_loop("ROLLBACK"))


@pytest.fixture(autouse=True)
def no_database_work_on_the_event_loop():
    """Fails a test during which a database statement, commit or rollback ran on an event loop's thread."""
    _LOOP_DB_WORK.clear()
    yield
    assert not _LOOP_DB_WORK, "database work on the event loop:\n" + "\n".join(_LOOP_DB_WORK[:5])


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable (set TEST_PG_URL); CI=true makes this a failure")
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _engine_for(backend: str, request, tmp_path_factory) -> Engine:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        return make_engine(f"sqlite:///{path}")
    return make_engine(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request, tmp_path_factory) -> Iterator[Engine]:
    """One migrated database per backend for the whole session."""
    eng = _engine_for(request.param, request, tmp_path_factory)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine):
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session(connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def company(session):
    c = get_or_create_company(session, "testco", "Test company")
    session.flush()
    return c


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """For tests that need real commits and several connections: tables are emptied afterwards."""
    truncate_all(engine)
    yield engine
    truncate_all(engine)


def make_client(bind) -> TestClient:
    settings = Settings(database_url="sqlite://", run_in_process=True)
    return TestClient(create_app(settings=settings, engine=bind), raise_server_exceptions=False)


@pytest.fixture
def client(connection) -> TestClient:
    """The API on the rolled-back test connection."""
    return make_client(connection)


class Tokens:
    """Creates users on demand and returns auth headers for them."""

    def __init__(self, session: Session, company_id: int):
        self.session, self.company_id, self._cache = session, company_id, {}

    def __call__(self, role: str, manager_id: str | None = None) -> dict[str, str]:
        key = (role, manager_id)
        if key not in self._cache:
            _, token = create_user(self.session, self.company_id, role, name=f"{role}-{manager_id or 'x'}",
                                   manager_id=manager_id)
            self.session.commit()
            self._cache[key] = {"Authorization": f"Bearer {token}"}
        return self._cache[key]


@pytest.fixture
def sample(session, company):
    """The committed sample city loaded into the test database."""
    from models.load import load_dir

    load_dir(session, company.id, SAMPLE)
    session.commit()
    return company


@pytest.fixture
def auth(session, company) -> Tokens:
    return Tokens(session, company.id)


@pytest.fixture(scope="session")
def pg_engine(pg_url) -> Iterator[Engine]:
    """The session's PostgreSQL database alone, for tests whose point is PostgreSQL's locking."""
    eng = make_engine(pg_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_committed_engine(pg_engine: Engine) -> Iterator[Engine]:
    """Real commits on PostgreSQL, tables emptied before and after."""
    truncate_all(pg_engine)
    yield pg_engine
    truncate_all(pg_engine)


@pytest.fixture
def run_world(session, company):
    """The small city of tests/worlds/runs.py committed on the test connection; returns its closed cycle."""
    from tests.worlds.runs import add_cycle, add_master

    add_master(session, company.id)
    cycle = add_cycle(session, company.id)
    session.commit()
    return cycle


@pytest.fixture
def sample_world(client, auth, sample):
    """The committed sample city with a cycle in every state, built through the API (tests/worlds/sample.py)."""
    from tests.worlds.sample import build_world

    return build_world(client, auth)
