"""SQLite: a request that cannot get the write lock within the bound answers 503 with Retry-After, writes nothing."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from models.db import make_engine
from models.migrate import upgrade
from models.tables import Cycle, IdempotencyKey
from models.users import create_user, get_or_create_company

BOUND_S = 0.3
CYCLE = {"name": "w1", "start_date": "2026-11-23", "end_date": "2026-11-29"}


def test_a_request_waiting_past_the_write_lock_bound_is_503_and_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    setup = make_engine(url)
    upgrade(setup)
    with Session(setup) as s:
        company = get_or_create_company(s, "co")
        admin = {"Authorization": f"Bearer {create_user(s, company.id, 'admin', 'admin-1')[1]}"}
        s.commit()
    setup.dispose()
    settings = Settings(database_url=url, sqlite_lock_timeout=BOUND_S)
    assert settings.sqlite_lock_timeout == BOUND_S
    engine = make_engine(url, sqlite_lock_timeout=settings.sqlite_lock_timeout)
    client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)
    assert client.get("/v1/cycles", headers=admin).status_code == 200  # the token lookup is cached from here on

    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the bound
    try:
        answers = [client.post("/v1/cycles", json=CYCLE, headers={**admin, "Idempotency-Key": "k1"}),
                   client.post("/v1/cycles", json=CYCLE, headers=admin),
                   client.get("/v1/cycles", headers=admin)]
    finally:
        holder.rollback()
        holder.close()
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json() == {"detail": r.json()["detail"], "code": "database_busy"} and "retry" in r.json()["detail"]
    with Session(engine) as s:  # nothing was written: no cycle, no stored idempotency key
        assert s.execute(select(func.count()).select_from(Cycle)).scalar() == 0
        assert s.execute(select(func.count()).select_from(IdempotencyKey)).scalar() == 0
    retry = client.post("/v1/cycles", json=CYCLE, headers={**admin, "Idempotency-Key": "k1"})
    assert retry.status_code == 201, retry.text  # the same key, once the lock is free: done once, now
    engine.dispose()
