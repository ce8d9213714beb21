"""Pages from templates: one Jinja2 environment per language, the layout's context, the safety headers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.ui import i18n, messages
from api.ui.labels import LABELS
from api.ui.session import csrf_token, remember_nonce

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTMX = "vendor/htmx-2.0.11/htmx.min.js"
ECHARTS = "vendor/echarts-6.1.0/echarts.min.js"
# every script, style, image and font comes from the service itself; chart data is JSON in the page, never code
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Vary": "Cookie, Accept-Language"}


@dataclass(frozen=True, order=True)
class NavItem:
    """A page in the header's menu: shown to these roles, in this order."""

    order: int
    path: str
    label: str  # an English msgid, marked with N_ where it is defined
    roles: tuple[str, ...]


NAV: list[NavItem] = []  # filled by api.ui.install from each page module's NAV


@lru_cache
def asset(name: str) -> str:
    """A static file's URL with a digest of its content, so a browser never keeps a stale copy."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/ui/static/{name}?v={digest}"


def url(path: str, **params) -> str:
    """A console URL with query parameters, leaving out the empty ones."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return f"{path}?{query}" if query else path


def brief(value, most: int = 200) -> str:
    """A JSON value cut to a readable length (an audit row may hold a whole cycle's caps)."""
    if value is None:
        return "–"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= most else text[:most] + " …"


@lru_cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"], trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)
    env.globals.update(asset=asset, url=url, HTMX=HTMX, ECHARTS=ECHARTS, lang=lang,
                       html_lang="zh-CN" if lang == "zh" else "en", languages=list(i18n.LANGUAGES), **LABELS)
    env.filters["brief"] = brief
    env.globals["error_message"] = lambda code: messages.message(i18n.translations(lang).gettext, code)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False, "separators": (",", ":")}
    return env


def translator(request: Request):
    """gettext in the request's language, for strings a route puts into a page (chart series, axis names)."""
    return i18n.translations(i18n.negotiate(request)).gettext


def render(request: Request, template: str, status_code: int = 200, headers: dict | None = None,
           **context) -> HTMLResponse:
    """The page in the request's language, with the signed-in user, the menu, the CSRF value and formats."""
    lang = i18n.negotiate(request)
    principal = getattr(request.state, "principal", None)
    zone = getattr(request.state, "timezone", None) or "Asia/Shanghai"
    nav = [item for item in sorted(NAV) if principal is not None and principal.role in item.roles]
    body = environment(lang).get_template(template).render(
        request=request, principal=principal, nav=nav, csrf=csrf_token(request), f=i18n.Formats(lang, zone),
        path=request.url.path, here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        **context)
    response = HTMLResponse(body, status_code, headers={**HEADERS, **(headers or {})})
    remember_nonce(request, response)
    return response
