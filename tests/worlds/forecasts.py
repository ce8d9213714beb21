"""Seed: master data, cycles, orders and forecasts written straight into the tables, for the accuracy,
forecast, compliance and supply tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from models.tables import Brand, Cycle, Manager, Retailer
from models.tables_demand import Forecast, ForecastVersion, Order, OrderLine
from models.users import Principal, create_user


class Seed:
    """Writes master data, cycles, orders and forecasts straight into the tables for a test."""

    def __init__(self, session, company_id: int):
        self.session, self.company_id = session, company_id
        self._user = None

    @property
    def user_id(self) -> int:
        if self._user is None:
            self._user, _ = create_user(self.session, self.company_id, "admin", name="seed-admin")
        return self._user.id

    def managers(self, team: dict[str, str | None]) -> None:
        for mid, mm in team.items():
            self.session.add(Manager(company_id=self.company_id, manager_id=mid, name=f"manager {mid}",
                                     market_manager_id=mm))
        self.session.flush()

    def brands(self, specs: dict[str, bool]) -> None:
        for code, key in specs.items():
            self.session.add(Brand(company_id=self.company_id, brand_code=code, name=f"spec {code}", price_class=2,
                                   wholesale_price=Decimal("80.00"), is_key=key))
        self.session.flush()

    def retailers(self, owners: dict[str, str]) -> None:
        for rid, mid in owners.items():
            self.session.add(Retailer(company_id=self.company_id, retailer_id=rid, name=f"shop {rid}", manager_id=mid,
                                      tier=10, market_type="urban", business_format="convenience", route_id="R01",
                                      delivery_weekday=2, size_class="small"))
        self.session.flush()

    def cycle(self, name: str, start: date, status: str = "closed", opens_in_days: int | None = None) -> int:
        opens = datetime.now(UTC) + timedelta(days=opens_in_days if opens_in_days is not None else -10)
        c = Cycle(company_id=self.company_id, name=name, start_date=start, end_date=start + timedelta(days=6),
                  opens_at=opens, status=status)
        self.session.add(c)
        self.session.flush()
        return c.id

    def order(self, cycle_id: int, rid: str, lines: dict[str, int], channel: str = "retailer_stated",
              version: int = 1, approved_version: int | None = None) -> None:
        self.session.add(Order(cycle_id=cycle_id, retailer_id=rid, company_id=self.company_id, version=version,
                               channel=channel, body_sha256="0" * 64, total=sum(lines.values()),
                               submitted_by=self.user_id, approved_version=approved_version))
        self.session.flush()
        for code, q in lines.items():
            self.session.add(OrderLine(cycle_id=cycle_id, retailer_id=rid, brand_code=code,
                                       company_id=self.company_id, quantity=q))
        self.session.flush()

    def forecast(self, cycle_id: int, mid: str, lines: dict[str, int]) -> None:
        """As if the manager had forecast while the cycle was planned (the route refuses it later)."""
        self.session.add(ForecastVersion(cycle_id=cycle_id, manager_id=mid, version=1, company_id=self.company_id,
                                         lines=[{"brand_code": c, "quantity": q} for c, q in lines.items()],
                                         submitted_by=self.user_id))
        for code, q in lines.items():
            self.session.add(Forecast(cycle_id=cycle_id, manager_id=mid, brand_code=code, company_id=self.company_id,
                                      quantity=q))
        self.session.flush()


def who(company_id: int, role: str, manager_id: str | None = None, user_id: int = 0) -> Principal:
    return Principal(user_id=user_id, company_id=company_id, role=role, name=role, manager_id=manager_id)


def as_dict(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(r.manager_id, r.brand_code): int(r.quantity) for r in frame.itertuples()}
