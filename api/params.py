"""Path and query parameters shared by the routes, with the patterns the schema states and the server enforces."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Header, Path, Query

# No control character (NUL, newline, DEL, ...) in any identifier or filter: edge.RefuseControlCharacters answers
# 422 for one anywhere in the URL, and this pattern says so in the schema.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
ID_MAX = 64
# A cursor is URL-safe base64 (models/pagination.py); beyond its form, only a cursor this service issued is valid
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*={0,2}$"
CURSOR_MAX = 500
CURSOR_RULE = ("the `next_cursor` of the previous page, passed back unchanged; a cursor this service did not issue "
               "(well formed or not) is refused with 422 `invalid_cursor`")
UNKNOWN_RULE = "; an id that names nothing the caller may see answers 404"
PERIOD_RULE = "give `cycle_id` alone, or `from` and `to` together (422 otherwise)"  # accuracy and compliance


def _path(noun: str, example: str) -> Path:
    return Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN,
                description=f"the {noun}'s id{UNKNOWN_RULE}", examples=[example])


CycleId = Annotated[str, _path("cycle", "12")]
RetailerId = Annotated[str, _path("retailer", "430102100001")]
ManagerId = Annotated[str, _path("account manager", "M001")]
RunId = Annotated[str, _path("allocation run", "7")]
AdjustmentId = Annotated[str, _path("cap adjustment", "3")]
ScenarioId = Annotated[str, _path("scenario", "S4")]


def text_filter(description: str, max_length: int = ID_MAX, min_length: int = 0):
    """An optional free-text filter on an id or a code: bounded, no control character, matched exactly."""
    return Annotated[str | None, Query(min_length=min_length, max_length=max_length, pattern=NO_CONTROL,
                                       description=description)]


ManagerFilter = text_filter("only this account manager's")
RetailerFilter = text_filter("only this retailer's")
BrandFilter = text_filter("only this spec; a code that is not in /v1/brands is refused with 422 `unknown_brand`")
# a report's period (accuracy, compliance): `cycle_id` alone, or `from` and `to` together
PeriodStart = Annotated[date | None, Query(alias="from", description=f"range start (date); {PERIOD_RULE}")]
PeriodEnd = Annotated[date | None, Query(alias="to", description=f"range end (date); {PERIOD_RULE}")]
CursorQuery = Annotated[str | None, Query(max_length=CURSOR_MAX, pattern=CURSOR_PATTERN, description=CURSOR_RULE)]
# Idempotency-Key: the POSTs' safe retries (api/idempotency.py); declared so clients see it in the schema
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN, description=(
    "safe retries: 1 to 200 visible ASCII characters, chosen by the client for one request; sending the same key "
    "with the same request again returns the first answer (with `Idempotent-Replayed: true`) and does nothing "
    "again; a key already used for a different request answers 422 `idempotency_key_reused`, and one whose "
    "first request is still running 409 `idempotency_in_flight`. Keys are kept at least 24 hours, per user"))]
# If-Match: "*" or version ETags; any other value matches no version, so it is a 412 like a stale tag, not a 422
# not `str | None`: a header has no null, and a schema that allows one has clients send the text "null"
IfMatch = Annotated[str, Header(max_length=200, description=(
    'the ETag of the version this replaces (`"3"`, `W/"3"`), or `*`; a value naming no current version answers 412 '
    "`version_mismatch`"))]
