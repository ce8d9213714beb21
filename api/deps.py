"""Request-scoped pieces: the session (the one commit point), the caller, role checks, paging."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from allocation.vocabulary import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX

from api.params import CursorQuery
from models.db import session_scope
from models.errors import Forbidden, Unauthorized
from models.users import Principal, principal_for_token

bearer = HTTPBearer(auto_error=False, description="an API token from `tobacco-alloc users create`")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit once on success, roll back on any error; never on the event loop.

    Sync on purpose: FastAPI opens it in a worker thread and runs its exit (the commit or the rollback) in a
    thread of its own, outside the thread limiter, so a commit never waits for a free thread; the request's
    other database work runs in worker threads too (sync dependencies and routes). On the event loop, one
    statement waiting for a lock (SQLite's write lock, a row lock) would stall every request in flight,
    including the one holding the lock.
    """
    with session_scope(request.app.state.engine) as session:
        yield session


# scope="function": commit (or roll back) when the route returns, BEFORE the response is sent, so a 2xx
# always means committed and the next request sees it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@contextmanager
def read_session(app) -> Iterator[Session]:
    """A read-only session for a body streamed after the request's own session has closed (CSV exports)."""
    with Session(app.state.engine, expire_on_commit=False, join_transaction_mode="create_savepoint") as session:
        try:
            yield session
        finally:
            session.rollback()


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send `Authorization: Bearer <token>`; create a token with `tobacco-alloc users create`",
                           headers={"WWW-Authenticate": "Bearer"})
    principal = principal_for_token(session, credentials.credentials)
    if principal is None:
        raise Unauthorized("this token is unknown or revoked; ask an admin for a new one",
                           headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: str):
    """A dependency that lets only these roles through (403 for any other)."""

    async def check(principal: PrincipalDep) -> Principal:  # async: no thread hop for a comparison
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not do this; it needs {' or '.join(roles)}")
        return principal

    check.roles = roles  # read by the error handler when a body fails to parse before this check ran
    return check


class PageParams:
    def __init__(self, cursor: CursorQuery = None,
                 limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT):
        self.cursor = cursor
        self.limit = limit


PageDep = Annotated[PageParams, Depends()]
