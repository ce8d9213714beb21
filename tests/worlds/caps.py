"""A small hand-made company whose caps are worked out by hand in the tests that use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal


from models.tables import Brand, Cycle, History, Manager, Retailer
from models.tables_demand import Order, OrderLine
from models.tables_runs import Allocation, AllocationRun, Publication
from models.users import create_user

# Account managers A1 and A2 report to market manager MA; A3 reports to MB.
MANAGERS = [("A1", "MA"), ("A2", "MA"), ("A3", "MB")]
# retailer: manager, tier, size class, status
RETAILERS = {
    "r1": ("A1", 25, "large", "active"),
    "r2": ("A1", 5, "small", "active"),
    "r3": ("A1", 15, "medium", "active"),
    "r4": ("A2", 15, "medium", "active"),
    "r5": ("A3", 25, "large", "active"),
    "r6": ("A1", 5, "small", "suspended"),
}
WINDOW = [f"2026-W{w}" for w in range(38, 50)]  # the 12 ISO weeks before 2026-W50 (Monday 7 December 2026)
W50 = (date(2026, 12, 7), date(2026, 12, 13))  # first of the four weekly cycles starting in December 2026
W51 = (date(2026, 12, 14), date(2026, 12, 20))
W49 = (date(2026, 11, 30), date(2026, 12, 6))


@dataclass
class World:
    company_id: int
    admin_id: int
    cycles: dict[str, int] = field(default_factory=dict)


def history_rows(company_id: int) -> list[History]:
    """r1 orders 10 a week (6 of b1, 4 of b2) all 12 weeks; r3 8 of b1 in W46-W48; r4 7 of b2 all 12 weeks."""
    rows = []
    for period in WINDOW:
        rows += [History(company_id=company_id, retailer_id="r1", period=period, brand_code="b1", quantity=6),
                 History(company_id=company_id, retailer_id="r1", period=period, brand_code="b2", quantity=4),
                 History(company_id=company_id, retailer_id="r4", period=period, brand_code="b2", quantity=7)]
    rows += [History(company_id=company_id, retailer_id="r3", period=p, brand_code="b1", quantity=8)
             for p in ("2026-W46", "2026-W47", "2026-W48")]
    return rows


def build_world(session, company_id: int) -> World:
    for mid, mm in MANAGERS:
        session.add(Manager(company_id=company_id, manager_id=mid, name=f"manager {mid}", market_manager_id=mm))
    session.flush()
    for rid, (mid, tier, size, status) in RETAILERS.items():
        session.add(Retailer(company_id=company_id, retailer_id=rid, name=f"shop {rid}", manager_id=mid, tier=tier,
                             market_type="urban", business_format="convenience", route_id="R1", delivery_weekday=2,
                             size_class=size, status=status))
    for code, price in (("b1", "55.00"), ("b2", "20.00")):
        session.add(Brand(company_id=company_id, brand_code=code, name=f"spec {code}", price_class=3,
                          wholesale_price=Decimal(price)))
    session.flush()
    session.add_all(history_rows(company_id))
    admin, _ = create_user(session, company_id, "admin", name="world-admin")
    session.commit()
    return World(company_id, admin.id)


def add_cycle(session, world: World, name: str, dates: tuple[date, date], status: str = "planned") -> int:
    """A cycle written directly (open since a day ago unless a status says otherwise)."""
    from models.types import utcnow

    cycle = Cycle(company_id=world.company_id, name=name, start_date=dates[0], end_date=dates[1],
                  opens_at=utcnow() - timedelta(days=1), status=status)
    session.add(cycle)
    session.flush()
    world.cycles[name] = cycle.id
    return cycle.id


def add_order(session, world: World, cycle_id: int, retailer_id: str, lines: dict[str, int]) -> None:
    session.add(Order(cycle_id=cycle_id, retailer_id=retailer_id, company_id=world.company_id, version=1,
                      body_sha256="0" * 64, total=sum(lines.values()), submitted_by=world.admin_id))
    session.flush()
    for code, qty in lines.items():
        session.add(OrderLine(cycle_id=cycle_id, retailer_id=retailer_id, brand_code=code,
                              company_id=world.company_id, quantity=qty))
    session.flush()


def publish(session, world: World, cycle_id: int, allocated: dict[tuple[str, str], int]) -> int:
    """A published run of the cycle with these allocations, as the publish step would leave it."""
    run = AllocationRun(company_id=world.company_id, cycle_id=cycle_id, status="succeeded", created_by=world.admin_id)
    session.add(run)
    session.flush()
    for (rid, code), qty in allocated.items():
        session.add(Allocation(run_id=run.id, retailer_id=rid, brand_code=code, demanded=qty + 3, allocated=qty,
                               reason="supply"))
    session.add(Publication(company_id=world.company_id, cycle_id=cycle_id, run_id=run.id,
                            published_by=world.admin_id))
    session.flush()
    return run.id
