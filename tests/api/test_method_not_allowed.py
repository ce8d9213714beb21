"""A 405 names in Allow every method the schema documents for that URL, and answers {detail, code}."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "template"), [
    ("/v1/cycles", "/v1/cycles"),  # two routes on one path: the router alone would name only the first
    ("/v1/cycles/1/orders/import", "/v1/cycles/{cycle_id}/orders/import"),  # not /orders/{retailer_id}, which
    ("/v1/cycles/1/orders/R1", "/v1/cycles/{cycle_id}/orders/{retailer_id}"),  # also matches it
    ("/health", "/health"),
])
def test_405_lists_the_methods_the_schema_documents(client, path, template):
    documented = client.app.openapi()["paths"][template]
    allow = {m.upper() for m in documented} | ({"HEAD"} if "get" in documented else set())
    for method in ("OPTIONS", "DELETE", "PATCH"):
        if method.lower() in documented:
            continue
        r = client.request(method, path)
        assert r.status_code == 405, (method, path, r.text)
        assert set(r.headers["Allow"].split(", ")) == allow, (method, path)
        assert r.json()["code"] == "method_not_allowed" and r.headers["Allow"] in r.json()["detail"]
