"""Sign in with an API token, sign out, switch language; `/ui/` sends a signed-in user to his role's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.ui import i18n
from api.ui import render as pages
from api.ui.render import render
from api.ui.session import (
    NONCE_COOKIE,
    TOKEN_COOKIE,
    UiPrincipal,
    check_csrf,
    clear_cookie,
    set_cookie,
    signed_in,
)
from models.users import company_timezone, principal_for_token

router = APIRouter()

SESSION_SECONDS = 12 * 3600  # a working day; the token itself stays valid until revoked


def home_of(role: str) -> str:
    """A role's home: the first page of its menu (api/ui/pages/*.py NAV entries, by their order)."""
    return next((item.path for item in sorted(pages.NAV) if role in item.roles), "/ui/welcome")


def safe_next(target: str | None, default: str) -> str:
    """Only a console path of this site: never an open redirect to another host."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("/ui")
def bare() -> RedirectResponse:
    return RedirectResponse("/ui/", 308)


@router.get("/ui/")
def sign_in_form(request: Request, session: SessionDep, next: str | None = None):
    """The sign-in form, or the role's home page for a user who is signed in already."""
    principal = signed_in(request, session)
    if principal is not None:
        return RedirectResponse(safe_next(next, home_of(principal.role)), 303)
    return render(request, "signin.html", next=next or "", failed=False)


@router.post("/ui/sign-in", dependencies=[Depends(check_csrf)])
def sign_in(request: Request, session: SessionDep, token: Annotated[str, Form(max_length=200)] = "",
                  next: Annotated[str, Form(max_length=2000)] = ""):
    """Check the token as the API would; keep it in an HttpOnly, SameSite=Strict cookie for console pages only."""
    principal = principal_for_token(session, token.strip()) if token.strip() else None
    if principal is None:
        return render(request, "signin.html", 401, next=next, failed=True)
    request.state.principal = principal
    request.state.timezone = company_timezone(session, principal.company_id)
    response = RedirectResponse(safe_next(next, home_of(principal.role)), 303)
    set_cookie(request, response, TOKEN_COOKIE, token.strip(), max_age=SESSION_SECONDS)
    clear_cookie(response, NONCE_COOKIE)
    return response


@router.get("/ui/welcome")
def welcome(request: Request, principal: UiPrincipal):
    """Where a role without a page of its own lands: who is signed in, and the menu."""
    return render(request, "welcome.html")


@router.post("/ui/sign-out", dependencies=[Depends(check_csrf)])
def sign_out():
    """Forget the token in this browser (the token itself stays valid; `users revoke` ends it everywhere)."""
    response = RedirectResponse("/ui/", 303)
    clear_cookie(response, TOKEN_COOKIE)
    return response


@router.get("/ui/lang/{lang}")
def switch_language(request: Request, lang: str, next: str | None = None):
    """The language switch: remembered in a cookie, beaten only by an explicit `?lang=`."""
    response = RedirectResponse(safe_next(next, "/ui/"), 303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/ui", samesite="strict", httponly=True,
                            secure=request.url.scheme == "https")
    return response
