"""CSV in and out for one allocation, shared by every method so a benchmark ratio measures the algorithm alone."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from allocation.problem import ProblemError
from allocation.rows import LINES_ATTR, RowFault

ID_COLUMNS = {
    "demand": ("retailer_id", "brand_code", "channel"),
    "supply": ("brand_code",),
    "caps": ("retailer_id", "weight"),
}
COUNT_COLUMNS = {"demand": ("quantity",), "supply": ("quantity",), "caps": ("cap",)}  # whole numbers, else the careful reader
OUTPUT_COLUMNS = ("retailer_id", "brand_code", "demanded", "allocated", "reason")
_CHUNK_ROWS = 1 << 18
_LINE_IN_PARSER_MESSAGE = re.compile(r"line (\d+)")


def _read_columnar(path: Path, source: str, names: list[str]) -> pd.DataFrame | None:
    """The file through pyarrow's multi-threaded reader: text columns as Arrow strings (no Python object per
    cell), counts as int64. None whenever the file is anything but plain, so the careful reader can word it."""
    if not names or len(set(names)) != len(names) or any(not n.strip() for n in names):
        return None
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    types = {n: pa.int64() if n.strip() in COUNT_COLUMNS[source] else pa.string() for n in names}
    try:
        table = pa_csv.read_csv(
            path, read_options=pa_csv.ReadOptions(use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False,
                                                  quoted_strings_can_be_null=False, include_columns=names))
    except (pa.ArrowException, OSError):
        return None
    if table.num_columns != len(names):
        return None
    return table.to_pandas()


def drop_blank_lines(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without the rows of blank lines; where there were any, attrs[LINES_ATTR] keeps each row's line."""
    with open(path, "rb") as fh:
        blank = [n for n, text in enumerate(fh, start=1) if n > 1 and not text.strip()]
    if not blank:
        return frame
    at = np.asarray(blank) - 2
    at = at[at < len(frame)]
    empty = frame.iloc[at].astype("string").fillna("").eq("").all(axis=1).to_numpy()
    keep = np.ones(len(frame), bool)
    keep[at[empty]] = False
    kept = frame[keep].reset_index(drop=True)
    kept.attrs[LINES_ATTR] = np.flatnonzero(keep) + 2
    return kept


def read_input(path: Path | str, source: str) -> pd.DataFrame:
    """One input file as a frame whose row i is file line i + 2 (or attrs[LINES_ATTR][i]); ids are read as text."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.readline().decode("utf-8-sig", errors="replace")
        names = next(csv.reader([head.rstrip("\r\n")]), [])
        frame = _read_columnar(path, source, names)
        if frame is None:
            dtype = {c: str for c in names if c.strip() in ID_COLUMNS[source]}
            frame = drop_blank_lines(path, pd.read_csv(path, dtype=dtype, keep_default_na=False, na_filter=False,
                                                           encoding="utf-8-sig", skip_blank_lines=False))
    except FileNotFoundError:
        raise ProblemError([RowFault(source, None, None, f"file not found: {path}")]) from None
    except pd.errors.EmptyDataError:
        raise ProblemError([RowFault(source, 1, None, "the file is empty; expected a header row")]) from None
    except pd.errors.ParserError as exc:
        m = _LINE_IN_PARSER_MESSAGE.search(str(exc))
        raise ProblemError([RowFault(source, int(m.group(1)) if m else None, None,
                                     f"not a well-formed CSV row ({str(exc).split(':')[-1].strip()})")]) from exc
    except UnicodeDecodeError as exc:
        raise ProblemError([RowFault(source, None, None,
                                     f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})")]) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def release_unused_memory() -> None:
    """Hand back to the system what Arrow's memory pool kept after the frames read through it were freed."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_inputs(demand: Path | str, supply: Path | str, caps: Path | str) -> tuple[pd.DataFrame, ...]:
    """The three inputs of one cycle, all read before any is judged so every file's faults are reported."""
    frames, faults = [], []
    for path, source in ((demand, "demand"), (supply, "supply"), (caps, "caps")):
        try:
            frames.append(read_input(path, source))
        except ProblemError as exc:
            faults.extend(exc.faults)
    if faults:
        raise ProblemError(faults)
    return tuple(frames)


_SPECIAL = re.compile(r'[,"\n\r]')


def _quote(text: str) -> str:
    if _SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _quoted(values) -> list[str]:
    """Each value as a CSV field; one search over all of them first, since ids almost never need quotes."""
    texts = [str(v) for v in values]
    return [_quote(t) for t in texts] if _SPECIAL.search("".join(texts)) else texts


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


