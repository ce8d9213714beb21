"""The console's language: which one a request gets, its catalog, and how numbers and dates read in it."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, parse_pattern
from babel.support import Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"zh": "zh_CN", "en": "en"}  # what ?lang= and the switch accept -> the catalog that serves it
DEFAULT = "zh"
COOKIE = "ui_lang"


def N_(message: str) -> str:
    """Marks a string for the catalogs where it is defined; it is translated where it is shown."""
    return message


def _accepted(header: str) -> list[str]:
    """Accept-Language's languages, most wanted first (RFC 9110 q-values; malformed parts are skipped)."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(request: Request) -> str:
    """`?lang=`, then the switch's cookie, then the browser's Accept-Language, else Chinese."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    for tag in _accepted(request.headers.get("accept-language", "")):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


@lru_cache
def translations(lang: str) -> Translations:
    """The compiled catalog of a language (the .mo committed beside its .po)."""
    return Translations.load(str(LOCALE_DIR), [LANGUAGES[lang]], domain="messages")


@lru_cache
def locale(lang: str) -> Locale:
    try:
        return Locale.parse(LANGUAGES[lang])
    except UnknownLocaleError:  # pragma: no cover - both are in Babel's data
        return Locale.parse("en")


@lru_cache(maxsize=None)
def _pattern(fmt: str) -> NumberPattern:
    """A number pattern parsed once: format_decimal and format_percent parse theirs on every call, which was most
    of the time of a page with a thousand figures."""
    return parse_pattern(fmt)


class Formats:
    """Numbers with thousands separators, shares as percentages, times in the company's time zone."""

    def __init__(self, lang: str, timezone: str):
        self.locale, self.zone = locale(lang), ZoneInfo(timezone)

    def num(self, value, digits: int = 0) -> str:
        if value is None or value != value:  # None and NaN: an empty figure stays visibly empty
            return "–"
        return _pattern("#,##0" + ("." + "0" * digits if digits else "")).apply(value, self.locale)

    def pct(self, value, digits: int = 1) -> str:
        if value is None or value != value:
            return "–"
        return _pattern("#,##0." + "0" * digits + "%").apply(value, self.locale)

    def dt(self, value: datetime | str | None) -> str:
        if not value:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value.astimezone(self.zone), "yyyy-MM-dd HH:mm", locale=self.locale)

    def day(self, value: date | str | None) -> str:
        if not value:
            return "–"
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return format_date(value, "yyyy-MM-dd", locale=self.locale)
