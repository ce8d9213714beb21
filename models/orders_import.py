"""Demand file import: a whole city's orders checked at once with pandas, then written with set-based SQL.

All rows or none: every bad row is reported with its line, and nothing is written unless every row is good.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    select,
    text,
    type_coerce,
    update,
)
from sqlmodel import Session

from allocation.vocabulary import LINE_MAX, Channel, CycleState, RetailerStatus, values
from models import audit
from models.cycles import get_cycle, require_status
from allocation.rows import MAX_REPORTED, Faults, RowFault, Whole, flag_numbers, whole_numbers
from models.db import bulk_insert, dialect_insert
from models.errors import Invalid, row_id
from models.master import scope_retailers
from models.tables import Brand, Cap, Retailer
from models.tables_demand import Order, OrderLine, OrderVersion
from models.types import utcnow
from models.users import Principal

REQUIRED = ("retailer_id", "brand_code", "quantity")
FILE = "demand"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
COPY_CHUNK = 100_000
# imports into one cycle serialize on this PostgreSQL advisory lock (two-int key space, apart from other locks)
_IMPORT_LOCK = zlib.crc32(b"order_import") & 0x7FFFFFFF


class BadRows(Invalid):
    """Every bad row of a file, as {line, column, message} (line 1 is the header)."""

    def __init__(self, faults: list[RowFault], total: int | None = None):
        first, total = faults[0], max(total or 0, len(faults))
        super().__init__(f"{total} problem(s) in the demand file, nothing was loaded; the first: line "
                         f"{first.line}, column {first.column}: {first.message}", "invalid_rows",
                         errors=[{"line": f.line, "column": f.column, "message": f.message}
                                 for f in faults[:MAX_REPORTED]], error_count=total)


def _refuse(line: int, column: str | None, message: str) -> BadRows:
    return BadRows([RowFault(FILE, line, column, message)])


def read_demand(body: bytes) -> pd.DataFrame:
    """The demand CSV as strings, one row per record; unreadable files are refused with where it broke."""
    try:
        decoded = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(decoded_line(body, exc.start), None, "is not UTF-8 text; save the file as UTF-8") from None
    if not decoded.strip():
        raise _refuse(1, None, "the file is empty; it needs a header row retailer_id,brand_code,quantity[,channel]")
    try:
        df = pd.read_csv(io.StringIO(decoded), dtype=str, keep_default_na=False, na_filter=False,
                         skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, ValueError) as exc:
        raise _refuse(1, None, f"the file is not a readable CSV: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise BadRows([RowFault(FILE, 1, c, "required column is missing from the header") for c in missing])
    return df.fillna("")


def decoded_line(body: bytes, offset: int) -> int:
    """The file line of a byte offset, so an encoding fault is reported where a person can find it."""
    return body[:offset].count(b"\n") + 1


class _Rows:
    """The demand file's row checks, each fault at its file line."""

    def __init__(self, faults: Faults):
        self.faults = faults

    def flag(self, mask, column: str | None, message) -> None:
        self.faults.rows(FILE, column, np.asarray(mask, dtype=bool), message)


