"""One way to check the rows of a CSV, so every file the service reads reports its faults alike.

A fault names its file, its line (the header is line 1) and its column. A check flags every row at fault;
the first MAX_REPORTED of each check are kept with their place and all are counted, so a broken file of
millions of rows stays cheap to check. A message for a person lists the first MAX_SHOWN faults and counts
the rest; an answer for a program (the order import's 422) carries every kept fault.

Whole numbers (quantities, caps, tiers) have one parser, `whole_numbers`, which names the fault of each bad
cell so each file keeps its own words for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pandas as pd

LINES_ATTR = "file_lines"  # key in a frame's attrs: each row's file line, where the reader dropped blank lines
MAX_REPORTED = 1000  # faults of one check kept with their line; more are only counted
MAX_SHOWN = 50  # faults a message for a person lists before "... and N more"
_LARGEST = 2**62  # above this a cell is too large even without a stated maximum (int64 arithmetic stays exact)


@dataclass(frozen=True)
class RowFault:
    """One fault: where (file, line, column) and what, in words a person can act on."""

    file: str
    line: int | None
    column: str | None
    message: str

    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def listing(faults: Iterable[RowFault | str], total: int, shown: int = MAX_SHOWN) -> str:
    """The first `shown` faults one per line, then how many more there are."""
    lines = [str(f) for f in faults][:shown]
    if total > len(lines):
        lines.append(f"... and {total - len(lines)} more")
    return "\n".join(lines)


class RowFaults(ValueError):
    """Every fault found in some files at once, so a user fixes a file in one pass, not fifty: the kept faults in
    file and line order, and how many there are in all."""

    def __init__(self, faults: Iterable[RowFault], total: int | None = None):
        self.faults = list(faults)
        self.total = max(total or 0, len(self.faults))
        super().__init__(listing(self.faults, self.total))

    @property
    def first(self) -> RowFault:
        return self.faults[0]


class Faults:
    """Collects the faults of one or more files: the first MAX_REPORTED of each check kept, every one counted."""

    def __init__(self, *files: str):
        self.faults: list[RowFault] = []
        self.total = 0
        self._rank = {name: k for k, name in enumerate(files)}  # report files in this order
        self._lines: dict[str, np.ndarray] = {}

    def number_lines(self, file: str, lines: np.ndarray) -> None:
        """Row i of `file` sits at file line lines[i] (its blank lines were dropped), not at line i + 2."""
        self._lines[file] = np.asarray(lines)

    def line(self, file: str, i: int) -> int:
        """The file line of row position i."""
        lines = self._lines.get(file)
        return int(lines[i]) if lines is not None else i + 2

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.total += 1
        self.faults.append(RowFault(file, line, column, message))

    def rows(self, file: str, column: str | None, rows, message: str | Callable[[int], str],
             lines: np.ndarray | None = None) -> int:
        """One fault per flagged row (a boolean mask or positions); `message(i)` words it for row position i.

        Row i is at `self.line(file, i)` unless `lines` gives each row's line.
        """
        rows = np.asarray(rows)
        positions = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64, copy=False)
        self.total += len(positions)
        for i in positions[:MAX_REPORTED].tolist():
            line = int(lines[i]) if lines is not None else self.line(file, i)
            self.faults.append(RowFault(file, line, column, message(i) if callable(message) else message))
        return len(positions)

    def sorted(self) -> list[RowFault]:
        """The kept faults by file (in the order given), then line; a line's faults in the order found."""
        return sorted(self.faults, key=lambda f: (self._rank.get(f.file, len(self._rank)), f.line or 0))

    def raise_if_any(self, error: Callable[[list[RowFault], int], Exception] = RowFaults) -> None:
        if self.total:
            raise error(self.sorted(), self.total)


class Whole(IntEnum):
    """What is wrong with a cell that should hold a whole number (OK: nothing)."""

    OK = 0
    EMPTY = 1
    NOT_NUMBER = 2
    NOT_WHOLE = 3
    NEGATIVE = 4
    BELOW = 5
    ABOVE = 6


