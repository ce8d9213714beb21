"""Every route of the OpenAPI schema fuzzed as every role: no 5xx, answers as documented, bad input refused with 4xx.

Bounded for CI: FUZZ_EXAMPLES (15) examples per operation and generation mode, derandomized (the same requests on
every run; FUZZ_SEED=n explores others), no deadline, no shrinking (every distinct failure is collected and shown
with a curl command instead).
Path ids are steered towards real objects (the cycles in each state, the manager's own and another's retailer, the
published run) so the handlers behind the 404s are exercised too.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from allocation.vocabulary import Role
from tests.reliability.matrix import WHO, allowed
from tests.worlds.sample import build_world

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = os.environ.get("FUZZ_SEED")  # set it to explore other inputs than the fixed ones CI repeats
# Answers the contract gives on any route (no token, wrong role, an object you may not see, a state that forbids it,
# a malformed request):
# accepted when a route does not document them, provided the body is the error shape. Reported, see below.
COMMON = {401, 403, 404, 409, 422}
UNDOCUMENTED: dict[str, set[int]] = defaultdict(set)


def error_shape(ctx, response, case) -> None:
    """Every error answers {"detail": a sentence, "code": a word}, never a framework default or a trace."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {response.text[:200]}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"no sentence in `detail`: {response.text[:200]}"
    assert isinstance(body.get("code"), str) and body["code"], f"no `code`: {response.text[:200]}"
    assert "Traceback" not in response.text


def documented_status(ctx, response, case) -> None:
    """The status is documented, or is one of the contract's answers common to every route."""
    documented = {str(k) for k in case.operation.definition.raw.get("responses", {})}
    if str(response.status_code) in documented:
        return
    if response.status_code in COMMON:
        UNDOCUMENTED[case.operation.label].add(response.status_code)
        return
    status_code_conformance(ctx, response, case)


def _default_validation_schema(case, status: int) -> bool:
    """FastAPI's stock 422 schema (`detail` as a list) is what a route documents when nobody described its errors."""
    documented = case.operation.definition.raw.get("responses", {}).get(str(status), {})
    return "HTTPValidationError" in str(documented)


def body_conformance(ctx, response, case) -> None:
    """Success bodies match their schema; error bodies too, unless the route documents only FastAPI's stock 422."""
    if response.status_code >= 400 and _default_validation_schema(case, response.status_code):
        UNDOCUMENTED[case.operation.label + " (422 body documented as FastAPI's list)"].add(response.status_code)
        return
    response_schema_conformance(ctx, response, case)


CHECKS = [not_a_server_error, documented_status, content_type_conformance, response_headers_conformance,
          body_conformance, error_shape]


def steer(world) -> dict[str, list[str]]:
    """Real ids per path parameter name, drawn as often as generated ones."""
    return {"cycle_id": list(world.cycles.values()), "retailer_id": [world.own_retailer, world.other_retailer],
            "manager_id": [world.manager_id], "run_id": [world.run_id], "adjustment_id": [world.adjustment_id],
            "scenario_id": [world.scenario_id]}


def fuzz_operation(operation, mode, world, http, failures: list[str]) -> None:
    """One operation in one generation mode, bounded, recording each distinct failure once.

    Each role's token is given to the generator as a fixed header, so a negative case never counts a token it did
    not send as the thing that was wrong.
    """
    label = operation.label
    roles = list(Role) + [None]
    if mode is GenerationMode.NEGATIVE:  # aim the bad input past authorization, at validation
        roles = [r for r in roles if allowed(label, r)] or roles
    cases = st.one_of([operation.as_strategy(generation_mode=mode, headers=world.headers[r] or None)
                       .map(lambda case, r=r: (r, case)) for r in roles])
    real = steer(world)
    seen: set[str] = set()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(drawn=cases, data=st.data())
    def run(drawn, data):
        role, case = drawn
        if mode is GenerationMode.POSITIVE:
            for name in list(case.path_parameters or {}):
                if name in real and data.draw(st.booleans()):
                    case.path_parameters[name] = data.draw(st.sampled_from(real[name]))
        checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
        status = "raised"
        try:
            response = case.call(session=http)  # an unhandled server exception is re-raised here
            status = response.status_code
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - each failure is reported below
            key = f"{label} {mode.value} {status} {type(exc).__name__}"
            if key not in seen:
                seen.add(key)
                failures.append(f"{key} as {role}:\n{str(exc)[:1500]}\n{case.as_curl_command()[:600]}")

    if SEED is not None:
        run = seed(int(SEED))(run)
    try:
        run()
    except Unsatisfiable:
        # an operation whose every input accepts anything (no body, free-text ids) cannot be sent a malformed one
        assert mode is GenerationMode.NEGATIVE and "requestBody" not in operation.definition.raw, label


def test_every_route_holds_under_fuzzing(client, auth, sample, engine):
    world = build_world(client, auth)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    labels = []
    with get_client(client.app) as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            labels.append(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(operation, mode, world, http, failures)
    assert set(labels) == set(WHO), "the fuzz run and the authorization matrix cover different routes"
    if UNDOCUMENTED:
        print("\nundocumented answers (accepted as the contract's common ones):")
        for label, codes in sorted(UNDOCUMENTED.items()):
            print(f"  {label}: {sorted(codes)}")
    assert not failures, f"{len(failures)} distinct failure(s):\n\n" + "\n\n".join(failures)


@pytest.fixture(autouse=True)
def _fresh_report():
    UNDOCUMENTED.clear()
    yield
