"""A small hand-made company for the order tests: two market managers' teams, a suspended retailer, a cap."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from models.tables import Brand, Cap, Cycle, Manager, Retailer
from models.types import utcnow

MANAGERS = {"M1": "MM1", "M2": "MM1", "M3": "MM2"}
RETAILERS = {"R1": "M1", "R2": "M1", "R5": "M1", "R3": "M2", "R4": "M3"}
SUSPENDED = {"R5"}
BRANDS = ["B1", "B2", "B3", "B4", "B5"]
CAP_R1 = 100


def add_world(session, company_id: int) -> dict:
    """Master data, an open, a planned and a closed cycle, and R1's cap in the open one."""
    session.add_all([Manager(company_id=company_id, manager_id=m, name=m, market_manager_id=mm)
                     for m, mm in MANAGERS.items()])
    session.flush()
    session.add_all([Retailer(company_id=company_id, retailer_id=r, name=f"shop {r}", manager_id=m, tier=10,
                              market_type="urban", business_format="convenience_store", route_id="RT1",
                              delivery_weekday=2, size_class="small",
                              status="suspended" if r in SUSPENDED else "active") for r, m in RETAILERS.items()])
    session.add_all([Brand(company_id=company_id, brand_code=b, name=b, price_class=2,
                           wholesale_price=Decimal("80.00")) for b in BRANDS])
    now, today = utcnow(), date(2026, 11, 23)
    cycles = {}
    for name, opens, status in (("open", now - timedelta(hours=1), "planned"),
                                ("planned", now + timedelta(days=3), "planned"),
                                ("closed", now - timedelta(days=2), "closed")):
        c = Cycle(company_id=company_id, name=f"{name}-{now.timestamp()}", start_date=today,
                  end_date=today + timedelta(days=6), opens_at=opens, status=status)
        session.add(c)
        session.flush()
        cycles[name] = c.id
    session.add(Cap(cycle_id=cycles["open"], retailer_id="R1", company_id=company_id, cap=CAP_R1))
    session.flush()
    return cycles


def make_world(session, company) -> dict:
    """The world committed, so the API's own sessions see it; returns the cycle ids by name."""
    cycles = add_world(session, company.id)
    session.commit()
    return cycles


def order_url(cycle_id, retailer_id="R1", suffix=""):
    return f"/v1/cycles/{cycle_id}/orders/{retailer_id}{suffix}"


def body(*pairs, channel=None):
    out = {"lines": [{"brand_code": b, "quantity": q} for b, q in pairs]}
    if channel:
        out["channel"] = channel
    return out
