"""Reads and checks the forecasts, actuals and brands files, and writes the accuracy files whole or
not at all, so an auditor never scores a half-read input or reads a half-written result.

Errors name the file, the line (the header is line 1) and the column, and say what is wrong.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Collection, Mapping
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from allocation.files import sync_dir, write_temp_beside

QUANTITY_COLUMNS = ["manager_id", "period", "brand_code", "quantity"]
BRAND_COLUMNS = ["brand_code", "name", "price_class", "wholesale_price", "is_key"]
PERIOD_COLUMNS = ["period", "start_date"]
# A manager's volume of one spec in one cycle: 10,000 cartons a line for up to 1,000 retailers.
MAX_QUANTITY = 10_000_000
TRUE_WORDS = {"1", "true"}
FALSE_WORDS = {"0", "false"}
SHOWN_PROBLEMS = 3


class InputFileError(ValueError):
    """Carries where an input is wrong so the command can tell the user exactly what to fix."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None, column: str | None = None):
        self.path, self.problem, self.line, self.column = Path(path), problem, line, column
        where = [str(path)]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}")


def _locate_parse_problem(path: Path) -> InputFileError:
    """Rescans a file the fast parser refused, to name the exact line whose field count is wrong."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for fields in reader:
            if fields and len(fields) > len(header):
                return InputFileError(
                    path, f"{len(fields)} fields where the header has {len(header)}", reader.line_num
                )
    return InputFileError(path, "not a readable CSV file")


def read_table(path: Path, required: Collection[str]) -> pd.DataFrame:
    """Reads every field as text (ids keep leading zeros), with a ``line`` column for messages."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8-sig",
            )
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text (byte {exc.start})") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "empty file: no header row", 1) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        raise _locate_parse_problem(path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise InputFileError(path, f"missing required column(s) {', '.join(missing)} (found: {found})", 1)
    frame = frame.apply(lambda col: by_distinct(col, lambda u: u.str.strip()))
    frame["line"] = np.arange(2, len(frame) + 2)
    blank = np.logical_and.reduce([_empty(frame[c]).to_numpy() for c in frame.columns if c != "line"])
    return frame[~blank].reset_index(drop=True)


