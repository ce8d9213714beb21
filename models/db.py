"""Engine, sessions and bulk writes: the one place that knows which database is underneath."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from models import sqlite

DEFAULT_URL = "sqlite:///./data/tobacco.db"
BULK_CHUNK = 5_000
# How long a transaction waits for SQLite's write lock before giving up: long for commands and runs, which
# wait behind short requests; the API sets its own, shorter bound (Settings.sqlite_lock_timeout), then answers 503.
SQLITE_LOCK_TIMEOUT_S = 30.0
# Connections per engine: at least the API's concurrent requests (THREADS in api/app.py), so a request inside
# never waits for a connection, only (on SQLite, bounded) for the write lock.
POOL_SIZE, POOL_OVERFLOW = 40, 20


def database_url() -> str:
    """The configured database, defaulting to an embedded SQLite file so a newcomer needs nothing running."""
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None, sqlite_lock_timeout: float = SQLITE_LOCK_TIMEOUT_S, **kw: Any) -> Engine:
    """An engine for this URL; on SQLite one that behaves like a server's database (models/sqlite.py).

    On SQLite every transaction takes the write lock at BEGIN and waits at most `sqlite_lock_timeout` seconds
    for it; past that it fails before it has written anything (`sqlite.is_lock_timeout` is true of the error).
    """
    url = url or database_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":  # a file: a pool as large as for a server database (in memory: one)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            kw.setdefault("pool_size", POOL_SIZE)
            kw.setdefault("max_overflow", POOL_OVERFLOW)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": sqlite_lock_timeout}, **kw)
        sqlite.configure(engine, sqlite_lock_timeout)
        return engine
    kw.setdefault("pool_size", POOL_SIZE)
    kw.setdefault("max_overflow", POOL_OVERFLOW)
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)


def small_engine(url: str | None = None) -> Engine:
    """An engine for a process that needs a connection or two (a job's supervisor or its child)."""
    url = url or database_url()
    return make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": 2, "max_overflow": 2}))


@contextmanager
def session_scope(bind) -> Iterator[Session]:
    """One commit point: commit on success, roll back on error (a request, a CLI command, a run's step).

    `bind` is an engine, or a connection already in a transaction (tests), which the session then joins
    through a savepoint.
    """
    with Session(bind, expire_on_commit=False, join_transaction_mode="create_savepoint") as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def after_commit(session: Session, fn) -> None:
    """Call fn once the session's transaction has committed (a process started then finds the rows it needs)."""
    event.listen(session, "after_commit", lambda _s: fn(), once=True)


def dialect_insert(session: Session, table):
    """INSERT with this database's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def upsert(session: Session, table, rows: Sequence[dict], keys: Sequence[str]) -> int:
    """Insert or update rows by key in chunks with one statement each; flushes, never commits."""
    if not rows:
        return 0
    cols = list(rows[0].keys())
    updates = [c for c in cols if c not in keys]
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows[start:start + BULK_CHUNK]
        stmt = dialect_insert(session, table)
        stmt = (stmt.on_conflict_do_update(index_elements=list(keys),
                                           set_={c: stmt.excluded[c] for c in updates})
                if updates else stmt.on_conflict_do_nothing(index_elements=list(keys)))
        session.execute(stmt, chunk)
    return len(rows)


def copy_frame(session: Session, table, frame) -> int:
    """COPY a whole frame (columns named as the table's) in CSV chunks: the fastest bulk path on PostgreSQL."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return bulk_insert(session, table, list(frame.columns), frame.itertuples(index=False, name=None))
    raw = conn.connection.driver_connection
    cols = ", ".join(frame.columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, len(frame), 500_000):
            copy.write(frame.iloc[start:start + 500_000].to_csv(index=False, header=False))
    return len(frame)


def copy_csv(session: Session, table, columns: Sequence[str], chunks: Iterable[bytes]) -> None:
    """COPY rows already rendered as CSV bytes (PostgreSQL only): no Python object per row or cell."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
        for chunk in chunks:
            copy.write(chunk)


def bulk_insert(session: Session, table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Append many rows the fastest way each database offers: COPY on PostgreSQL, executemany on SQLite."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        n = 0
        cols = ", ".join(columns)
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    stmt = insert(table)
    n = 0
    chunk: list[dict] = []
    for row in rows:
        chunk.append(dict(zip(columns, row)))
        if len(chunk) >= BULK_CHUNK * 4:
            conn.execute(stmt, chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        conn.execute(stmt, chunk)
        n += len(chunk)
    return n


def read_frame(session: Session, stmt, dtypes: dict[str, str]) -> "pd.DataFrame":  # noqa: F821
    """A query's rows as a frame; PostgreSQL sends them as CSV (COPY), several times faster than row objects.

    Identifiers stay strings exactly as stored (no NA guessing), so a licence number keeps its leading zeros.
    """
    import pandas as pd  # here, so processes that only supervise jobs start without it

    columns = list(dtypes)
    if session.get_bind().dialect.name != "postgresql":
        return pd.DataFrame(session.execute(stmt).all(), columns=columns).astype(dtypes)
    sql = str(stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    buf = io.BytesIO()
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT CSV)") as copy:
        for data in copy:
            buf.write(data)
    if not buf.tell():
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})
    buf.seek(0)
    frame = _columnar(buf, columns, dtypes)
    if frame is None:
        frame = pd.read_csv(buf, names=columns, dtype=dtypes, keep_default_na=False, na_filter=False)
    return frame


def frame_record(frame: "pd.DataFrame") -> dict:  # noqa: F821
    """A frame as JSON to keep in a JSON column: its columns in order, their dtypes, its rows (missing as null)."""
    return {"columns": [str(c) for c in frame.columns], "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
            "data": frame.astype(object).where(frame.notna(), None).to_numpy().tolist()}


def record_frame(record: dict) -> "pd.DataFrame":  # noqa: F821
    """The frame frame_record kept: the same columns, in the same order, with the same dtypes."""
    import pandas as pd

    return pd.DataFrame(record["data"], columns=record["columns"]).astype(record["dtypes"])


_ARROW_TYPES = {"str": "string", "int64": "int64", "float64": "float64"}


def _columnar(buf: io.BytesIO, columns: list[str], dtypes: dict[str, str]) -> "pd.DataFrame | None":  # noqa: F821
    """COPY's CSV through pyarrow's reader: text as Arrow strings, no Python object per cell; None to fall back."""
    if any(t not in _ARROW_TYPES for t in dtypes.values()):
        return None
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    try:
        table = pa_csv.read_csv(buf, read_options=pa_csv.ReadOptions(column_names=columns),
                                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                                convert_options=pa_csv.ConvertOptions(
                                    column_types={c: pa.type_for_alias(_ARROW_TYPES[t]) for c, t in dtypes.items()},
                                    null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowException:
        buf.seek(0)
        return None
    return table.to_pandas()
