"""Keyset pagination: a cursor is the last row's key, so pages never skip or repeat under writes."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import tuple_
from sqlalchemy.sql import Select

from models.errors import Invalid


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, n: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise Invalid("cursor is not one this service issued; start again without it", "invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != n:
        raise Invalid("cursor is not one this service issued; start again without it", "invalid_cursor")
    return values


def after(columns: Sequence[Any], values: Sequence[Any], descending: bool = False):
    """Row-value comparison (a, b) > (x, y) (< when descending): both databases seek straight into the index."""
    left, right = (columns[0], values[0]) if len(columns) == 1 else (tuple_(*columns), tuple_(*values))
    return left < right if descending else left > right


def page(session, stmt: Select, key_columns: Sequence[Any], cursor: str | None, limit: int,
         key_of=None, descending: bool = False) -> tuple[list, str | None]:
    """One page of stmt ordered by key_columns (newest first when descending), and the next page's cursor."""
    values = decode_cursor(cursor, len(key_columns))
    if values is not None:
        stmt = stmt.where(after(key_columns, values, descending))
    order = [c.desc() for c in key_columns] if descending else key_columns
    rows = session.execute(stmt.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return rows, None
    last = rows[-1]
    key = key_of(last) if key_of else [getattr(last, c.key) for c in key_columns]
    return rows, encode_cursor(key)


def entity_page(session, stmt: Select, key_columns: Sequence[Any], cursor: str | None, limit: int,
                descending: bool = False) -> tuple[list, str | None]:
    """page() for a statement that selects one mapped entity: the entities, and the next cursor from their keys."""
    rows, nxt = page(session, stmt, key_columns, cursor, limit,
                     key_of=lambda r: [getattr(r[0], c.key) for c in key_columns], descending=descending)
    return [r[0] for r in rows], nxt


def frame_page(rows: pd.DataFrame, keys: Sequence[str], cursor: str | None, limit: int) -> tuple[pd.DataFrame, str | None]:
    """Keyset paging over a frame already sorted by `keys`, with the same opaque cursors as the database lists."""
    values = decode_cursor(cursor, len(keys))
    if values is not None:
        later = np.zeros(len(rows), dtype=bool)
        equal = np.ones(len(rows), dtype=bool)
        for col, value in zip(keys, values):
            column = rows[col].to_numpy()
            try:
                later |= equal & (column > value)
                equal &= column == value
            except TypeError:
                raise Invalid("cursor is not one this service issued; start again without it",
                              "invalid_cursor") from None
        rows = rows[later]
    shown = rows.iloc[:limit]
    if len(rows) <= limit or shown.empty:
        return shown, None
    last = shown.iloc[-1]
    return shown, encode_cursor([v.item() if isinstance(v := last[c], np.generic) else v for c in keys])


def frame_records(rows: pd.DataFrame) -> list[dict]:
    """A frame's rows as plain Python values for JSON: whole numbers as int, empty figures as None."""
    out = rows.astype(object).where(rows.notna(), None)
    return out.to_dict("records")
