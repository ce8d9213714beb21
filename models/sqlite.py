"""SQLite as the service's database: WAL, foreign keys, and its one write lock taken at BEGIN, in turn, bounded."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

_HOLDS_GATE = "holds_write_gate"


class WriteLockTimeout(OperationalError):
    """The write lock was not had within the bound; the transaction never began, so nothing was written."""


def is_lock_timeout(exc: BaseException) -> bool:
    """True when a transaction gave up waiting for SQLite's write lock ("database is locked")."""
    orig = getattr(exc, "orig", exc)
    return isinstance(exc, WriteLockTimeout) or (
        isinstance(orig, sqlite3.OperationalError)
        and (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))


def configure(engine: Engine, lock_timeout: float) -> None:
    """Pragmas on every connection; every transaction takes the write lock at BEGIN, waiting at most lock_timeout.

    `BEGIN IMMEDIATE` means two writers never deadlock on a lock upgrade. Within this process the writers
    queue on a gate and are woken in turn as each transaction ends; SQLite's own busy handler, which polls with
    sleeps of up to 100 ms, is then left only for writers in other processes (a run, a command, another server
    worker), so a burst of requests is served at the pace of its transactions, not of the polling.
    """
    gate = threading.Lock()

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own: _begin does it
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        deadline = time.monotonic() + lock_timeout
        if not gate.acquire(timeout=lock_timeout):
            raise WriteLockTimeout("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        conn.info[_HOLDS_GATE] = True
        try:  # the rest of the bound for writers in other processes
            conn.exec_driver_sql(f"PRAGMA busy_timeout={max(1, int((deadline - time.monotonic()) * 1000))}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info) -> None:
        if info.pop(_HOLDS_GATE, False):
            gate.release()

    event.listen(engine, "commit", lambda conn: _release(conn.info))
    event.listen(engine, "rollback", lambda conn: _release(conn.info))
    # a connection given back or dropped in the middle of a transaction must not keep the gate
    event.listen(engine.pool, "checkin", lambda _dbapi, record: record is not None and _release(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _release(record.info))
