"""The `tobacco-alloc` command: the same functions the API calls, for operators and scripts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from allocation.vocabulary import Role

# The database layer is imported inside the commands that use it, so `allocate` and `accuracy`, which need no
# database, start without loading SQLAlchemy, SQLModel and Alembic.

app = typer.Typer(help="Order allocation for a tobacco commercial company.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
users_app = typer.Typer(help="API users and their tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
companies_app = typer.Typer(help="The city companies of this deployment.", no_args_is_help=True)
app.add_typer(companies_app, name="companies")
err = Console(stderr=True)
out = Console()

CompanyOpt = Annotated[Optional[str], typer.Option("--company", help="company code (default: the only one)")]


def settings_fault(exc) -> str:
    """A settings ValidationError in one line, as a person would want it."""
    return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())


def exit_with(message: str, status: int = 2) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(status)


@app.command("init-db")
def init_db() -> None:
    """Create or migrate the schema (idempotent)."""
    from models.db import make_engine, session_scope
    from models.migrate import upgrade
    from models.users import company_by_code

    engine = make_engine()
    upgrade(engine)
    with session_scope(engine) as session:
        company_by_code(session, None)
    out.print(f"schema is at the newest revision ({engine.url.render_as_string(hide_password=True)})", markup=False)


@app.command("load")
def load(directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="folder of CSVs")],
         company: CompanyOpt = None) -> None:
    """Load managers, retailers, brands and history CSVs found in DIRECTORY: all rows or none."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from models.db import make_engine, session_scope
    from models.errors import DomainError
    from models.load import load_dir
    from models.migrate import upgrade
    from models.users import company_by_code

    engine = make_engine()
    upgrade(engine)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("validating", total=5)

        def step(name: str, n: int) -> None:
            bar.update(task, advance=1, description=f"loaded {n:,} {name}")

        try:
            with session_scope(engine) as session:
                comp = company_by_code(session, company)
                counts = load_dir(session, comp.id, directory, progress=step)
                bar.update(task, description="committing")
        except DomainError as exc:
            bar.stop()
            exit_with(exc.detail)
        bar.update(task, completed=5, description="done")
    out.print(", ".join(f"{n:,} {k}" for k, n in counts.items()) + " loaded", markup=False)


@companies_app.command("create")
def companies_create(code: Annotated[str, typer.Argument(help="a short code, e.g. 4301")],
                     name: Annotated[str, typer.Option(help="the company's name")],
                     timezone: Annotated[str, typer.Option(help="IANA time zone of its dates")] = "Asia/Shanghai",
                     ) -> None:
    """Add a city company; once there are several, commands that touch company data need --company CODE."""
    from models.db import make_engine, session_scope
    from models.errors import DomainError
    from models.migrate import upgrade
    from models.users import create_company

    engine = make_engine()
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            comp = create_company(session, code, name, timezone)
    except DomainError as exc:
        exit_with(exc.detail)
    out.print(f"company {comp.code} ({comp.name}, {comp.timezone}) created", markup=False)


@companies_app.command("list")
def companies_list() -> None:
    """Every company, one a line: code, name and time zone, separated by tabs."""
    from models.db import make_engine, session_scope
    from models.users import list_companies

    with session_scope(make_engine()) as session:
        for comp in list_companies(session):
            sys.stdout.write(f"{comp.code}\t{comp.name}\t{comp.timezone}\n")


@users_app.command("create")
def users_create(role: Annotated[str, typer.Option(help=f"one of {', '.join(Role)}")],
                 manager_id: Annotated[Optional[str], typer.Option("--manager-id")] = None,
                 name: Annotated[Optional[str], typer.Option()] = None,
                 company: CompanyOpt = None) -> None:
    """Create a user; its API token is the last line printed."""
    from models.db import make_engine, session_scope
    from models.errors import DomainError
    from models.migrate import upgrade
    from models.users import company_by_code, create_user

    engine = make_engine()
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            comp = company_by_code(session, company)
            user, token = create_user(session, comp.id, role, name, manager_id)
    except DomainError as exc:
        exit_with(exc.detail)
    err.print(f"user {user.name} ({user.role}) in company {comp.code}; the token is shown once:", markup=False)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Option()], company: CompanyOpt = None) -> None:
    """Revoke every token of the named user."""
    from models.db import make_engine, session_scope
    from models.errors import DomainError
    from models.users import company_by_code, revoke_user

    engine = make_engine()
    try:
        with session_scope(engine) as session:
            n = revoke_user(session, company_by_code(session, company).id, name)
    except DomainError as exc:
        exit_with(exc.detail)
    out.print(f"revoked {n} token(s) of {name}", markup=False)


@app.command("serve")
def serve(host: Annotated[Optional[str], typer.Option(help="default HOST or 127.0.0.1")] = None,
          port: Annotated[Optional[int], typer.Option(help="default PORT or 8000")] = None,
          access_log: Annotated[bool, typer.Option(help="log every request (costs CPU at high rates)")] = False,
          workers: Annotated[int, typer.Option(min=1, max=64, help="server processes (2 on a 2-core machine "
                                                                    "serves an ordering morning at 200/s)")] = 1,
          ) -> None:
    """Run the HTTP API."""
    import uvicorn
    from pydantic import ValidationError

    from api.settings import get_settings
    from models.db import make_engine
    from models.migrate import upgrade

    try:
        settings = get_settings()
    except ValidationError as exc:
        exit_with(settings_fault(exc))
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    uvicorn.run("api.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                log_level="info", access_log=access_log, workers=workers)


@app.command("worker")
def worker(concurrency: Annotated[int, typer.Option(min=1, max=64, help="runs executed at once by this worker "
                                                                        "(each solves in a process of its own)")] = 1,
           ) -> None:
    """Execute queued allocation runs (RUNS_EXECUTOR=queue, PostgreSQL); start any number, on any hosts."""
    from executor.queue import run_worker
    from executor.settings import ExecutorSettings
    from models.db import database_url

    url = database_url()
    if not url.startswith("postgresql"):
        exit_with("the worker needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://... (on SQLite, RUNS_EXECUTOR=local "
             "runs allocations without workers)")
    from pydantic import ValidationError

    try:
        settings = ExecutorSettings()
    except ValidationError as exc:
        exit_with(settings_fault(exc))
    err.print(f"worker: concurrency {concurrency}, heartbeat {settings.runs_heartbeat_s:g} s, lease "
              f"{settings.runs_lease_s:g} s, stalled after {settings.runs_stalled_s:g} s", markup=False)
    run_worker(url, settings, concurrency)


def _register() -> None:
    """Commands that live in their own modules."""
    from api.commands.accuracy import accuracy
    from api.commands.allocate import allocate
    from api.commands.demo import demo

    app.command("demo")(demo)
    app.command("accuracy")(accuracy)
    app.command("allocate")(allocate)


_register()

if __name__ == "__main__":  # pragma: no cover
    app()
