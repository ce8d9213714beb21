"""The API tests' shared worlds: the order world and its account manager, and a database for the command line."""

from __future__ import annotations

import pytest

from tests.worlds.orders import make_world


@pytest.fixture
def orders_world(session, company) -> dict:
    """The order world of tests/worlds/orders.py, committed so the API's own sessions see it: cycle ids by name."""
    return make_world(session, company)


@pytest.fixture
def am(auth) -> dict:
    """The headers of M1, the account manager who owns R1, R2 and R5."""
    return auth("account_manager", "M1")


@pytest.fixture
def db_env(tmp_path, monkeypatch):
    """A fresh SQLite file as DATABASE_URL, for commands that open their own database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url