def per_value(values, fn, dtype=object) -> np.ndarray:
    """fn applied once per distinct value and spread back to every row: ids and quantities repeat a lot."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return np.asarray([fn(u) for u in uniques], dtype=dtype)[codes] if len(codes) else np.empty(0, dtype=dtype)


def check_rows(df: pd.DataFrame, retailers: pd.DataFrame, brands: set[str], max_lines: int) -> pd.DataFrame:
    """Every rule a demand row must keep, vectorised; returns clean typed rows or raises BadRows with all faults."""
    p, n = _Rows(Faults(FILE)), len(df)
    for name in ("retailer_id", "brand_code", "quantity", "channel"):
        if name in df.columns:
            p.flag(per_value(df[name], lambda v: bool(_CONTROL_RE.search(v)), bool), name,
                   "contains a control character")
    rid = pd.Series(per_value(df["retailer_id"], str.strip), index=df.index, dtype=object)
    code = pd.Series(per_value(df["brand_code"], str.strip), index=df.index, dtype=object)
    channel = (pd.Series(per_value(df["channel"], lambda v: v.strip() or Channel.RETAILER_STATED.value), index=df.index)
               if "channel" in df.columns else pd.Series([Channel.RETAILER_STATED.value] * n, index=df.index, dtype=object))
    p.flag(rid == "", "retailer_id", "is empty; a retailer_id is required")
    p.flag(code == "", "brand_code", "is empty; a brand_code is required")
    parsed, kind = whole_numbers(df["quantity"], LINE_MAX)
    qty = pd.Series(parsed, index=df.index)
    flag_numbers(p.faults, FILE, "quantity", df["quantity"], kind, {
        Whole.NOT_WHOLE: f"{{raw!r}} is not a whole number of cartons from 0 to {LINE_MAX}",
        Whole.ABOVE: f"{{text}} is above the maximum of {LINE_MAX} cartons a line"})
    p.flag(~channel.isin(values(Channel)), "channel", lambda i: f"{channel.iat[i]!r} is not one of {', '.join(Channel)}")
    status = rid.map(retailers.set_index("retailer_id")["status"])
    p.flag((rid != "") & status.isna(), "retailer_id",
           lambda i: f"no retailer {rid.iat[i]!r} among yours; an account manager imports only his own retailers")
    p.flag(status == RetailerStatus.SUSPENDED, "retailer_id", lambda i: f"retailer {rid.iat[i]} is suspended and cannot order")
    p.flag((code != "") & ~code.isin(brands), "brand_code",
           lambda i: f"unknown spec {code.iat[i]!r}; use a brand_code from /v1/brands")
    pair = pd.DataFrame({"r": rid, "b": code})
    dup = pair.duplicated(keep="first") & (rid != "") & (code != "")
    if dup.any():
        first_line = pair.reset_index().groupby(["r", "b"])["index"].transform("min").to_numpy() + 2
        p.flag(dup, "brand_code", lambda i: f"repeats retailer {rid.iat[i]} spec {code.iat[i]} of line "
                                            f"{first_line[i]}; send one line per spec")
    first_channel = channel.groupby(rid).transform("first")
    p.flag(channel != first_channel, "channel",
           lambda i: f"retailer {rid.iat[i]} has rows of both channels; one order has one channel")
    counts = rid.map(rid.value_counts())
    over = (counts > max_lines) & ~rid.duplicated()
    p.flag(over, "retailer_id", lambda i: f"retailer {rid.iat[i]} has {counts.iat[i]} lines; at most {max_lines} "
                                          "are accepted, one per spec")
    if n == 0:
        p.faults.add(FILE, 2, None, "the file has a header but no rows")
    p.faults.raise_if_any(BadRows)
    return pd.DataFrame({"retailer_id": rid, "brand_code": code, "quantity": qty.astype("int64"),
                         "channel": channel})


def per_order(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sort lines by order and spec and fold them into one row per order: channel, fingerprint, total, JSON text.

    The fingerprint is the same as models.orders.body_digest gives for the same body, built from text joined per
    order so a city's 600,000 lines cost one pass.
    """
    lines = lines.sort_values(["retailer_id", "brand_code"], kind="stable").reset_index(drop=True)
    rids = lines["retailer_id"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, rids[1:] != rids[:-1]]) if len(rids) else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(lines)].astype(np.int64)
    q_text = per_value(lines["quantity"], str)
    codes = lines["brand_code"].to_numpy(dtype=object)
    digest_text = (codes + "\t" + q_text).tolist()
    json_text = ('{"brand_code":' + per_value(codes, json.dumps) + ',"quantity":' + q_text + "}").tolist()
    channels = lines["channel"].to_numpy(dtype=object)[starts]
    digests, bodies = [], []
    for s, e, ch in zip(starts.tolist(), ends.tolist(), channels):
        digests.append(hashlib.sha256((ch + "\n" + "\n".join(digest_text[s:e])).encode()).hexdigest())
        bodies.append("[" + ",".join(json_text[s:e]) + "]")
    totals = np.add.reduceat(lines["quantity"].to_numpy(), starts) if len(lines) else np.array([], dtype=np.int64)
    orders = pd.DataFrame({"retailer_id": rids[starts], "channel": channels, "digest": digests,
                           "total": totals.astype("int64"), "lines": bodies})
    return lines, orders


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\")


def copy_lines(session: Session, cycle_id: int, company_id: int, lines: pd.DataFrame) -> int:
    """Order lines into PostgreSQL as preformatted COPY text: ten times fewer Python calls than a row at a time."""
    raw = session.connection().connection.driver_connection
    head, mid = f"{cycle_id}\t", f"\t{company_id}\t"
    with raw.cursor() as cur, cur.copy("COPY order_line (cycle_id, retailer_id, brand_code, company_id, quantity) "
                                       "FROM STDIN") as copy:
        for start in range(0, len(lines), COPY_CHUNK):
            part = lines.iloc[start:start + COPY_CHUNK]
            rows = (head + per_value(part["retailer_id"], _copy_escape) + "\t" + per_value(part["brand_code"],
                    _copy_escape) + mid + per_value(part["quantity"], str) + "\n")
            copy.write("".join(rows.tolist()).encode())
    return len(lines)


