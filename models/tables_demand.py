"""What account managers submit for a cycle: orders with every version, forecasts with theirs, and the
per-manager demand sums accuracy keeps for published cycles."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, String, text
from sqlmodel import Field, SQLModel

from allocation.vocabulary import LINE_MAX, Channel
from models.tables import _in, _ts
from models.types import JSONType


class Order(SQLModel, table=True):
    """A retailer's current order for a cycle; every version is kept in order_version."""

    __tablename__ = "retailer_order"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "retailer_id"], ["retailer.company_id", "retailer.retailer_id"]),
        CheckConstraint(_in("channel", Channel), name="channel"),
        CheckConstraint("version >= 1", name="version"),
    )
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    version: int = 1
    channel: str = Field(default=Channel.RETAILER_STATED, sa_type=String(32))
    body_sha256: str = Field(sa_type=String(64))
    total: int = 0
    submitted_by: int = Field(foreign_key="app_user.id")
    submitted_at: datetime = _ts()
    approved_version: Optional[int] = None
    approved_by: Optional[int] = Field(default=None, foreign_key="app_user.id")
    approved_at: Optional[datetime] = _ts(nullable=True)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cycle_id", "retailer_id"], ["retailer_order.cycle_id", "retailer_order.retailer_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["company_id", "brand_code"], ["brand.company_id", "brand.brand_code"]),
        CheckConstraint(f"quantity BETWEEN 0 AND {LINE_MAX}", name="quantity"),
    )
    cycle_id: int = Field(primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    quantity: int


class OrderVersion(SQLModel, table=True):
    """Immutable history of an order: who sent which lines, when, by which channel."""

    __tablename__ = "order_version"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cycle_id", "retailer_id"], ["retailer_order.cycle_id", "retailer_order.retailer_id"],
        ),
    )
    cycle_id: int = Field(primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    version: int = Field(primary_key=True)
    channel: str = Field(sa_type=String(32))
    lines: list = Field(default_factory=list, sa_type=JSONType)
    submitted_by: int = Field(foreign_key="app_user.id")
    submitted_at: datetime = _ts()


class Forecast(SQLModel, table=True):
    """A manager's current forecast per spec for a cycle."""

    __tablename__ = "forecast"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "manager_id"], ["manager.company_id", "manager.manager_id"]),
        ForeignKeyConstraint(["company_id", "brand_code"], ["brand.company_id", "brand.brand_code"]),
        CheckConstraint("quantity >= 0", name="quantity"),
    )
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    manager_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    quantity: int = Field(sa_type=BigInteger)
    version: int = 1
    submitted_at: datetime = _ts()


class ForecastVersion(SQLModel, table=True):
    __tablename__ = "forecast_version"
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    manager_id: str = Field(sa_type=String(64), primary_key=True)
    version: int = Field(primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    lines: list = Field(default_factory=list, sa_type=JSONType)
    submitted_by: int = Field(foreign_key="app_user.id")
    submitted_at: datetime = _ts()


class DemandSnapshot(SQLModel, table=True):
    """A published cycle's counted demand is final, so accuracy keeps its per-manager sums instead of re-adding
    every order line; valid while the retailer-to-manager assignment it was built on (its SHA-256) holds."""

    __tablename__ = "demand_snapshot"
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    assignment_sha256: str = Field(sa_type=String(64))
    built_at: datetime = _ts()


class DemandSnapshotLine(SQLModel, table=True):
    """A published cycle's counted demand and its published allocation, per manager and spec."""

    __tablename__ = "demand_snapshot_line"
    cycle_id: int = Field(foreign_key="demand_snapshot.cycle_id", primary_key=True)
    manager_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    quantity: int = Field(sa_type=BigInteger)
    allocated: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": text("0")})


class SpecTotalBasis(SQLModel, table=True):
    """Which orders (their count, versions and latest write), close (closed_at) and published run a cycle's spec
    totals were summed on: an order written, a reopen and a new close, or a publication make them another basis's,
    and they are summed again."""

    __tablename__ = "spec_total_basis"
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    closed_at: Optional[datetime] = _ts(nullable=True)
    run_id: Optional[int] = None
    orders: Optional[str] = Field(default=None, sa_type=String(100))
    built_at: datetime = _ts()


class SpecTotal(SQLModel, table=True):
    """A cycle's cartons per spec: ordered (every current order) and, once published, allocated."""

    __tablename__ = "spec_total"
    cycle_id: int = Field(foreign_key="spec_total_basis.cycle_id", primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    demand: Optional[int] = Field(default=None, sa_type=BigInteger)  # null: no order line of the spec
    allocated: Optional[int] = Field(default=None, sa_type=BigInteger)  # null: unpublished, or no row of the spec


class ComplianceKept(SQLModel, table=True):
    """A set of final cycles' compliance sums per manager and their clusters, kept while what they were read from
    holds (basis_sha256: the cycles and their closes, the retailers' managers and statuses, the brands' prices and
    key flags, the approved cap moves, the policy version); a history load forgets the company's."""

    __tablename__ = "compliance_kept"
    company_id: int = Field(foreign_key="company.id", primary_key=True)
    cycles_sha256: str = Field(sa_type=String(64), primary_key=True)  # of the cycle ids, sorted
    basis_sha256: str = Field(sa_type=String(64))
    sums: dict = Field(default_factory=dict, sa_type=JSONType)
    clusters: list = Field(default_factory=list, sa_type=JSONType)
    built_at: datetime = _ts()


class AccuracyKept(SQLModel, table=True):
    """A final cycle's accuracy rows per manager, every manager of the company ranked, kept while what they were
    scored from holds (basis_sha256: the close, the publication, the retailers' managers and statuses, the key
    brands); forecasts and orders cannot change while the cycle is final."""

    __tablename__ = "accuracy_kept"
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    basis_sha256: str = Field(sa_type=String(64))
    rows: dict = Field(default_factory=dict, sa_type=JSONType)
    built_at: datetime = _ts()
