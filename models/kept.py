"""Results kept with the basis they were computed from: a page reads them back while the basis holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete
from sqlmodel import Session

from models.db import upsert


def digest(parts: Iterable[str]) -> str:
    """SHA-256 of a basis given as lines of text: equal exactly when every part is."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def renew(session: Session, basis_table, basis: Mapping, keys: Sequence[str], rows_table) -> None:
    """Start keeping anew under basis's key: the basis row first (on PostgreSQL a concurrent rebuild of the same key
    then waits for this one's commit), and the rows kept on the old basis gone; the caller writes the new rows."""
    upsert(session, basis_table, [dict(basis)], keys=list(keys))
    session.execute(delete(rows_table).where(*(rows_table.c[k] == basis[k] for k in keys)))
