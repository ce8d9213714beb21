"""`tobacco-alloc accuracy`: scores forecasts against actuals from files, so an auditor needs no database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from allocation.accuracy import POOLS, pooled, range_labels, score_cells, score_managers
from allocation.accuracy_files import (
    InputFileError,
    read_brands,
    read_period_starts,
    read_quantities,
    write_files,
)

BAD_INPUT = 2


def _fail(message: str) -> typer.Exit:
    """Sends the reason to stderr and gives the exit status scripts test for."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {message}", markup=False)
    return typer.Exit(code=BAD_INPUT)


def _percent(value: float) -> str:
    """Shows an empty figure as a dash rather than 'nan', which auditors would misread."""
    return "—" if pd.isna(value) else f"{value:.2%}"


def _ranking_table(scores: pd.DataFrame, period: str, top: int) -> Table:
    """Shows the head of one period's ranking; the full ranking is in the written file."""
    rows = scores[scores["period"] == period].head(top)
    table = Table(
        title=f"Forecast accuracy, {period} (top {len(rows)} of {(scores['period'] == period).sum()})"
    )
    for name, justify in [
        ("rank", "right"),
        ("manager", "left"),
        ("single-brand", "right"),
        ("total", "right"),
        ("key single-brand", "right"),
        ("key total", "right"),
        ("bias", "right"),
    ]:
        table.add_column(name, justify=justify)
    for row in rows.itertuples(index=False):
        bias = "—" if pd.isna(row.bias) else f"{row.bias:+.2%}"
        table.add_row(
            str(row.rank),
            str(row.manager_id),
            _percent(row.single_brand_accuracy),
            _percent(row.total_accuracy),
            _percent(row.key_single_brand_accuracy),
            _percent(row.key_total_accuracy),
            bias,
        )
    return table


def accuracy(
    forecasts: Annotated[Path, typer.Option("--forecasts", help="manager_id,period,brand_code,quantity")],
    actuals: Annotated[Path, typer.Option("--actuals", help="manager_id,period,brand_code,quantity")],
    brands: Annotated[
        Path, typer.Option("--brands", help="brand_code,name,price_class,wholesale_price,is_key")
    ],
    out: Annotated[Path, typer.Option("--out", help="directory for by_spec.csv and by_manager.csv")],
    pool: Annotated[
        str | None,
        typer.Option("--pool", help="also pool cycles by month, quarter or all into DIR/by_range.csv"),
    ] = None,
    periods: Annotated[
        Path | None,
        typer.Option(
            "--periods", help="period,start_date: needed by --pool month|quarter unless periods are dates"
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="ranking rows shown per table")] = 10,
) -> None:
    """Score account managers' forecasts per spec and per cycle, and rank them.

    Writes DIR/by_spec.csv and DIR/by_manager.csv, all or none.
    A (manager, period, spec) missing on one side counts 0 there.
    Ranks are per period, by single-brand accuracy rounded to 6 decimals;
    equal scores share the smaller rank (1, 1, 3).

    --pool month|quarter|all also writes DIR/by_range.csv, pooling cycles:
    a cycle belongs to the month (quarter) its start date falls in.
    A period that is an ISO date (YYYY-MM-DD) is its own start date;
    otherwise --periods gives a CSV with columns period,start_date.
    "all" pools every period into one range labelled "first..last".
    Pooling adds |A - F| over every (cycle, spec) cell: weeks never cancel.

    Prints the ranking of the last period, or of each range when pooling.
    Bad input: exit status 2, a message on stderr naming file, line and
    column, and no file written.
    """
    if pool is not None and pool not in POOLS:
        raise _fail(f"--pool {pool!r}: use one of {', '.join(POOLS)}")
    try:
        brand_frame = read_brands(brands)
        f = read_quantities(forecasts, brand_frame["brand_code"])
        a = read_quantities(actuals, brand_frame["brand_code"])
        starts = read_period_starts(periods) if periods is not None else None
    except InputFileError as exc:
        raise _fail(str(exc)) from None
    key = brand_frame.set_index("brand_code")["is_key"]
    by_spec = score_cells(f, a)
    by_manager = score_managers(by_spec, key)
    files = {"by_spec.csv": by_spec, "by_manager.csv": by_manager}
    by_range = None
    if pool is not None:
        try:
            group = range_labels(by_spec["period"], pool, starts)
        except ValueError as exc:
            source = periods if periods is not None else f"{forecasts} / {actuals}"
            raise _fail(f"{source}: {exc}") from None
        by_range = pooled(by_spec, key, group)
        files["by_range.csv"] = by_range
    try:
        written = write_files(out, files)
    except OSError as exc:
        raise _fail(f"{out}: cannot write the accuracy files ({exc.strerror or exc})") from None

    console = Console()
    shown = by_range if by_range is not None else by_manager
    labels = sorted(shown["period"].unique())
    for label in labels if by_range is not None else labels[-1:]:
        console.print(_ranking_table(shown, label, top))
    console.print(
        f"{len(by_spec):,} cells, {by_spec['manager_id'].nunique():,} managers, "
        f"{by_spec['period'].nunique():,} periods; wrote {', '.join(str(p) for p in written)}",
        markup=False,
        highlight=False,
    )
