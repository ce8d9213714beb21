"""`tobacco-alloc demo`: a generated city, users for every role and example requests, in one step."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.users import company_by_code, create_user

out = Console()


def demo(retailers: Annotated[int, typer.Option(help="retailers in the generated city")] = 3000,
         seed: Annotated[int, typer.Option()] = 7,
         out_dir: Annotated[Path, typer.Option("--out", help="where the city's CSVs and tokens go")] = Path("data/demo"),
         company: Annotated[Optional[str], typer.Option("--company")] = None) -> None:
    """Build a demo city in the configured database and print tokens and example requests."""
    from fixtures.city import generate_city, generate_cycle, write_csvs
    from models.load import load_dir

    t0 = time.perf_counter()
    engine = make_engine()
    upgrade(engine)
    with out.status("generating the city"):
        city = generate_city(retailers=retailers, seed=seed)
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
        for role, mid in (("admin", None), ("account_manager", str(manager.manager_id)),
                          ("market_manager", str(manager.market_manager_id)), ("distribution_center", None),
                          ("auditor", None)):
            _, tokens[role] = create_user(session, comp.id, role, name=f"demo-{role}-{int(time.time())}",
                                          manager_id=mid)
    extra = _demo_cycle(engine, company, out_dir, tokens)
    env_file = out_dir / "tokens.env"
    env_file.write_text("".join(f"{role.upper()}_TOKEN={tok}\n" for role, tok in tokens.items()))
    table = Table(title=f"demo city ready in {time.perf_counter() - t0:.1f} s")
    table.add_column("role")
    table.add_column("token")
    for role, tok in tokens.items():
        table.add_row(role, tok)
    out.print(table)
    base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    out.print(f"tokens also in {env_file}; try:")
    out.print(f'  curl -s {base}/health\n'
              f'  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "{base}/v1/brands?limit=5"\n'
              f'  curl -s -H "Authorization: Bearer $ACCOUNT_MANAGER_TOKEN" "{base}/v1/retailers?limit=5"',
              highlight=False, soft_wrap=True)
    for line in extra:
        out.print("  " + line.replace("BASE", base), highlight=False, soft_wrap=True)


def _demo_cycle(engine, company, out_dir: Path, tokens: dict) -> list[str]:
    """A cycle with orders, caps, a run and a publication, where those services exist."""
    try:
        from models.demo_cycle import build_demo_cycle
    except ImportError:
        return []
    with session_scope(engine) as session:
        comp = company_by_code(session, company)
        return build_demo_cycle(session, comp.id, out_dir)
