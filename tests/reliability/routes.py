"""Well-formed requests for every route, aimed at the objects of the reliability world."""

from __future__ import annotations


def ids_for(label: str, world) -> dict[str, str]:
    """Ids of objects every role allowed on this route may see, in the state the route needs."""
    path = label.split(" ", 1)[1]
    cycle = world.cycles["open"]
    if any(x in path for x in ("allocation", "pick-list", "/ui/distribution/")):
        cycle = world.cycles["published"]
    if "forecasts" in path:
        cycle = world.cycles["planned"]
    if "scenarios" in path:
        cycle = world.cycles["closed"]
    return {"cycle_id": cycle, "retailer_id": world.own_retailer, "manager_id": world.manager_id,
            "run_id": world.run_id, "adjustment_id": world.adjustment_id, "scenario_id": world.scenario_id}


def target(label: str, world, **override: str) -> tuple[str, dict]:
    """The URL to call for a route (ids from ids_for, or as overridden) and a well-formed request for it."""
    url = label.split(" ", 1)[1].format(**{**ids_for(label, world), **override})
    if label.startswith(("GET /v1/accuracy", "GET /v1/compliance")):  # the policy route ignores the parameter
        url += f"?cycle_id={world.cycles['published']}"
    brand = world.brands[0]
    bodies = {
        "POST /v1/cycles": {"json": {"name": "matrix", "start_date": "2027-01-04", "end_date": "2027-01-10"}},
        "PUT /v1/cycles/{cycle_id}/supply": {"json": [{"brand_code": brand, "quantity": 5}]},
        "PUT /v1/cap-policy": {"json": {}},
        "PUT /v1/allocation-policy": {"json": {"priority": "volume"}},
        "PUT /v1/compliance-policy": {"json": {"min_cluster": 3, "min_lines": 3}},
        "PUT /v1/supply-policy": {"json": {"weeks": 4}},
        "POST /v1/cycles/{cycle_id}/scenarios": {"json": {"name": "matrix", "supply": [{"brand_code": brand,
                                                                                        "quantity": 5}]}},
        "PUT /v1/cycles/{cycle_id}/availability": {"json": [{"brand_code": brand, "quantity": 5}]},
        "PUT /v1/cycles/{cycle_id}/caps": {"json": [{"retailer_id": world.own_retailer, "cap": 100}]},
        "POST /v1/cycles/{cycle_id}/cap-adjustments": {"json": {"moves": [
            {"from_retailer_id": world.own_retailer, "to_retailer_id": world.retailers[1], "quantity": 1}],
            "reason": "matrix"}},
        "PUT /v1/cycles/{cycle_id}/orders/{retailer_id}": {"json": {"lines": [{"brand_code": brand, "quantity": 1}]}},
        "POST /v1/cycles/{cycle_id}/orders/import": {
            "content": f"retailer_id,brand_code,quantity\n{world.own_retailer},{brand},2\n".encode(),
            "headers": {"Content-Type": "text/csv"}},
        "POST /v1/cycles/{cycle_id}/orders/{retailer_id}/approve": {"json": {"version": 1}},
        "PUT /v1/cycles/{cycle_id}/forecasts/{manager_id}": {"json": {"lines": [{"brand_code": brand, "quantity": 3}]}},
        "POST /v1/cap-adjustments/{adjustment_id}/reject": {"json": {"reason": "matrix"}},
    }
    return url, bodies.get(label, {})


def call(client, label: str, url: str, headers: dict, request: dict):
    method = label.split(" ", 1)[0]
    extra = request.get("headers", {})
    kwargs = {k: v for k, v in request.items() if k != "headers"}
    return client.request(method, url, headers={**headers, **extra}, **kwargs)
