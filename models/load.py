"""Loading master data CSVs: validated whole first, then written in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, text
from sqlmodel import Session

from allocation.files import drop_blank_lines
from allocation.rows import LINES_ATTR, Faults, RowFault, Whole, flag_numbers, listing, whole_numbers
from allocation.vocabulary import LINE_MAX, TIER_MAX, TIER_MIN, MarketType, RetailerStatus, SizeClass, values
from models.db import copy_frame, upsert
from models.errors import Invalid
from models.compliance import forget_kept
from models.supply_plan import forget_projections
from models.tables import Brand, History, Manager, Retailer

SPECS = {
    "managers": (["manager_id", "name", "market_manager_id"], []),
    "retailers": (["retailer_id", "name", "manager_id", "tier", "market_type", "business_format", "route_id",
                   "delivery_weekday"], ["size_class", "status", "order_every_weeks"]),
    "brands": (["brand_code", "name", "price_class", "wholesale_price", "is_key"], ["brand", "is_scarce"]),
    "history": (["retailer_id", "period", "brand_code", "quantity"], []),
}
TRUE, FALSE = {"1", "true", "True", "TRUE"}, {"0", "false", "False", "FALSE", ""}


class LoadError(Invalid):
    """Every problem found in the files, each naming file, line and column."""

    def __init__(self, faults: list[RowFault], total: int | None = None):
        total = max(total or 0, len(faults))
        super().__init__(listing(faults, total), "invalid_file")


class _Checker:
    """The checks the master-data files share; each fault lands in `faults` at its file line."""

    def __init__(self, faults: Faults, name: str, df: pd.DataFrame):
        self.faults, self.file, self.df = faults, f"{name}.csv", df

    def flag(self, mask: pd.Series, column: str | None, message: str) -> None:
        self.faults.rows(self.file, column, mask.to_numpy(dtype=bool), message)

    def required(self, column: str) -> None:
        blank = self.df[column].fillna("").str.strip() == ""
        self.flag(blank, column, "is empty; a value is required")

    def integer(self, column: str, lo: int, hi: int, default: int | None = None) -> pd.Series:
        raw = self.df[column]
        if default is not None:
            raw = raw.replace("", str(default))
        values, kind = whole_numbers(raw, hi, minimum=lo, decimals_ok=True)
        outside = f"must be from {lo} to {hi}"
        flag_numbers(self.faults, self.file, column, raw, kind, {
            Whole.NOT_WHOLE: f"must be a whole number from {lo} to {hi}",
            Whole.NEGATIVE: outside, Whole.BELOW: outside, Whole.ABOVE: outside})
        return pd.Series(values, index=raw.index)

    def choice(self, column: str, allowed: tuple[str, ...], default: str | None = None) -> pd.Series:
        raw = self.df[column].fillna(default or "").str.strip()
        if default is not None:
            raw = raw.replace("", default)
        self.flag(~raw.isin(allowed), column, f"must be one of {', '.join(allowed)}")
        return raw

    def unique(self, columns: list[str]) -> None:
        dup = self.df.duplicated(columns, keep="first")
        self.flag(dup, "/".join(columns), f"duplicate key ({', '.join(columns)}) already given on an earlier line")


def read_csv(path: Path, name: str) -> pd.DataFrame:
    """Read every column as text so identifiers keep their leading zeros."""
    required, optional = SPECS[name]
    try:
        df = drop_blank_lines(path, pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                                skip_blank_lines=False))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError([RowFault(f"{name}.csv", None, None, f"cannot be read as UTF-8 CSV with a header row ({exc})")]) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise LoadError([RowFault(f"{name}.csv", 1, None, f"missing required column(s) {', '.join(missing)}")])
    for col in optional:
        if col not in df.columns:
            df[col] = ""
    lines = df.attrs.get(LINES_ATTR)
    df = df[required + optional].reset_index(drop=True)
    if lines is not None:
        df.attrs[LINES_ATTR] = lines
    return df


def _managers(faults: Faults, df: pd.DataFrame) -> list[dict]:
    c = _Checker(faults, "managers", df)
    c.required("manager_id")
    c.required("name")
    c.unique(["manager_id"])
    return [{"manager_id": m, "name": n, "market_manager_id": mm or None}
            for m, n, mm in zip(df.manager_id.str.strip(), df.name, df.market_manager_id.str.strip())]


def _retailers(faults: Faults, df: pd.DataFrame, known_managers: set[str]) -> list[dict]:
    c = _Checker(faults, "retailers", df)
    for col in ("retailer_id", "name", "manager_id", "business_format", "route_id"):
        c.required(col)
    c.unique(["retailer_id"])
    tier = c.integer("tier", TIER_MIN, TIER_MAX)
    weekday = c.integer("delivery_weekday", 1, 7)
    every = c.integer("order_every_weeks", 1, 4, default=1)
    market = c.choice("market_type", values(MarketType))
    status = c.choice("status", values(RetailerStatus), default=RetailerStatus.ACTIVE.value)
    given = df.size_class.fillna("").str.strip()
    c.flag((given != "") & ~given.isin(values(SizeClass)), "size_class", f"must be one of {', '.join(SizeClass)}")
    size = pd.Series(np.where(given.to_numpy() == "", None, given.to_numpy()), index=given.index, dtype=object)
    manager = df.manager_id.str.strip()
    c.flag((manager != "") & ~manager.isin(known_managers), "manager_id", "names no known account manager")
    out = pd.DataFrame({
        "retailer_id": df.retailer_id.str.strip(), "name": df.name, "manager_id": manager, "tier": tier,
        "market_type": market, "business_format": df.business_format.str.strip(),
        "route_id": df.route_id.str.strip(), "delivery_weekday": weekday, "size_class": size,
        "status": status, "order_every_weeks": every,
    })
    return out.to_dict("records")


def _brands(faults: Faults, df: pd.DataFrame) -> list[dict]:
    c = _Checker(faults, "brands", df)
    c.required("brand_code")
    c.required("name")
    c.unique(["brand_code"])
    price_class = c.integer("price_class", 1, 5)
    raw_price = df.wholesale_price.str.strip()
    ok = raw_price.str.fullmatch(r"\d+(\.\d{1,2})?")
    c.flag(~ok, "wholesale_price", "must be a non-negative amount with at most 2 decimals")
    flags = {}
    for col in ("is_key", "is_scarce"):
        raw = df[col].fillna("").str.strip()
        c.flag(~raw.isin(TRUE | FALSE), col, "must be 1/0 or true/false")
        flags[col] = raw.isin(TRUE)
    out = pd.DataFrame({
        "brand_code": df.brand_code.str.strip(), "name": df.name, "brand": df.brand.fillna(""),
        "price_class": price_class, "wholesale_price": raw_price.where(ok, "0").map(Decimal),
        "is_key": flags["is_key"], "is_scarce": flags["is_scarce"],
    })
    return out.to_dict("records")


def _history(faults: Faults, df: pd.DataFrame, retailers: set[str]) -> pd.DataFrame:
    c = _Checker(faults, "history", df)
    for col in ("retailer_id", "period", "brand_code"):
        c.flag(df[col] == "", col, "is empty; a value is required")
    qty = c.integer("quantity", 0, LINE_MAX)
    c.flag(~df.retailer_id.isin(retailers), "retailer_id", "names no known retailer")
    c.unique(["retailer_id", "period", "brand_code"])
    return pd.DataFrame({"retailer_id": df.retailer_id, "period": df.period, "brand_code": df.brand_code,
                         "quantity": qty})


def load_dir(session: Session, company_id: int, directory: Path,
             progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Validate every file found in directory, then upsert them; raises LoadError and writes nothing on any problem."""
    directory = Path(directory)
    found = {name: directory / f"{name}.csv" for name in SPECS if (directory / f"{name}.csv").exists()}
    if not found:
        raise LoadError([RowFault(str(directory), None, None,
                                   "none of managers.csv, retailers.csv, brands.csv, history.csv found")])
    say = progress or (lambda _step, _n: None)
    frames = {name: read_csv(path, name) for name, path in found.items()}
    faults = Faults(*(f"{name}.csv" for name in SPECS))
    for name, frame in frames.items():
        if LINES_ATTR in frame.attrs:
            faults.number_lines(f"{name}.csv", frame.attrs[LINES_ATTR])
    counts: dict[str, int] = {}

    def db_ids(column, model):
        return set(session.execute(select(column).where(model.company_id == company_id)).scalars())

    managers = retailers = brands = None
    if "managers" in frames:
        managers = _managers(faults, frames["managers"])
    known_managers = db_ids(Manager.manager_id, Manager) | {m["manager_id"] for m in managers or []}
    if "retailers" in frames:
        retailers = _retailers(faults, frames["retailers"], known_managers)
    if "brands" in frames:
        brands = _brands(faults, frames["brands"])
    history = None
    if "history" in frames:
        known_r = db_ids(Retailer.retailer_id, Retailer) | {r["retailer_id"] for r in retailers or []}
        history = _history(faults, frames["history"], known_r)
    faults.raise_if_any(LoadError)

    for name, rows, table, keys in (("managers", managers, Manager, ["company_id", "manager_id"]),
                                    ("brands", brands, Brand, ["company_id", "brand_code"]),
                                    ("retailers", retailers, Retailer, ["company_id", "retailer_id"])):
        if rows is not None:
            for r in rows:
                r["company_id"] = company_id
            counts[name] = upsert(session, table.__table__, rows, keys)
            say(name, counts[name])
    if history is not None:
        # the file is the truth for the periods it covers: replace those periods whole
        periods = sorted(history.period.unique())
        for start in range(0, len(periods), 500):
            session.execute(delete(History).where(History.company_id == company_id,
                                                  History.period.in_(periods[start:start + 500])))
        history.insert(0, "company_id", company_id)
        counts["history"] = copy_frame(session, History.__table__, history)
        forget_projections(session, company_id)
        forget_kept(session, company_id)
        say("history", counts["history"])
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # fresh planner statistics: without them the first queries over new rows pick sequential scans
        session.execute(text("ANALYZE manager, retailer, brand, history"))
    return counts