def _kind_of_text(text: str, minimum: int, maximum: int | None, decimals_ok: bool) -> tuple[int, int]:
    """(value, fault) of one distinct cell."""
    t = text.strip()
    if t == "":
        return 0, Whole.EMPTY
    if t.isdecimal():
        value = int(t)
    else:
        try:
            number = float(t) if "_" not in t else float("nan")
        except ValueError:
            number = float("nan")
        if np.isnan(number):
            return 0, Whole.NOT_NUMBER
        if np.isinf(number):
            return 0, Whole.NEGATIVE if number < 0 else Whole.ABOVE
        if number != np.floor(number):
            return 0, Whole.NOT_WHOLE
        if number < 0:
            return 0, Whole.NEGATIVE
        if not decimals_ok:
            return 0, Whole.NOT_WHOLE
        value = int(number)
    if value < minimum:
        return 0, Whole.BELOW
    if value > (_LARGEST if maximum is None else maximum):
        return 0, Whole.ABOVE
    return value, Whole.OK


def whole_numbers(column: pd.Series, maximum: int | None, minimum: int = 0,
                  decimals_ok: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each cell as a whole number in [minimum, maximum] and its fault (a `Whole` code; 0 where bad).

    Text is read once per distinct value (quantities repeat a lot): digits, with surrounding blanks allowed;
    `decimals_ok` also takes numbers written with a point or an exponent whose value is whole ("5.0",
    "1e3"). A column pandas already parsed as numbers is judged by value.
    """
    if column.dtype.kind in "iu":  # the common case of a file pandas read as integers: no float detour
        v = column.to_numpy()
        kind = np.zeros(len(v), np.int8)
        kind[v < 0] = Whole.NEGATIVE
        if minimum > 0:
            kind[(v >= 0) & (v < minimum)] = Whole.BELOW
        if maximum is not None:
            kind[v > maximum] = Whole.ABOVE
        if not kind.any():
            return v.astype(np.int64, copy=False), kind
        return np.where(kind == Whole.OK, v, 0).astype(np.int64), kind
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        num = column.to_numpy(dtype=np.float64, na_value=np.nan)
        kind = np.full(len(num), Whole.OK, np.int8)
        finite = np.isfinite(num)
        kind[np.isnan(num)] = Whole.EMPTY
        kind[finite & (np.floor(num) != num)] = Whole.NOT_WHOLE
        kind[(num < 0) & (kind == Whole.OK)] = Whole.NEGATIVE
        kind[np.isinf(num) & (kind == Whole.OK)] = Whole.ABOVE
        kind[(num >= 0) & (num < minimum) & (kind == Whole.OK)] = Whole.BELOW
        if maximum is not None:
            kind[(num > maximum) & (kind == Whole.OK)] = Whole.ABOVE
        value = np.where(kind == Whole.OK, np.nan_to_num(num), 0).astype(np.int64)
        return value, kind
    codes, distinct = pd.factorize(column)  # a missing cell's code is -1: read below as the empty text
    parsed = [_kind_of_text(str(t), minimum, maximum, decimals_ok) for t in distinct] + [(0, Whole.EMPTY)]
    values = np.fromiter((v for v, _ in parsed), np.int64, len(parsed))
    kinds = np.fromiter((k for _, k in parsed), np.int8, len(parsed))
    return values[codes], kinds[codes]


def flag_numbers(faults: Faults, file: str, column: str, raw: pd.Series, kind: np.ndarray,
                 words: Mapping[Whole, str], lines: np.ndarray | None = None) -> None:
    """Report the bad cells of a `whole_numbers` column, each kind of fault in the file's own words.

    A word may use {raw} (the cell as written), {text} (the same without surrounding blanks) and {column}; a
    kind missing from `words` takes the NOT_WHOLE one (or NOT_NUMBER's).
    """
    cells = raw.to_numpy()

    def word(template: str, i: int) -> str:
        cell = cells[i]
        return template.format(raw=cell, text=cell.strip() if isinstance(cell, str) else cell, column=column)

    for k in (Whole.EMPTY, Whole.NOT_NUMBER, Whole.NOT_WHOLE, Whole.NEGATIVE, Whole.BELOW, Whole.ABOVE):
        bad = kind == k
        if not bad.any():
            continue
        template = words.get(k) or words.get(Whole.NOT_WHOLE) or words[Whole.NOT_NUMBER]
        faults.rows(file, column, bad, lambda i, t=template: word(t, i), lines)
