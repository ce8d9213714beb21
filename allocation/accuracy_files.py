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
from allocation.rows import Faults, RowFault, RowFaults, Whole, flag_numbers, whole_numbers

QUANTITY_COLUMNS = ["manager_id", "period", "brand_code", "quantity"]
BRAND_COLUMNS = ["brand_code", "name", "price_class", "wholesale_price", "is_key"]
PERIOD_COLUMNS = ["period", "start_date"]
# A manager's volume of one spec in one cycle: 10,000 cartons a line for up to 1,000 retailers.
MAX_QUANTITY = 10_000_000
TRUE_WORDS = {"1", "true"}
FALSE_WORDS = {"0", "false"}


class InputFileError(RowFaults):
    """Carries where an input is wrong so the command can tell the user exactly what to fix; path, line, column
    and problem are the first fault's."""

    @classmethod
    def one(cls, path: Path | str, problem: str, line: int | None = None, column: str | None = None):
        return cls([RowFault(str(path), line, column, problem)])

    path = property(lambda self: Path(self.first.file))
    line = property(lambda self: self.first.line)
    column = property(lambda self: self.first.column)
    problem = property(lambda self: self.first.message)


def _locate_parse_problem(path: Path) -> InputFileError:
    """Rescans a file the fast parser refused, to name the exact line whose field count is wrong."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for fields in reader:
            if fields and len(fields) > len(header):
                return InputFileError.one(
                    path, f"{len(fields)} fields where the header has {len(header)}", reader.line_num
                )
    return InputFileError.one(path, "not a readable CSV file")


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
        raise InputFileError.one(path, "file not found") from None
    except IsADirectoryError:
        raise InputFileError.one(path, "is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise InputFileError.one(path, f"not UTF-8 text (byte {exc.start})") from None
    except pd.errors.EmptyDataError:
        raise InputFileError.one(path, "empty file: no header row", 1) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        raise _locate_parse_problem(path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise InputFileError.one(path, f"missing required column(s) {', '.join(missing)} (found: {found})", 1)
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


def _flag(faults: Faults, frame: pd.DataFrame, bad: pd.Series, path: Path, column: str, problem) -> None:
    """One fault per bad row, at its file line; `problem(value)` words it from the row's value."""
    values = frame[column].to_numpy()
    faults.rows(str(path), column, bad.to_numpy(dtype=bool), lambda i: problem(values[i]),
                lines=frame["line"].to_numpy())


def require_text(faults: Faults, frame: pd.DataFrame, path: Path, column: str) -> None:
    """Refuses empty identifiers, which would silently merge unrelated rows."""
    _flag(faults, frame, _empty(frame[column]), path, column, lambda v: f"empty {column}")


def whole_quantity(faults: Faults, frame: pd.DataFrame, path: Path, column: str,
                   maximum: int = MAX_QUANTITY) -> pd.Series:
    """Parses whole cartons >= 0, refusing signs, decimals and text with a message per case."""
    values, kind = whole_numbers(frame[column], maximum)
    flag_numbers(faults, str(path), column, frame[column], kind, {
        Whole.EMPTY: "empty quantity",
        Whole.NOT_NUMBER: "{raw!r} is not a number of cartons",
        Whole.NOT_WHOLE: "{raw} is not a whole number of cartons",
        Whole.NEGATIVE: "{raw} is negative; quantities are whole cartons >= 0",
        Whole.ABOVE: f"{{raw}} is above the maximum {maximum:,}",
    }, lines=frame["line"].to_numpy())
    return pd.Series(values, index=frame.index, name=column)


def refuse_duplicates(faults: Faults, frame: pd.DataFrame, path: Path, keys: list[str]) -> None:
    """Refuses a repeated key, since summing or picking one would hide a data error from the auditor."""
    repeated = frame.duplicated(keys, keep="first").to_numpy()
    if not repeated.any():
        return
    first_line = frame.groupby(keys, sort=False)["line"].transform("first").to_numpy()
    rows = frame[keys].to_numpy()

    def say(i: int) -> str:
        key = ", ".join(f"{k}={v!r}" for k, v in zip(keys, rows[i]))
        return f"duplicate key ({key}), first given on line {first_line[i]}"

    faults.rows(str(path), keys[-1], repeated, say, lines=frame["line"].to_numpy())


def read_quantities(path: Path, brand_codes: Collection[str] | None = None) -> pd.DataFrame:
    """Reads a forecasts or actuals file: one row per (manager_id, period, brand_code), whole quantity.

    ``brand_codes`` (the brands file's specs) refuses a spec the company does not carry.
    """
    path = Path(path)
    frame = read_table(path, QUANTITY_COLUMNS)
    faults = Faults()
    for column in ("manager_id", "period", "brand_code"):
        require_text(faults, frame, path, column)
    quantity = whole_quantity(faults, frame, path, "quantity")
    refuse_duplicates(faults, frame, path, ["manager_id", "period", "brand_code"])
    if brand_codes is not None:
        known = frame["brand_code"].isin(pd.Index(list(brand_codes)))
        _flag(faults, frame, ~known, path, "brand_code", lambda v: f"{v!r} is not a spec in the brands file")
    faults.raise_if_any(InputFileError)
    return frame[QUANTITY_COLUMNS[:3]].assign(quantity=quantity)


def read_brands(path: Path) -> pd.DataFrame:
    """Reads the specs and their key-brand flag, the only brand facts accuracy needs."""
    path = Path(path)
    frame = read_table(path, BRAND_COLUMNS)
    faults = Faults()
    require_text(faults, frame, path, "brand_code")
    refuse_duplicates(faults, frame, path, ["brand_code"])
    flag = frame["is_key"].str.lower()
    _flag(faults, frame, ~flag.isin(TRUE_WORDS | FALSE_WORDS), path, "is_key",
          lambda v: f"{v!r} is not one of 1, 0, true, false")
    faults.raise_if_any(InputFileError)
    return frame.drop(columns="line").assign(is_key=flag.isin(TRUE_WORDS))


def read_period_starts(path: Path) -> dict[str, date]:
    """Reads each cycle's start date, which decides the month or quarter the cycle belongs to."""
    path = Path(path)
    frame = read_table(path, PERIOD_COLUMNS)
    faults = Faults()
    require_text(faults, frame, path, "period")
    refuse_duplicates(faults, frame, path, ["period"])
    parsed = pd.to_datetime(frame["start_date"], format="%Y-%m-%d", errors="coerce")
    _flag(faults, frame, parsed.isna(), path, "start_date", lambda v: f"{v!r} is not a date YYYY-MM-DD")
    faults.raise_if_any(InputFileError)
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
