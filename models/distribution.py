"""The published allocation as the distribution center pulls it: rows per route and day, the feed, the pick list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Numeric, and_, cast, func, select
from sqlmodel import Session

from allocation.vocabulary import CARTONS_PER_CASE, CycleState
from models.cycles import cycle_status, get_cycle
from models.errors import Conflict
from models.master import scope_retailers
from models.pagination import encode_cursor, page
from models.tables import Brand, Cycle, Retailer
from models.tables_runs import Allocation, Publication
from models.users import Principal

LINE_KEY = (Allocation.retailer_id, Allocation.brand_code)
CSV_COLUMNS = ["retailer_id", "brand_code", "demanded", "allocated", "reason", "route_id", "delivery_weekday", "value"]
STREAM_CHUNK = 5_000


def published_cycle(session: Session, principal: Principal, cycle_id: int | str) -> Cycle:
    """The cycle if its allocation is published; 409 before, since there is nothing final to deliver yet."""
    cycle = get_cycle(session, principal.company_id, cycle_id)
    if cycle.status != CycleState.PUBLISHED or cycle.published_run_id is None:
        raise Conflict(f"cycle {cycle.id} ({cycle.name}) is {cycle_status(cycle)}; its allocation can be pulled once "
                       "it is published", "not_published", status=cycle_status(cycle))
    return cycle


def _rows_stmt(principal: Principal, cycle: Cycle, route_id: str | None, delivery_weekday: int | None):
    """Published rows with the delivery keys and price; an account manager sees his own retailers only."""
    stmt = (select(Allocation.retailer_id, Allocation.brand_code, Allocation.demanded, Allocation.allocated,
                   Allocation.reason, Retailer.route_id, Retailer.delivery_weekday, Brand.wholesale_price)
            .join(Retailer, and_(Retailer.company_id == cycle.company_id,
                                 Retailer.retailer_id == Allocation.retailer_id))
            .join(Brand, and_(Brand.company_id == cycle.company_id, Brand.brand_code == Allocation.brand_code))
            .where(Allocation.run_id == cycle.published_run_id))
    return scope_retailers(_delivery_filter(stmt, route_id, delivery_weekday), principal, Retailer.manager_id)


def _delivery_filter(stmt, route_id: str | None, delivery_weekday: int | None):
    """Only one route's and/or one delivery day's retailers (stmt must already join Retailer)."""
    if route_id is not None:
        stmt = stmt.where(Retailer.route_id == route_id)
    if delivery_weekday is not None:
        stmt = stmt.where(Retailer.delivery_weekday == delivery_weekday)
    return stmt


@lru_cache(maxsize=4096)
def _cents(price: Decimal | float | str) -> int:
    return int((Decimal(str(price)) * 100).to_integral_value())


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def value_of(price: Decimal | float | str, allocated: int) -> str:
    """Wholesale price × allocated as an exact decimal string with 2 places (JSON numbers would round money)."""
    return _money(_cents(price) * allocated)


def _as_dicts(rows) -> list[dict]:
    """Rows as the API's items; unpacked by position because a page is a thousand of them."""
    return [{"retailer_id": rid, "brand_code": code, "demanded": demanded, "allocated": allocated, "reason": reason,
             "route_id": route, "delivery_weekday": day, "value": value_of(price, allocated)}
            for rid, code, demanded, allocated, reason, route, day, price in rows]


def published_rows(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int,
                   route_id: str | None = None, delivery_weekday: int | None = None) -> tuple[list[dict], str | None]:
    """One page of the published allocation; the rows are final, so the keyset never skips or repeats one."""
    cycle = published_cycle(session, principal, cycle_id)
    rows, nxt = page(session, _rows_stmt(principal, cycle, route_id, delivery_weekday), LINE_KEY, cursor, limit)
    return _as_dicts(rows), nxt