def _staging(session: Session) -> Table:
    """A temporary table holding the file's orders, so the writes are a handful of set-based statements."""
    table = Table("order_import_stage", MetaData(), Column("retailer_id", String(64), primary_key=True),
                  Column("channel", String(32)), Column("digest", String(64)), Column("total", Integer),
                  prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    table.drop(session.connection(), checkfirst=True)
    table.create(session.connection())
    return table


def import_orders(session: Session, principal: Principal, cycle_id: str, body: bytes, max_lines: int) -> dict:
    """A PUT for every retailer in a demand file, all or nothing; answers the counts of what changed."""
    df = read_demand(body)
    visible = scope_retailers(select(Retailer.retailer_id, Retailer.status)
                              .where(Retailer.company_id == principal.company_id), principal)
    retailers = pd.DataFrame(session.execute(visible).all(), columns=["retailer_id", "status"])
    brands = set(session.execute(select(Brand.brand_code).where(Brand.company_id == principal.company_id)).scalars())
    lines, orders = per_order(check_rows(df, retailers, brands, max_lines))
    pg = session.get_bind().dialect.name == "postgresql"
    if pg:
        # queue for the import lock before taking the cycle's share lock: imports waiting in line then hold no
        # lock on the cycle, so a close waits for one import at most instead of starving behind the queue
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                        {"a": _IMPORT_LOCK, "b": row_id(cycle_id, "cycle")})
    cycle = get_cycle(session, principal.company_id, cycle_id, for_share=True)
    require_status(cycle, CycleState.OPEN, doing="import orders")
    now, user = utcnow(), principal.user_id
    stage = _staging(session)
    bulk_insert(session, stage, ["retailer_id", "channel", "digest", "total"],
                orders[["retailer_id", "channel", "digest", "total"]].itertuples(index=False, name=None))
    new = select(type_coerce(cycle.id, Integer), stage.c.retailer_id, type_coerce(principal.company_id, Integer),
                 type_coerce(1, Integer), stage.c.channel, stage.c.digest, stage.c.total, type_coerce(user, Integer),
                 type_coerce(now, Order.__table__.c.submitted_at.type)).where(stage.c.retailer_id.is_not(None))
    created = set(session.execute(
        dialect_insert(session, Order).from_select(["cycle_id", "retailer_id", "company_id", "version", "channel", "body_sha256",
                                "total", "submitted_by", "submitted_at"], new.order_by(stage.c.retailer_id))
        .on_conflict_do_nothing(index_elements=["cycle_id", "retailer_id"]).returning(Order.retailer_id)).scalars())
    mine = and_(Order.cycle_id == cycle.id, Order.retailer_id == stage.c.retailer_id)
    held = pd.DataFrame(session.execute(
        select(Order.retailer_id, Order.version, Order.body_sha256).join(stage, mine)
        .order_by(Order.retailer_id).with_for_update(of=Order.__table__)).all(),
        columns=["retailer_id", "version", "digest"]).set_index("retailer_id")
    old = orders["retailer_id"].map(held["digest"])
    is_new = orders["retailer_id"].isin(created).to_numpy()
    is_replaced = (~is_new) & (old != orders["digest"]).to_numpy()
    changed = and_(mine, Order.body_sha256 != stage.c.digest)
    session.execute(delete(OrderLine).where(OrderLine.cycle_id == cycle.id, OrderLine.retailer_id.in_(
        select(stage.c.retailer_id).join(Order, changed))))
    session.execute(update(Order).where(changed).values(
        version=Order.version + 1, channel=stage.c.channel, body_sha256=stage.c.digest, total=stage.c.total,
        submitted_by=user, submitted_at=now, approved_version=None, approved_by=None, approved_at=None),
        execution_options={"synchronize_session": False})
    write = orders[is_new | is_replaced]
    versions = np.where(is_new, 1, orders["retailer_id"].map(held["version"]).fillna(0).to_numpy() + 1)
    versions = versions[is_new | is_replaced].astype(int)
    keep = lines["retailer_id"].isin(write["retailer_id"])
    if pg:
        copy_lines(session, cycle.id, principal.company_id, lines.loc[keep])
    else:
        bulk_insert(session, OrderLine.__table__, ["cycle_id", "retailer_id", "brand_code", "company_id", "quantity"],
                    ((cycle.id, r, b, principal.company_id, int(q)) for r, b, q in
                     lines.loc[keep, ["retailer_id", "brand_code", "quantity"]].itertuples(index=False, name=None)))
    bodies = iter(write["lines"]) if pg else (json.loads(x) for x in write["lines"])
    bulk_insert(session, OrderVersion.__table__,
                ["cycle_id", "retailer_id", "version", "channel", "lines", "submitted_by", "submitted_at"],
                ((cycle.id, r, int(v), ch, body, user, now) for r, v, ch, body in
                 zip(write["retailer_id"], versions, write["channel"], bodies)))
    stage.drop(session.connection())
    caps = dict(session.execute(select(Cap.retailer_id, Cap.cap).where(Cap.cycle_id == cycle.id)).all())
    cap = orders["retailer_id"].map(caps)
    counts = {"cycle_id": cycle.id, "orders": len(orders), "created": int(is_new.sum()),
              "replaced": int(is_replaced.sum()), "unchanged": int(len(orders) - is_new.sum() - is_replaced.sum()),
              "lines": len(lines), "warnings": int((cap.notna() & (orders["total"] > cap)).sum())}
    audit.record(session, principal, "order.import", "cycle", cycle.id, None, {**counts, "cycle_id": str(cycle.id)})
    session.flush()
    return counts
