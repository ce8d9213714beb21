"""CSV in and out for one allocation, shared by every method so a benchmark ratio measures the algorithm alone."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from allocation.problem import ProblemError

ID_COLUMNS = {
    "demand": ("retailer_id", "brand_code", "channel"),
    "supply": ("brand_code",),
    "caps": ("retailer_id", "weight"),
}
OUTPUT_COLUMNS = ("retailer_id", "brand_code", "demanded", "allocated", "reason")
_CHUNK_ROWS = 1 << 18
_LINE_IN_PARSER_MESSAGE = re.compile(r"line (\d+)")


def read_frame(path: Path | str, source: str) -> pd.DataFrame:
    """One input file as a frame whose row i is file line i + 2; identifiers are read as text."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.readline().decode("utf-8-sig", errors="replace")
        names = next(csv.reader([head.rstrip("\r\n")]), [])
        dtype = {c: str for c in names if c.strip() in ID_COLUMNS[source]}
        frame = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_filter=False,
                            encoding="utf-8-sig", skip_blank_lines=True)
    except FileNotFoundError:
        raise ProblemError([{"input": source, "line": None, "column": None, "message": f"file not found: {path}"}]) from None
    except pd.errors.EmptyDataError:
        raise ProblemError([{"input": source, "line": 1, "column": None,
                             "message": "the file is empty; expected a header row"}]) from None
    except pd.errors.ParserError as exc:
        m = _LINE_IN_PARSER_MESSAGE.search(str(exc))
        raise ProblemError([{"input": source, "line": int(m.group(1)) if m else None, "column": None,
                             "message": f"not a well-formed CSV row ({str(exc).split(':')[-1].strip()})"}]) from exc
    except UnicodeDecodeError as exc:
        raise ProblemError([{"input": source, "line": None, "column": None,
                             "message": f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"}]) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_inputs(demand: Path | str, supply: Path | str, caps: Path | str) -> tuple[pd.DataFrame, ...]:
    """The three inputs of one cycle, all read before any is judged so every file's faults are reported."""
    frames, errors = [], []
    for path, source in ((demand, "demand"), (supply, "supply"), (caps, "caps")):
        try:
            frames.append(read_frame(path, source))
        except ProblemError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ProblemError(errors)
    return tuple(frames)


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tokens(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes into a small table of CSV-ready texts: ids repeat and counts are small, so rows become lookups."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), [_quote(str(c)) for c in column.cat.categories]
    if pd.api.types.is_integer_dtype(column.dtype) and len(column):
        v = column.to_numpy(dtype=np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 1_000_000:
            return v - lo, [str(i) for i in range(lo, hi + 1)]
    codes, uniques = pd.factorize(column)
    return codes, [_quote("" if pd.isna(u) else str(u)) for u in uniques]


def _fixed_width(texts: list[str], suffix: bytes) -> np.ndarray:
    enc = [t.encode("utf-8") + suffix for t in texts] or [suffix]
    width = max(map(len, enc))
    return np.array(enc, dtype=f"S{width}").view(np.uint8).reshape(len(enc), width)


def _write_rows(fh, frame: pd.DataFrame) -> None:
    """Rows as padded fixed-width byte blocks with the padding squeezed out: a vectorised CSV writer."""
    fields = [_tokens(frame[c]) for c in frame.columns]
    if any("\x00" in t for _, table in fields for t in table):
        frame.to_csv(fh, index=False, header=False, lineterminator="\n")
        return
    tables = [_fixed_width(table, b"\n" if k == len(fields) - 1 else b",")
              for k, (_, table) in enumerate(fields)]
    width = sum(t.shape[1] for t in tables)
    n = len(frame)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        block = np.empty((stop - start, width), np.uint8)
        at = 0
        for table, (codes, _) in zip(tables, fields):
            w = table.shape[1]
            block[:, at:at + w] = table[codes[start:stop]]
            at += w
        flat = block.reshape(-1)
        fh.write(flat[flat != 0].tobytes())


def write_csv_atomic(path: Path | str, frame: pd.DataFrame, durable: bool = True) -> None:
    """Write to a temporary file beside the target and rename it, so the file appears whole or not at all."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow([str(c) for c in frame.columns])
            fh.write(header.getvalue().encode("utf-8"))
            _write_rows(fh, frame)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_allocations(path: Path | str, allocations: pd.DataFrame) -> None:
    """The allocations file of the contract, columns in contract order, written atomically."""
    write_csv_atomic(path, allocations.loc[:, list(OUTPUT_COLUMNS)])
