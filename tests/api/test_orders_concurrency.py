"""Concurrent writers on real PostgreSQL connections: no mixed bodies, no gaps in versions, one effect per key."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.tables import AuditEvent
from models.tables_demand import Order, OrderLine, OrderVersion
from models.users import create_user, get_or_create_company
from tests.worlds.orders import add_world, order_url
from tests.conftest import make_client
from tests.threads import run_threads

pytestmark = pytest.mark.pg_only
THREADS = 6


@pytest.fixture
def pg(pg_committed_engine):
    """The small world committed on PostgreSQL (tables emptied afterwards by the engine fixture)."""
    engine = pg_committed_engine
    with Session(engine) as s:
        company = get_or_create_company(s, "concurrent", "Concurrent")
        cycles = add_world(s, company.id)
        tokens = {role: create_user(s, company.id, role, name=role, manager_id=mid)[1]
                  for role, mid in (("account_manager", "M1"), ("market_manager", "MM1"), ("admin", None))}
        s.commit()
    return engine, cycles["open"], {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}


def test_concurrent_puts_never_mix_bodies(pg):
    engine, cycle, tokens = pg
    per_thread = 4

    def lines_of(i, k):
        # each body has a different spec set and quantities, so a mix of two would be visible
        specs = ["B1", "B2", "B3", "B4", "B5"][: 1 + (i + k) % 5]
        return [{"brand_code": b, "quantity": 100 * i + 10 * k + j} for j, b in enumerate(specs)]

    def work(i, client):
        return [client.put(order_url(cycle, "R1"), json={"lines": lines_of(i, k)},
                           headers=tokens["account_manager"]).status_code for k in range(per_thread)]

    statuses = [s for r in run_threads(THREADS, work, setup=lambda _i: make_client(engine)) for s in r]
    assert Counter(statuses) == Counter({201: 1, 200: THREADS * per_thread - 1})
    sent = [sorted((x["brand_code"], x["quantity"]) for x in lines_of(i, k))
            for i in range(THREADS) for k in range(per_thread)]
    with Session(engine) as s:
        order = s.get(Order, (cycle, "R1"))
        final = sorted(s.execute(select(OrderLine.brand_code, OrderLine.quantity)
                                 .where(OrderLine.cycle_id == cycle, OrderLine.retailer_id == "R1")).all())
        versions = s.execute(select(OrderVersion.version, OrderVersion.lines)
                             .where(OrderVersion.cycle_id == cycle).order_by(OrderVersion.version)).all()
        audits = s.execute(select(AuditEvent.new).where(AuditEvent.object_type == "order")).scalars().all()
    assert [tuple(x) for x in final] in sent
    assert order.version == THREADS * per_thread == len(versions)
    assert [v for v, _ in versions] == list(range(1, order.version + 1))
    assert sorted(sorted((x["brand_code"], x["quantity"]) for x in lines) for _, lines in versions) == sorted(sent)
    assert sorted((x["brand_code"], x["quantity"]) for x in versions[-1][1]) == [tuple(x) for x in final]
    assert order.total == sum(q for _, q in final)
    assert sorted(a["version"] for a in audits) == list(range(1, order.version + 1))


def test_concurrent_posts_with_one_key_have_one_effect(pg):
    engine, cycle, tokens = pg
    text = "retailer_id,brand_code,quantity\nR1,B1,4\nR2,B2,5\n"

    def work(i, client):
        r = client.post(f"/v1/cycles/{cycle}/orders/import", content=text,
                        headers={**tokens["admin"], "Content-Type": "text/csv", "Idempotency-Key": "same"})
        return r.status_code, r.text

    results = run_threads(THREADS, work, setup=lambda _i: make_client(engine))
    codes = Counter(c for c, _ in results)
    assert set(codes) <= {200, 409} and codes[200] >= 1
    assert len({t for c, t in results if c == 200}) == 1
    with Session(engine) as s:
        imports = s.execute(select(AuditEvent).where(AuditEvent.action == "order.import")).scalars().all()
        versions = s.execute(select(OrderVersion.retailer_id, OrderVersion.version)).all()
    assert len(imports) == 1 and sorted(versions) == [("R1", 1), ("R2", 1)]


def test_concurrent_imports_and_puts_stay_consistent(pg):
    engine, cycle, tokens = pg

    def work(i, client):
        if i % 2:
            return client.put(order_url(cycle, "R2"), json={"lines": [{"brand_code": "B3", "quantity": i}]},
                              headers=tokens["account_manager"]).status_code
        text = f"retailer_id,brand_code,quantity\nR1,B1,{i}\nR2,B2,{i}\nR2,B4,{i}\n"
        return client.post(f"/v1/cycles/{cycle}/orders/import", content=text,
                           headers={**tokens["account_manager"], "Content-Type": "text/csv"}).status_code

    assert set(run_threads(THREADS, work, setup=lambda _i: make_client(engine))) <= {200, 201}
    with Session(engine) as s:
        for rid in ("R1", "R2"):
            order = s.get(Order, (cycle, rid))
            hist = s.execute(select(OrderVersion.version, OrderVersion.lines).where(
                OrderVersion.retailer_id == rid).order_by(OrderVersion.version)).all()
            lines = s.execute(select(OrderLine.brand_code, OrderLine.quantity).where(
                OrderLine.retailer_id == rid).order_by(OrderLine.brand_code)).all()
            assert [v for v, _ in hist] == list(range(1, order.version + 1))
            assert [(x["brand_code"], x["quantity"]) for x in hist[-1][1]] == [tuple(x) for x in lines]
