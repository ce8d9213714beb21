"""Forecast and accuracy routes: managers forecast before orders open; auditors read how close they came."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from allocation.accuracy import BY_MANAGER_COLUMNS, BY_SPEC_COLUMNS
from allocation.vocabulary import Role
from api.deps import PageDep, SessionDep, require
from api.params import BrandFilter, CycleId, ManagerFilter, ManagerId, PERIOD_RULE, PeriodEnd, PeriodStart, text_filter
from api.schemas import Page
from api.schemas_forecasts import AccuracyPage, ForecastIn, ForecastOut, ForecastSummaryOut
from models import accuracy as scores
from models import forecasts
from models.pagination import frame_page, frame_records
from models.users import Principal

router = APIRouter()
Forecaster = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER))]
Reader = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER, Role.MARKET_MANAGER, Role.AUDITOR, Role.ADMIN))]

FORECAST_RULES = """Forecasts are accepted only while the cycle is `planned` (before its `opens_at`); once orders
open the cycle answers 409 `cycle_state`. So every stored forecast was made before anybody could see the
cycle's orders, and only such forecasts are ever scored. An account manager forecasts for himself only
(another manager's id: 404). Each change is a new `version` with its `submitted_at`; an identical forecast
keeps its version and timestamp."""

ACCURACY_RULES = """Forecast accuracy: the figures of the `tobacco-alloc accuracy` files (by_manager, by_spec).

* One cycle (`cycle_id`, which must be `closed` or `published`: 409 otherwise, as its demand is not final),
  or a range (`from` and `to`, dates): the closed or published cycles whose start date falls in
  [from, to], pooled by adding |A − F| over every (cycle, spec) cell, so weeks never net out;
  `period` is then the label `from..to`. Cycles of the range not yet closed are listed in `cycles_not_closed`.
* Forecast: the manager's current forecast, which was necessarily made while the cycle was `planned`.
  Actual: the order lines his retailers (by their current manager) submitted in that cycle, from
  `retailer_stated` orders and from `collected` orders approved at their current version; not the
  allocation. No order counts 0.
* `level=manager` (default): by_manager figures; `level=spec`: by_spec rows (over a range: one row per
  manager and spec, pooled the same way).
* `key_only=true` and `brand_code` restrict the specs scored (and so ranked); `manager_id` and the
  caller's scope only choose which rows are shown.
* **Ranks are computed over all managers of the company for that period before the caller's scope and
  `manager_id` filters are applied**: a manager sees his true rank among everybody.
* Scope: auditor and admin see every manager; a market manager his team; an account manager himself.
  A `manager_id` outside the caller's scope gives an empty list, as for an unknown manager.
* Empty figures (key figures without key-brand rows; bias without actual volume) are `null`."""


@router.put("/v1/cycles/{cycle_id}/forecasts/{manager_id}", response_model=ForecastOut, tags=["forecasts"],
            description=FORECAST_RULES)
def put_forecast(cycle_id: CycleId, manager_id: ManagerId, body: ForecastIn, session: SessionDep, principal: Forecaster):
    """Replaces the manager's whole forecast for a planned cycle."""
    return forecasts.replace_forecast(session, principal, cycle_id, manager_id,
                                      [line.model_dump() for line in body.lines])


@router.get("/v1/cycles/{cycle_id}/forecasts", response_model=Page[ForecastSummaryOut], tags=["forecasts"])
def get_cycle_forecasts(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep,
                        manager_id: ManagerFilter = None):
    """Who has forecast this cycle (current version each), among the managers the caller may see."""
    items, nxt = forecasts.list_forecasts(session, principal, cycle_id, paging.cursor, paging.limit, manager_id)
    return {"items": items, "next_cursor": nxt}


@router.get("/v1/cycles/{cycle_id}/forecasts/{manager_id}", response_model=ForecastOut, tags=["forecasts"],
            description=FORECAST_RULES + "\n\n`?version=` returns an earlier version.")
def get_forecast(cycle_id: CycleId, manager_id: ManagerId, session: SessionDep, principal: Reader,
                 version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None):
    """The manager's current forecast for the cycle, or one version of its history."""
    return forecasts.get_forecast(session, principal, cycle_id, manager_id, version)


@router.get("/v1/cycles/{cycle_id}/forecasts/{manager_id}/versions", response_model=Page[ForecastOut],
            tags=["forecasts"])
def get_forecast_versions(cycle_id: CycleId, manager_id: ManagerId, session: SessionDep, principal: Reader,
                          paging: PageDep):
    """Every version of the manager's forecast for the cycle, oldest first: who sent what, when."""
    items, nxt = forecasts.list_versions(session, principal, cycle_id, manager_id, paging.cursor, paging.limit)
    return {"items": items, "next_cursor": nxt}


class AccuracyParams:
    """The filters both accuracy routes share, so the JSON list and the CSV export always agree."""

    def __init__(self,
                 cycle_id: text_filter(f"score one cycle; {PERIOD_RULE}") = None,
                 date_from: PeriodStart = None,
                 date_to: PeriodEnd = None,
                 manager_id: ManagerFilter = None,
                 brand_code: BrandFilter = None,
                 key_only: Annotated[bool, Query(description="score key-brand specs only")] = False,
                 level: Annotated[str, Query(pattern="^(manager|spec)$")] = "manager"):
        self.query = scores.AccuracyQuery(cycle_id, date_from, date_to, manager_id, brand_code, key_only, level)


AccuracyDep = Annotated[AccuracyParams, Depends()]


@router.get("/v1/accuracy", response_model=AccuracyPage, response_model_by_alias=True, tags=["accuracy"],
            description=ACCURACY_RULES)
def get_accuracy(session: SessionDep, principal: Reader, params: AccuracyDep, paging: PageDep):
    """Forecast accuracy per manager (or per spec) for a cycle or a range of cycles."""
    result = scores.score(session, principal, params.query)
    shown, nxt = frame_page(result.rows, scores.PAGE_KEYS[result.level], paging.cursor, paging.limit)
    q = params.query
    return AccuracyPage(items=frame_records(shown), next_cursor=nxt, level=result.level,
                        cycle_ids=result.cycle_ids, cycles_not_closed=result.cycles_not_closed,
                        date_from=q.date_from, date_to=q.date_to)


@router.get("/v1/accuracy.csv", tags=["accuracy"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "by_manager.csv or by_spec.csv"}},
            description=ACCURACY_RULES + "\n\nEvery row in scope, in the accuracy-output columns; empty figures "
                                         "are empty cells.")
def get_accuracy_csv(session: SessionDep, principal: Reader, params: AccuracyDep):
    """The same scores as a CSV file in the accuracy-output columns, for auditors' spreadsheets."""
    result = scores.score(session, principal, params.query)
    columns = BY_MANAGER_COLUMNS if result.level == "manager" else BY_SPEC_COLUMNS
    name = "by_manager.csv" if result.level == "manager" else "by_spec.csv"
    body = result.rows[columns].to_csv(index=False, lineterminator="\n", na_rep="")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
