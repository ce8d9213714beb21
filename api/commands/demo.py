"""`tobacco-alloc demo`: a generated city, users for every role and example requests, in one step."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from allocation.vocabulary import Channel, RetailerStatus, Role

out = Console()
# a year and a week of history: value per carton a year earlier needs the weeks 52 back of every demo cycle
HISTORY_WEEKS = 53
CAP_MOVES = 3  # managers who move a little cap between two of their retailers, approved


def demo(retailers: Annotated[int, typer.Option(help="retailers in the generated city")] = 3000,
         seed: Annotated[int, typer.Option()] = 7,
         weeks: Annotated[int, typer.Option("--history-weeks", min=0,
                                            help="weeks of order history before the cycle")] = HISTORY_WEEKS,
         out_dir: Annotated[Path, typer.Option("--out", help="where the city's CSVs and tokens go")] = Path("data/demo"),
         company: Annotated[Optional[str], typer.Option("--company")] = None) -> None:
    """Build a demo city in the configured database and print tokens and example requests."""
    from api.settings import get_settings
    from fixtures.city import generate_city, generate_cycle, write_csvs
    from models.db import make_engine, session_scope
    from models.load import load_dir
    from models.migrate import upgrade
    from models.users import company_by_code, create_user

    t0 = time.perf_counter()
    engine = make_engine()
    upgrade(engine)
    with out.status("generating the city"):
        city = generate_city(retailers=retailers, seed=seed, weeks=weeks)
        cycle = generate_cycle(city, seed=seed)
        write_csvs(city, out_dir, cycle=cycle)
    with out.status(f"loading {len(city.retailers):,} retailers and {len(city.history):,} history lines"):
        with session_scope(engine) as session:
            comp = company_by_code(session, company)
            load_dir(session, comp.id, out_dir)
    manager = city.managers.iloc[0]
    tokens = {}
    with session_scope(engine) as session:
        comp = company_by_code(session, company)
        for role, mid in ((Role.ADMIN, None), (Role.ACCOUNT_MANAGER, str(manager.manager_id)),
                          (Role.MARKET_MANAGER, str(manager.market_manager_id)), (Role.DISTRIBUTION_CENTER, None),
                          (Role.AUDITOR, None)):
            _, tokens[role] = create_user(session, comp.id, role, name=f"demo-{role}-{int(time.time())}",
                                          manager_id=mid)
    with out.status("running a whole cycle: forecasts, supply, caps, orders, sign-offs, close, run, publish"):
        extra = _demo_cycle(engine, company, city, cycle)
    env_file = out_dir / "tokens.env"
    env_file.write_text("".join(f"{role.upper()}_TOKEN={tok}\n" for role, tok in tokens.items()))
    table = Table(title=f"demo city ready in {time.perf_counter() - t0:.1f} s")
    table.add_column("role")
    table.add_column("token")
    for role, tok in tokens.items():
        table.add_row(role, tok)
    out.print(table)
    settings = get_settings()
    base = f"http://{settings.host}:{settings.port}"
    out.print(f"tokens also in {env_file} (`set -a; . {env_file}; set +a` exports them); try:")
    out.print(f'  curl -s {base}/health\n'
              f'  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "{base}/v1/brands?limit=5"\n'
              f'  curl -s -H "Authorization: Bearer $ACCOUNT_MANAGER_TOKEN" "{base}/v1/retailers?limit=5"',
              highlight=False, soft_wrap=True)
    for line in extra:
        out.print("  " + line.replace("BASE", base), highlight=False, soft_wrap=True)
    out.print(f"\nweb console: {base}/ui/  (sign in with one token; each role sees its own pages)", highlight=False,
              soft_wrap=True)
    for role, tok in tokens.items():
        out.print(f"  {role:<20} {tok}", highlight=False, soft_wrap=True)


def _demo_cycle(engine, company, city, cycle) -> list[str]:
    """A whole cycle as the roles would run it: forecasts, supply, caps, orders, sign-offs, close, run, publish."""
    from datetime import timedelta

    from sqlmodel import select

    from models.db import session_scope
    from models.users import Principal, company_by_code, create_user

    from fixtures.orders import period_monday
    from models.accuracy import refresh_snapshots
    from models.cap_adjustments import approve_adjustment, create_adjustment
    from models.caps import compute_cycle_caps
    from models.cycles import close_cycle, create_cycle, replace_supply
    from models.forecasts import replace_forecast
    from models.orders import approve_order
    from models.orders_import import import_orders
    from models.runs import execute_run, publish, start_run
    from models.tables import Cycle, User
    from models.types import utcnow

    start = period_monday(cycle.period)
    with session_scope(engine) as session:
        comp = company_by_code(session, company)
        if session.exec(select(Cycle).where(Cycle.company_id == comp.id, Cycle.name == cycle.period)).first():
            return [f"# cycle {cycle.period} exists already; its allocation is published"]

        def as_user(role: str, manager_id: str | None = None) -> Principal:
            name = f"demo-{role}-{manager_id or 'company'}"
            user = session.exec(select(User).where(User.company_id == comp.id, User.name == name)).first()
            if user is None:
                user, _ = create_user(session, comp.id, role, name=name, manager_id=manager_id)
            return Principal(user.id, comp.id, role, name, manager_id)

        admin = as_user(Role.ADMIN)
        row = create_cycle(session, admin, cycle.period, start, start + timedelta(days=6),
                           opens_at=utcnow() + timedelta(hours=1))
        for manager_id, lines in cycle.forecasts.groupby("manager_id", sort=True):
            replace_forecast(session, as_user(Role.ACCOUNT_MANAGER, str(manager_id)), str(row.id), str(manager_id),
                             lines[["brand_code", "quantity"]].to_dict("records"))
        row.opens_at = utcnow()  # the demo opens the cycle at once, after the forecasts
        session.flush()
        replace_supply(session, admin, row.id, list(cycle.supply.itertuples(index=False, name=None)))
        compute_cycle_caps(session, admin, row.id)
        _move_caps(session, row.id, city, as_user, create_adjustment, approve_adjustment)
        body = cycle.demand[["retailer_id", "brand_code", "quantity", "channel"]].to_csv(index=False).encode()
        import_orders(session, admin, str(row.id), body, max_lines=10_000)
        collected = cycle.demand[cycle.demand.channel == Channel.COLLECTED].retailer_id.drop_duplicates()
        managers = city.retailers.set_index("retailer_id").manager_id
        bosses = city.managers.set_index("manager_id").market_manager_id
        for i, rid in enumerate(collected):
            if i % 5 == 4:
                continue  # left unsigned: the run lists it and leaves its demand out (rule 4)
            boss = str(bosses[managers[rid]])
            approve_order(session, as_user(Role.MARKET_MANAGER, boss), str(row.id), str(rid), 1)
        close_cycle(session, admin, row.id)
        run = start_run(session, admin, row.id)
        cycle_id, run_id = row.id, run.id
    execute_run(engine, run_id)
    with session_scope(engine) as session:
        comp = company_by_code(session, company)
        publish(session, Principal(admin.user_id, comp.id, Role.ADMIN, admin.name), run_id)
    with session_scope(engine) as session:
        refresh_snapshots(session, comp.id, [cycle_id])
    return [
        f"# cycle {cycle.period} is published (id {cycle_id}, run {run_id}):",
        f'curl -s -H "Authorization: Bearer $ADMIN_TOKEN" BASE/v1/allocation-runs/{run_id}',
        f'curl -s -H "Authorization: Bearer $DISTRIBUTION_CENTER_TOKEN" "BASE/v1/cycles/{cycle_id}/pick-list?limit=5"',
        f'curl -s -H "Authorization: Bearer $DISTRIBUTION_CENTER_TOKEN" "BASE/v1/cycles/{cycle_id}/allocations?limit=3"',
        f'curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "BASE/v1/accuracy?cycle_id={cycle_id}&limit=5"',
        f'curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "BASE/v1/compliance?cycle_id={cycle_id}&limit=5"',
        f'curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "BASE/v1/compliance/clusters?cycle_id={cycle_id}"',
        'curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "BASE/v1/audit-events?limit=5"',
    ]


def _move_caps(session, cycle_id: int, city, as_user, create_adjustment, approve_adjustment) -> None:
    """A few managers move 2 cartons of cap between two of their active retailers (rule 5), and their market
    managers approve, so the compliance figures show cap moves."""
    from sqlmodel import select

    from models.tables import Cap

    active = city.retailers[city.retailers["status"] == RetailerStatus.ACTIVE]
    caps = dict(session.exec(select(Cap.retailer_id, Cap.cap).where(Cap.cycle_id == cycle_id)).all())
    for manager in list(city.managers.itertuples(index=False))[:CAP_MOVES]:
        own = [r for r in active.loc[active["manager_id"] == manager.manager_id, "retailer_id"] if caps.get(r, 0) >= 2]
        if len(own) < 2:
            continue
        adj = create_adjustment(session, as_user(Role.ACCOUNT_MANAGER, str(manager.manager_id)), cycle_id,
                                [{"from_retailer_id": own[0], "to_retailer_id": own[1], "quantity": 2}],
                                "a new shop opened next door")
        approve_adjustment(session, as_user(Role.MARKET_MANAGER, str(manager.market_manager_id)), adj.id)
