"""A 2xx means committed: the request's transaction commits before the first byte of the response is sent."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from models.tables import Cycle
from models.users import create_user, get_or_create_company


class SeeDatabaseAtResponseStart:
    """Looks at the database, through another connection, at the moment the response starts."""

    def __init__(self, app, engine):
        self.app, self.engine, self.seen = app, engine, []

    async def __call__(self, scope, receive, send):
        def look():
            with Session(self.engine) as other:
                self.seen.append(other.execute(select(func.count()).select_from(Cycle)).scalar())

        async def watching_send(message):
            if message["type"] == "http.response.start":
                await anyio.to_thread.run_sync(look)  # not on the event loop, like the service's own queries
            await send(message)

        await self.app(scope, receive, watching_send)


def test_created_cycle_is_committed_when_the_response_starts(committed_engine):
    with Session(committed_engine) as s:
        company = get_or_create_company(s, "co")
        _, token = create_user(s, company.id, "admin", "admin-1")
        s.commit()
    app = create_app(Settings(database_url="sqlite://"), engine=committed_engine)
    watcher = SeeDatabaseAtResponseStart(app, committed_engine)
    client = TestClient(watcher)
    r = client.post("/v1/cycles", json={"name": "w1", "start_date": "2026-11-23", "end_date": "2026-11-29"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    assert watcher.seen == [1], "the response started before the cycle was committed"
