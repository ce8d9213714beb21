"""The small city the run and distribution tests allocate, with its allocation worked out by hand.

Supply A 1000, B 0, C 10000, D 900. R1 (cap 700) wants A 600 and C 300; R2 wants A 600 and D 600; R6 (weight 2)
wants D 600; R3 wants B 400; R5's collected order (C 200) is approved; R4's collected order (A 500) is not, so
it is left out; R7 has no order. The only maximal allocation gives R1 C 300 and A 400 (its cap) so that R2 gets
its A 600; D is shared by fill ratio x/(w·d): R2 300/600 = R6 600/(2·600).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from models.runs import start_run
from models.tables import Brand, Cap, Cycle, Manager, Retailer, Supply, User
from models.tables_demand import Order, OrderLine
from models.types import utcnow
from models.users import Principal, create_user

MANAGERS = [("M1", "Manager one", "MM1"), ("M2", "Manager two", "MM1"), ("M3", "Manager three", "MM2")]
# retailer, manager, route, weekday
RETAILERS = [("R1", "M1", "RT1", 2), ("R2", "M1", "RT1", 2), ("R3", "M1", "RT2", 2), ("R4", "M2", "RT2", 2),
             ("R5", "M2", "RT2", 2), ("R6", "M2", "RT1", 4), ("R7", "M3", "RT2", 3)]
PRICES = {"A": Decimal("100.00"), "B": Decimal("20.50"), "C": Decimal("35.10"), "D": Decimal("12.34"),
          "E": Decimal("7.77")}
SUPPLY = {"A": 1000, "B": 0, "C": 10000, "D": 900, "E": 50}
CAPS = {"R1": (700, Decimal(1)), "R2": (10000, Decimal(1)), "R3": (10000, Decimal(1)),
        "R4": (10000, Decimal(1)), "R5": (10000, Decimal(1)), "R6": (10000, Decimal(2)),
        "R7": (10000, Decimal(1))}
# retailer -> (channel, approved, lines)
ORDERS = {"R1": ("retailer_stated", False, {"A": 600, "C": 300}),
          "R2": ("retailer_stated", False, {"A": 600, "D": 600}),
          "R3": ("retailer_stated", False, {"B": 400}),
          "R4": ("collected", False, {"A": 500}),
          "R5": ("collected", True, {"C": 200}),
          "R6": ("retailer_stated", False, {"D": 600})}
# (retailer, spec) -> (demanded, allocated, reason)
EXPECTED = {("R1", "A"): (600, 400, "cap"), ("R1", "C"): (300, 300, "full"), ("R2", "A"): (600, 600, "full"),
            ("R2", "D"): (600, 300, "supply"), ("R3", "B"): (400, 0, "no_supply"), ("R5", "C"): (200, 200, "full"),
            ("R6", "D"): (600, 600, "full")}
ROUTE = {r: (route, day) for r, _, route, day in RETAILERS}
OWNER = {r: m for r, m, _, _ in RETAILERS}


def expected_rows(keep=lambda rid: True) -> list[dict]:
    """The published rows the hand allocation implies, value = price × allocated worked out here."""
    return [{"retailer_id": r, "brand_code": b, "demanded": d, "allocated": a, "reason": why,
             "route_id": ROUTE[r][0], "delivery_weekday": ROUTE[r][1], "value": f"{PRICES[b] * a:.2f}"}
            for (r, b), (d, a, why) in sorted(EXPECTED.items()) if keep(r)]


def add_master(session, company_id: int) -> None:
    """Managers, retailers and specs of the small city."""
    for mid, name, mm in MANAGERS:
        session.add(Manager(company_id=company_id, manager_id=mid, name=name, market_manager_id=mm))
    session.flush()
    for rid, mid, route, day in RETAILERS:
        session.add(Retailer(company_id=company_id, retailer_id=rid, name=f"shop {rid}", manager_id=mid, tier=10,
                             market_type="urban", business_format="convenience", route_id=route,
                             delivery_weekday=day, size_class="small"))
    for code, price in PRICES.items():
        session.add(Brand(company_id=company_id, brand_code=code, name=f"spec {code}", price_class=2,
                          wholesale_price=price))
    session.flush()


def loader(session, company_id: int) -> User:
    user = session.execute(select(User).where(User.company_id == company_id, User.name == "world-loader")) \
        .scalar_one_or_none()
    return user or create_user(session, company_id, "admin", name="world-loader")[0]


def add_cycle(session, company_id: int, name: str = "2026-W47", status: str = "closed",
              orders: dict | None = None) -> Cycle:
    """A cycle with the world's supply, caps and orders, written directly (no API), in the given state."""
    user = loader(session, company_id)
    now = utcnow()
    cycle = Cycle(company_id=company_id, name=name, start_date=date(2026, 11, 16), end_date=date(2026, 11, 22),
                  opens_at=now - timedelta(days=1), status=status, closed_at=now if status == "closed" else None)
    session.add(cycle)
    session.flush()
    for code, qty in SUPPLY.items():
        session.add(Supply(cycle_id=cycle.id, company_id=company_id, brand_code=code, quantity=qty))
    for rid, (cap, weight) in CAPS.items():
        session.add(Cap(cycle_id=cycle.id, company_id=company_id, retailer_id=rid, cap=cap, weight=weight,
                        source="set"))
    for rid, (channel, approved, lines) in (ORDERS if orders is None else orders).items():
        session.add(Order(cycle_id=cycle.id, retailer_id=rid, company_id=company_id, version=1, channel=channel,
                          body_sha256="x" * 64, total=sum(lines.values()), submitted_by=user.id,
                          approved_version=1 if approved else None))
        session.flush()
        for code, qty in lines.items():
            session.add(OrderLine(cycle_id=cycle.id, retailer_id=rid, brand_code=code, company_id=company_id,
                                  quantity=qty))
    session.flush()
    return cycle


def admin_principal(session, company_id: int) -> Principal:
    user = loader(session, company_id)
    return Principal(user_id=user.id, company_id=company_id, role="admin", name=user.name)


def queue_run(session, company_id: int, cycle_id: int) -> int:
    """A queued run, committed, as the API would leave it before its worker starts."""
    run = start_run(session, admin_principal(session, company_id), cycle_id)
    session.commit()
    return run.id


def pull_all(client, path: str, headers: dict, limit: int, between=None, **params) -> list[dict]:
    """Every item of a paged list, calling between() before each next page."""
    items, cursor = [], None
    while True:
        r = client.get(path, headers=headers, params={"limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items
        if between:
            between()


def csv_rows(text: str) -> list[dict]:
    """CSV text as dicts with the JSON rows' types."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for r in rows:
        for col in ("demanded", "allocated", "delivery_weekday"):
            r[col] = int(r[col])
    return rows