def by_distinct(column: pd.Series, fn) -> pd.Series:
    """Applies a string function once per distinct value: ids, periods and quantities repeat a lot,
    and pandas string methods without pyarrow run a Python loop per value."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    mapped = fn(pd.Series(distinct, dtype=column.dtype)).to_numpy()
    return pd.Series(mapped[codes], index=column.index, name=column.name)


def _empty(column: pd.Series) -> pd.Series:
    """Finds empty fields without comparing every repeated value."""
    return by_distinct(column, lambda u: u == "").astype(bool)


def _fail_first(frame: pd.DataFrame, bad: pd.Series, path: Path, column: str, problem) -> None:
    """Raises for the first bad row, saying how many more rows share the problem."""
    if not bad.any():
        return
    positions = np.flatnonzero(bad.to_numpy())
    first = frame.iloc[positions[0]]
    text = problem(first[column])
    if len(positions) > 1:
        lines = ", ".join(str(n) for n in frame["line"].iloc[positions[1 : 1 + SHOWN_PROBLEMS]])
        more = "" if len(positions) <= 1 + SHOWN_PROBLEMS else ", ..."
        text += f" (also on {len(positions) - 1} more line(s): {lines}{more})"
    raise InputFileError(path, text, int(first["line"]), column)


def require_text(frame: pd.DataFrame, path: Path, column: str) -> None:
    """Refuses empty identifiers, which would silently merge unrelated rows."""
    _fail_first(frame, _empty(frame[column]), path, column, lambda v: f"empty {column}")


def whole_quantity(frame: pd.DataFrame, path: Path, column: str, maximum: int = MAX_QUANTITY) -> pd.Series:
    """Parses whole cartons >= 0, refusing signs, decimals and text with a message per case."""
    text = frame[column]
    digits = by_distinct(text, lambda u: u.str.fullmatch(r"[0-9]+")).astype(bool)

    def why(value: str) -> str:
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number of cartons" if value else "empty quantity"
        if number < 0:
            return f"{value} is negative; quantities are whole cartons >= 0"
        return f"{value} is not a whole number of cartons"

    _fail_first(frame, ~digits, path, column, why)
    too_long = by_distinct(text, lambda u: u.str.lstrip("0").str.len() > len(str(maximum))).astype(bool)
    _fail_first(frame, too_long, path, column, lambda v: f"{v} is above the maximum {maximum:,}")
    quantity = by_distinct(text, lambda u: u.astype("int64")).astype("int64")
    _fail_first(frame, quantity > maximum, path, column, lambda v: f"{v} is above the maximum {maximum:,}")
    return quantity


def refuse_duplicates(frame: pd.DataFrame, path: Path, keys: list[str]) -> None:
    """Refuses a repeated key, since summing or picking one would hide a data error from the auditor."""
    repeated = frame.duplicated(keys, keep="first")
    if not repeated.any():
        return
    pos = int(np.flatnonzero(repeated.to_numpy())[0])
    row = frame.iloc[pos]
    earlier = frame[(frame[keys] == row[keys]).all(axis=1)]["line"].iloc[0]
    key = ", ".join(f"{k}={row[k]!r}" for k in keys)
    raise InputFileError(
        path, f"duplicate key ({key}), first given on line {earlier}", int(row["line"]), keys[-1]
    )


def read_quantities(path: Path, brand_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Reads a forecasts or actuals file: one row per (manager_id, period, brand_code), whole quantity.

    ``brand_codes`` (the brands file's specs) refuses a spec the company does not carry.
    """
    path = Path(path)
    frame = read_table(path, QUANTITY_COLUMNS)
    for column in ("manager_id", "period", "brand_code"):
        require_text(frame, path, column)
    quantity = whole_quantity(frame, path, "quantity")
    refuse_duplicates(frame, path, ["manager_id", "period", "brand_code"])
    if brand_codes is not None:
        known = frame["brand_code"].isin(pd.Index(list(brand_codes)))
        _fail_first(frame, ~known, path, "brand_code", lambda v: f"{v!r} is not a spec in the brands file")
    return frame[QUANTITY_COLUMNS[:3]].assign(quantity=quantity)


def read_brands(path: Path) -> pd.DataFrame:
    """Reads the specs and their key-brand flag, the only brand facts accuracy needs."""
    path = Path(path)
    frame = read_table(path, BRAND_COLUMNS)
    require_text(frame, path, "brand_code")
    refuse_duplicates(frame, path, ["brand_code"])
    flag = frame["is_key"].str.lower()
    _fail_first(
        frame,
        ~flag.isin(TRUE_WORDS | FALSE_WORDS),
        path,
        "is_key",
        lambda v: f"{v!r} is not one of 1, 0, true, false",
    )
    return frame.drop(columns="line").assign(is_key=flag.isin(TRUE_WORDS))


def read_period_starts(path: Path) -> dict[str, date]:
    """Reads each cycle's start date, which decides the month or quarter the cycle belongs to."""
    path = Path(path)
    frame = read_table(path, PERIOD_COLUMNS)
    require_text(frame, path, "period")
    refuse_duplicates(frame, path, ["period"])
    parsed = pd.to_datetime(frame["start_date"], format="%Y-%m-%d", errors="coerce")
    _fail_first(frame, parsed.isna(), path, "start_date", lambda v: f"{v!r} is not a date YYYY-MM-DD")
    return dict(zip(frame["period"], parsed.dt.date, strict=True))


def write_files(out_dir: Path, files: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Writes every file to a temporary name first and renames them only when all are written, so a
    reader sees the whole set or none of it (empty figures are empty cells)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    placed: list[Path] = []
    try:
        for name, frame in files.items():
            temps[name] = write_temp_beside(out_dir / name, partial(_write_csv, frame))
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
            placed.append(out_dir / name)
    except BaseException:
        for path in [*temps.values(), *placed]:
            path.unlink(missing_ok=True)
        raise
    sync_dir(out_dir)
    return placed


def _write_csv(frame: pd.DataFrame, fh) -> None:
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    try:
        frame.to_csv(text, index=False, lineterminator="\n", na_rep="")
        text.flush()
    finally:
        text.detach()  # the binary file stays open for the caller to sync and close