class RowLayout:
    """Rows as padded fixed-width byte blocks, one span per column, squeezed of padding when written:
    a vectorised CSV writer whose columns can be rendered at different times."""

    def __init__(self, n_rows: int, tables: list[list[str]]):
        self.n_rows = n_rows
        last = len(tables) - 1
        self.tables = [_fixed_width(t, b"\n" if k == last else b",") for k, t in enumerate(tables)]
        self.spans, self.width = [], 0
        for table in self.tables:
            self.spans.append((self.width, self.width + table.shape[1]))
            self.width += table.shape[1]
        self.chunks = [(start, min(n_rows, start + _CHUNK_ROWS)) for start in range(0, n_rows, _CHUNK_ROWS)]

    def render(self, block: np.ndarray, start: int, columns: dict[int, np.ndarray]) -> None:
        """Fill the spans of the given columns (index -> codes into that column's texts) for one chunk."""
        stop = start + len(block)
        for k, codes in columns.items():
            a, b = self.spans[k]
            cell = np.dtype((np.void, b - a))  # one whole field per element: a gather of items, not of bytes
            block[:, a:b].view(cell)[:, 0] = self.tables[k].view(cell)[:, 0][codes[start:stop]]

    @staticmethod
    def squeezed(block: np.ndarray) -> bytes:
        flat = block.reshape(-1)
        return flat[flat != 0].tobytes()


def _write_rows(fh, frame: pd.DataFrame) -> None:
    """The frame's rows in chunks through a RowLayout; pandas writes the rare frame whose texts hold a NUL."""
    fields = [_tokens(frame[c]) for c in frame.columns]
    if any("\x00" in t for _, table in fields for t in table):
        frame.to_csv(fh, index=False, header=False, lineterminator="\n")
        return
    layout = RowLayout(len(frame), [table for _, table in fields])
    columns = {k: codes for k, (codes, _) in enumerate(fields)}
    for start, stop in layout.chunks:
        block = np.empty((stop - start, layout.width), np.uint8)
        layout.render(block, start, columns)
        fh.write(layout.squeezed(block))


def _header(columns) -> bytes:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(c) for c in columns])
    return header.getvalue().encode("utf-8")


def write_temp_beside(path: Path | str, write, durable: bool = True) -> Path:
    """Run write(fh) into a new temporary file beside path and return it, not yet in place; removed if write fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the placed file from other readers
    except BaseException:
        discard(tmp)
        raise
    return Path(tmp)


def discard(tmp: Path | str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def move_into_place(tmp: Path | str, path: Path | str, durable: bool = True) -> None:
    """Rename the finished temporary file onto its target, so the file appears whole or not at all."""
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    if durable:
        sync_dir(Path(path).parent)


def sync_dir(directory: Path) -> None:
    """Makes renames in a folder durable across a power cut where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_csv_atomic(path: Path | str, frame: pd.DataFrame, durable: bool = True) -> None:
    """Write to a temporary file beside the target and rename it, so the file appears whole or not at all."""

    def write(fh) -> None:
        fh.write(_header(frame.columns))
        _write_rows(fh, frame)

    move_into_place(write_temp_beside(path, write, durable), path, durable)


class AllocationsFile:
    """The allocations file's rows rendered a chunk at a time from integer codes, so 8 M rows never sit in memory
    as text at once; `lead` is a fixed first field (a run's id when the rows go to the database)."""

    def __init__(self, line_retailer: np.ndarray, retailer_ids, line_spec: np.ndarray, brand_codes,
                 demand: np.ndarray, reasons: tuple[str, ...], lead: str | None = None):
        top = int(demand.max()) if len(demand) else 0
        numbers = [str(i) for i in range(top + 1)]
        tables = [_quoted(retailer_ids), _quoted(brand_codes),
                  numbers, numbers, list(reasons)]
        self.first = 0 if lead is None else 1
        self.layout = RowLayout(len(demand), ([[_quote(lead)]] if lead is not None else []) + tables)
        self.fixed = {self.first: line_retailer, self.first + 1: line_spec, self.first + 2: demand}
        if lead is not None:
            self.fixed[0] = np.zeros(len(demand), np.int8)

    def chunks(self, allocated: np.ndarray, reason_codes: np.ndarray) -> Iterator[bytes]:
        """The rows as CSV bytes (no header), about a quarter of a million rows a chunk."""
        columns = {**self.fixed, self.first + 3: allocated, self.first + 4: reason_codes}
        buffer = np.empty((_CHUNK_ROWS, self.layout.width), np.uint8)
        for start, stop in self.layout.chunks:
            block = buffer[: stop - start]
            self.layout.render(block, start, columns)
            yield self.layout.squeezed(block)

    def write_temp(self, path: Path | str, allocated: np.ndarray, reason_codes: np.ndarray,
                   durable: bool = True) -> Path:
        """Every row, written to a temporary file, not yet in place, beside path."""

        def write(fh) -> None:
            fh.write(_header(OUTPUT_COLUMNS))
            for chunk in self.chunks(allocated, reason_codes):
                fh.write(chunk)

        return write_temp_beside(path, write, durable)


def write_allocations(path: Path | str, allocations: pd.DataFrame) -> None:
    """The allocations file of the contract, columns in contract order, written atomically."""
    write_csv_atomic(path, allocations.loc[:, list(OUTPUT_COLUMNS)])
