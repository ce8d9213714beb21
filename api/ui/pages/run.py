"""/ui/runs/{id}: one allocation run's totals, certificate, fill-ratio histogram and short lines by reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from allocation.vocabulary import SHORT_REASONS, Role, values
from api.deps import SessionDep
from api.ui import charts
from api.ui.labels import REASON_LABELS
from api.ui.render import render, translator
from api.ui.session import page_for
from models import cycles, runs
from models.summary import run_fill_histogram
from models.users import Principal

router = APIRouter()
Reader = Annotated[Principal, Depends(page_for(Role.ADMIN, Role.AUDITOR))]
SHORT = values(SHORT_REASONS)


@router.get("/ui/runs/{run_id}")
def run_page(run_id: str, request: Request, session: SessionDep, principal: Reader):
    """What the run allocated and the proof that comes with it."""
    t = translator(request)
    run = runs.get_run(session, principal.company_id, run_id)
    cycle = cycles.get_cycle(session, principal.company_id, run.cycle_id)
    counts = run_fill_histogram(session, run)
    buckets = ["0"] + [f"{10 * k}–{10 * (k + 1)}%" for k in range(10)] + ["100%"]
    histogram = charts.bars(buckets, [(t("Lines"), counts)])
    short = (run.totals or {}).get("short_lines", {})
    reasons = charts.pie([(t(REASON_LABELS[r]), short.get(r, 0)) for r in SHORT])
    return render(request, "run.html", run=runs.run_out(run), cycle=cycles.cycle_out(cycle), histogram=histogram,
                  reasons=reasons, counts=counts, buckets=buckets, short=short, SHORT=SHORT)
