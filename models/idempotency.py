"""Stored POST responses keyed by (user, Idempotency-Key), written in the same transaction as the effect."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlmodel import Session

from models.tables import IdempotencyKey


def try_lock(session: Session, user_id: int, key: str) -> bool:
    """Hold the key for this transaction; False while another request with it is still running.

    PostgreSQL uses a transaction-scoped advisory lock; SQLite already serializes writers (BEGIN IMMEDIATE),
    so there a concurrent retry waits for the first and then replays its response.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    lock_id = zlib.crc32(f"{user_id}:{key}".encode()) | (user_id << 32)
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_id}).scalar())


def find(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (user_id, key), populate_existing=True)


def store(session: Session, user_id: int, key: str, request_sha256: str, status_code: int, body: str) -> None:
    session.add(IdempotencyKey(user_id=user_id, key=key, request_sha256=request_sha256, state="done",
                               status_code=status_code, response_body=body))
    session.flush()