def published_csv(session: Session, principal: Principal, cycle: Cycle, route_id: str | None = None,
                  delivery_weekday: int | None = None) -> Iterator[str | bytes]:
    """Every published row as CSV in chunks: PostgreSQL writes it itself (COPY), other databases by streaming rows."""
    stmt = _rows_stmt(principal, cycle, route_id, delivery_weekday).order_by(*LINE_KEY)
    if session.get_bind().dialect.name == "postgresql":
        return _copy_csv(session, stmt)
    return _python_csv(session, stmt)


def _copy_csv(session: Session, stmt) -> Iterator[bytes]:
    """COPY of the same query with the value computed as exact numeric(14,2), handed on in blocks of about 256 kB."""
    cols = stmt.selected_columns
    value = cast(cols.wholesale_price * cols.allocated, Numeric(14, 2)).label("value")
    query = stmt.with_only_columns(*[c for c in cols if c.name != "wholesale_price"], value)
    sql = str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    raw = session.connection().connection.driver_connection
    block: list[bytes] = []
    size = 0
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT CSV, HEADER)") as copy:
        for data in copy:
            block.append(bytes(data))
            size += len(data)
            if size >= 1 << 18:
                yield b"".join(block)
                block, size = [], 0
    if block:
        yield b"".join(block)


def _python_csv(session: Session, stmt) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    result = session.execute(stmt, execution_options={"stream_results": True, "yield_per": STREAM_CHUNK})
    for part in result.partitions():
        writer.writerows((rid, code, demanded, allocated, reason, route, day, value_of(price, allocated))
                         for rid, code, demanded, allocated, reason, route, day, price in part)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def list_publications(session: Session, principal: Principal, cursor: str | None, limit: int):
    """Published cycles in publish order, plus a cursor to resume from after the last one seen."""
    stmt = (select(Publication.id, Publication.cycle_id, Publication.run_id, Publication.published_at,
                   Cycle.name.label("cycle_name"))
            .join(Cycle, Cycle.id == Publication.cycle_id)
            .where(Publication.company_id == principal.company_id))
    rows, nxt = page(session, stmt, [Publication.id], cursor, limit)
    resume = encode_cursor([rows[-1].id]) if rows else cursor
    return rows, nxt, resume


def pick_list(session: Session, principal: Principal, cycle_id: int | str, cursor: str | None, limit: int,
              route_id: str | None = None, delivery_weekday: int | None = None):
    """Cartons per spec for the published allocation, with 大箱 and loose 条, summed and split in SQL.

    The run's rows are summed per spec first, in one pass, and only the few hundred sums meet the brand table:
    joined before the sum, a planner could walk a province run's millions of rows once per spec."""
    cycle = published_cycle(session, principal, cycle_id)
    total = func.sum(Allocation.allocated)
    per_spec = select(Allocation.brand_code, total.label("cartons")).where(Allocation.run_id == cycle.published_run_id)
    if route_id is not None or delivery_weekday is not None:
        per_spec = _delivery_filter(per_spec.join(Retailer, and_(Retailer.company_id == cycle.company_id,
                                                                 Retailer.retailer_id == Allocation.retailer_id)),
                                    route_id, delivery_weekday)
    per_spec = per_spec.group_by(Allocation.brand_code).having(total > 0).subquery("per_spec")
    cartons = per_spec.c.cartons
    stmt = (select(per_spec.c.brand_code, Brand.name, cartons, (cartons // CARTONS_PER_CASE).label("cases"),
                   (cartons % CARTONS_PER_CASE).label("cartons_over"))
            .join(Brand, and_(Brand.company_id == cycle.company_id, Brand.brand_code == per_spec.c.brand_code)))
    rows, nxt = page(session, stmt, [per_spec.c.brand_code], cursor, limit)
    return [{"brand_code": r.brand_code, "name": r.name, "cartons": int(r.cartons), "cases": int(r.cases),
             "cartons_over": int(r.cartons_over)} for r in rows], nxt
