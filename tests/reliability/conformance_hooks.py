"""The conformance test's schemathesis hooks: real ids for well-formed requests, and the few documented exclusions.

Loaded by schemathesis through SCHEMATHESIS_HOOKS; the world's ids come in CONFORMANCE_WORLD (JSON: path parameter
name -> real ids). Nothing here relaxes a check except positive_data_acceptance, and that only in the cases of
EXCLUSIONS, each a rule the server enforces that an OpenAPI schema cannot state.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import date

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

from tests.reliability.matrix import allowed

WORLD: dict[str, list[str]] = json.loads(os.environ.get("CONFORMANCE_WORLD", "{}"))
ROLE: str | None = os.environ.get("CONFORMANCE_ROLE") or None  # unset: no token
FORBIDDEN_SHARE = 4  # one case in this many is sent where the role may not call the operation


def _share(case) -> int:
    return zlib.crc32(repr((case.path_parameters, case.query, case.headers, case.body, case.media_type)).encode())


@schemathesis.hook
def filter_case(context, case) -> bool:
    """Every case where the role is let through; where it may not call the operation (it answers 401 or 403, which
    tests/reliability/test_authz_matrix.py holds for every route and role), a fixed quarter of the cases."""
    raw = case.operation.definition.raw
    inputs = raw.get("parameters") or "requestBody" in raw  # without any, every case is the same request: send it
    return allowed(case.operation.label, ROLE) or not inputs or _share(case) % FORBIDDEN_SHARE == 0


def _pick(value, ids: list[str]) -> str | None:
    """Two generated ids in three are swapped for a real one, chosen by the generated value (so the same on every
    run of one seed); the third stays as generated, to reach the 404s."""
    digest = zlib.crc32(repr(value).encode())
    return ids[digest // 3 % len(ids)] if digest % 3 else None


@schemathesis.hook
def map_case(context, case):
    """Aims well-formed requests at the world's objects, so operations reach their real logic, not only 404s."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not case.path_parameters:
        return case
    for name, value in list(case.path_parameters.items()):
        if name in WORLD and (real := _pick(value, WORLD[name])) is not None:
            case.path_parameters[name] = real
    return case


def _query(case) -> dict:
    return case.query if isinstance(case.query, dict) else {}


def _body(case) -> dict:
    return case.body if isinstance(case.body, dict) else {}


def _foreign_cursor(case, code: str) -> bool:
    return code == "invalid_cursor" and bool(_query(case).get("cursor"))


def _period(case, code: str) -> bool:
    if not any(p.get("name") == "from" for p in case.operation.definition.raw.get("parameters", [])):
        return False  # not an operation that takes a period
    query = _query(case)
    given = [query.get(k) is not None for k in ("cycle_id", "from", "to")]
    return code == "invalid_request" and given not in ([True, False, False], [False, True, True])


def _dates(case, code: str) -> bool:
    body = _body(case)
    try:
        start, end = date.fromisoformat(body["start_date"]), date.fromisoformat(body["end_date"])
    except (KeyError, TypeError, ValueError):
        return False
    return code == "invalid_request" and (end < start or (end - start).days > 366)


def _policy_order(case, code: str) -> bool:
    body = _body(case)
    pairs = (("min_history_weeks", "history_weeks", 4, 12), ("medium_from_tier", "large_from_tier", 11, 23))
    return code == "invalid_request" and any(
        isinstance(body.get(low, dlow), int | float) and isinstance(body.get(high, dhigh), int | float)
        and body.get(low, dlow) > body.get(high, dhigh) for low, high, dlow, dhigh in pairs)


def _lists(case) -> list[list]:
    body = case.body
    return [body] if isinstance(body, list) else [v for v in _body(case).values() if isinstance(v, list)]


def _repeated_key(case, code: str) -> bool:
    """A list in the body names one spec or one retailer twice."""
    for items in _lists(case):
        for key in ("brand_code", "retailer_id"):
            named = [item[key] for item in items if isinstance(item, dict) and key in item]
            if len(named) != len(set(map(repr, named))):
                return code in ("invalid_request", "duplicate_spec", "duplicate_line")
    return False


def _reused_key(case, code: str) -> bool:
    """The generator sends the same Idempotency-Key values with different requests."""
    return code == "idempotency_key_reused" and any(str(k).lower() == "idempotency-key" for k in case.headers or ())


def _move_to_itself(case, code: str) -> bool:
    moves = _body(case).get("moves")
    return code == "invalid_request" and isinstance(moves, list) and any(
        isinstance(m, dict) and m.get("from_retailer_id") == m.get("to_retailer_id") for m in moves)


# (reason, rule): positive_data_acceptance is not applied to a 412 or 422 for which a rule holds
EXCLUSIONS = [
    ("an If-Match naming no current version of the order answers 412 (`version_mismatch`): "
     "a state of the order, like a 409, not a form the schema can state", lambda case, code: code == "version_mismatch"),
    ("a cursor is an opaque token this service issued; a well-formed one it did not issue is refused "
     "(`invalid_cursor`), and no schema can list the issued ones", _foreign_cursor),
    ("a spec, retailer or manager that does not exist in the company's master data is refused where a body or a "
     "filter names it (`unknown_spec`, `unknown_brand`, `unknown_retailer`); the schema cannot enumerate master data",
     lambda case, code: code in ("unknown_spec", "unknown_brand", "unknown_retailer")),
    ("an imported demand file is CSV text: its rows are checked one by one (`invalid_rows`), the schema says string",
     lambda case, code: code == "invalid_rows"),
    ("accuracy and compliance take `cycle_id` alone or `from` and `to` together: a rule across parameters, "
     "which OpenAPI parameters cannot state (documented on each)", _period),
    ("one line per spec, one cap per retailer: a list naming a spec or a retailer twice is refused; JSON Schema's "
     "uniqueItems compares whole items, not one field of them", _repeated_key),
    ("a cap move goes from one retailer to another: a rule across two fields", _move_to_itself),
    ("a cycle ends on or after its start and spans at most a year: a rule across two fields", _dates),
    ("min_history_weeks ≤ history_weeks and medium_from_tier ≤ large_from_tier: rules across two fields",
     _policy_order),
    ("an Idempotency-Key stands for one request: a key already used for a different one is refused "
     "(`idempotency_key_reused`, CONTRACT.md's retries); a schema cannot say which keys were used before, and the "
     "generator sends the same key values with different requests", _reused_key),
]


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keeps every failure but a schema-valid request refused (412 or 422) in one of the EXCLUSIONS."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code not in (412, 422):
        return True
    try:
        code = json.loads(response.content).get("code", "")
    except ValueError:
        return True
    return not any(rule(case, code) for _reason, rule in EXCLUSIONS)
