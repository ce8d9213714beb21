"""Who is signed in to the console (an API token in an HttpOnly, SameSite=Strict cookie) and the CSRF check."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from api.deps import SessionDep
from models.errors import DomainError, Forbidden
from models.users import Principal, company_timezone, principal_for_token

TOKEN_COOKIE = "ui_token"
NONCE_COOKIE = "ui_nonce"  # the sign-in form's CSRF secret, before there is a token to derive one from
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
PATH = "/ui"  # the cookies go to console pages only: /v1 never receives them (and accepts Bearer only)


class SignInRequired(DomainError):
    """No valid console cookie: a page sends the browser to the sign-in form."""

    status_code, code = 401, "unauthorized"


class CsrfFailed(DomainError):
    status_code, code = 403, "csrf_failed"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict")


def csrf_for(token: str) -> str:
    """The CSRF value of a signed-in session: derived from its token, so it needs no server-side state."""
    return hmac.new(token.encode(), b"tobacco-alloc console csrf", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The value every form and HTMX request must send back.

    Signed in: derived from the session's token (an attacker who cannot read the HttpOnly cookie cannot compute
    it, and it needs no server-side state). Before sign-in: the random nonce of the sign-in cookie.
    """
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        return csrf_for(token)
    nonce = request.cookies.get(NONCE_COOKIE) or getattr(request.state, "new_nonce", None)
    if nonce is None:
        nonce = request.state.new_nonce = secrets.token_urlsafe(24)
    return nonce


def remember_nonce(request: Request, response: Response) -> None:
    """Send the sign-in nonce made while rendering, so the form's hidden field can be checked against it."""
    nonce = getattr(request.state, "new_nonce", None)
    if nonce:
        set_cookie(request, response, NONCE_COOKIE, nonce)


def _same_origin(request: Request) -> bool:
    """A browser names the page a POST came from; a page of another site is refused whatever it sends."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def check_csrf(request: Request) -> None:
    """Every state-changing console request: same origin, and the CSRF value in the form or the HTMX header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    expected = csrf_token(request) if (request.cookies.get(TOKEN_COOKIE) or request.cookies.get(NONCE_COOKIE)) else None
    if not _same_origin(request) or not expected or not isinstance(sent, str) \
            or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("the form has expired or did not come from this console; reload the page and try again")


def signed_in(request: Request, session) -> Principal | None:
    token = request.cookies.get(TOKEN_COOKIE)
    return principal_for_token(session, token) if token else None


def ui_principal(request: Request, session: SessionDep) -> Principal:
    principal = signed_in(request, session)
    if principal is None:
        raise SignInRequired("sign in with your API token first")
    request.state.principal = principal
    request.state.timezone = company_timezone(session, principal.company_id)
    return principal


UiPrincipal = Annotated[Principal, Depends(ui_principal)]


def page_for(*roles: str):
    """A page's (or action's) dependency: signed in, in one of these roles (403 otherwise), CSRF-checked."""

    async def check(request: Request, principal: UiPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not open this page; it needs {' or '.join(roles)}")
        await check_csrf(request)
        return principal

    return check
