"""Every table of the service; constraints live here so the database enforces the rules too."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from allocation.vocabulary import (
    ACTIVE_RUN_STATES,
    CAP_MAX,
    LINE_MAX,
    TIER_MAX,
    TIER_MIN,
    AdjustmentState,
    CapSource,
    Channel,
    CycleState,
    MarketType,
    Priority,
    Reason,
    RetailerStatus,
    Role,
    RunState,
    SizeClass,
)
from models.leases import Leased
from models.types import JSONType, UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



def _in(col: str, values) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{col} IN ({quoted})"


def _ts(nullable: bool = False, **kw: Any):
    return Field(default_factory=utcnow if not nullable else None, sa_type=UTCDateTime, nullable=nullable, **kw)


class Company(SQLModel, table=True):
    __tablename__ = "company"
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(64), unique=True)
    name: str = Field(sa_type=String(200))
    timezone: str = Field(default="Asia/Shanghai", sa_type=String(64))
    created_at: datetime = _ts()


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        CheckConstraint(_in("role", Role), name="role"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(sa_type=String(200))
    role: str = Field(sa_type=String(32))
    manager_id: Optional[str] = Field(default=None, sa_type=String(64))
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_sha256: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = _ts()
    revoked_at: Optional[datetime] = _ts(nullable=True)


class Manager(SQLModel, table=True):
    """An account manager; market managers are the ids named in market_manager_id."""

    __tablename__ = "manager"
    company_id: int = Field(foreign_key="company.id", primary_key=True)
    manager_id: str = Field(sa_type=String(64), primary_key=True)
    name: str = Field(sa_type=String(200))
    market_manager_id: Optional[str] = Field(default=None, sa_type=String(64), index=True)


class Retailer(SQLModel, table=True):
    __tablename__ = "retailer"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "manager_id"], ["manager.company_id", "manager.manager_id"]),
        CheckConstraint(f"tier BETWEEN {TIER_MIN} AND {TIER_MAX}", name="tier"),
        CheckConstraint(_in("market_type", MarketType), name="market_type"),
        CheckConstraint("delivery_weekday BETWEEN 1 AND 7", name="weekday"),
        CheckConstraint(_in("size_class", SizeClass), name="size_class"),
        CheckConstraint(_in("status", RetailerStatus), name="status"),
        CheckConstraint("order_every_weeks BETWEEN 1 AND 4", name="order_every"),
        Index("ix_retailer_manager", "company_id", "manager_id"),
        Index("ix_retailer_route", "company_id", "route_id", "delivery_weekday"),
    )
    company_id: int = Field(foreign_key="company.id", primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    name: str = Field(sa_type=String(200))
    manager_id: str = Field(sa_type=String(64))
    tier: int
    market_type: str = Field(sa_type=String(16))
    business_format: str = Field(sa_type=String(64))
    route_id: str = Field(sa_type=String(64))
    delivery_weekday: int
    # None: the cap policy derives the size class from the tier (its mapping is configurable)
    size_class: Optional[str] = Field(default=None, sa_type=String(16))
    status: str = Field(default=RetailerStatus.ACTIVE, sa_type=String(16))
    order_every_weeks: int = Field(default=1)


class Brand(SQLModel, table=True):
    """A specification (规格); `brand` is its family."""

    __tablename__ = "brand"
    __table_args__ = (
        CheckConstraint("price_class BETWEEN 1 AND 5", name="price_class"),
        CheckConstraint("wholesale_price >= 0", name="price"),
    )
    company_id: int = Field(foreign_key="company.id", primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    name: str = Field(sa_type=String(200))
    brand: str = Field(default="", sa_type=String(200))
    price_class: int
    wholesale_price: Decimal = Field(sa_type=Numeric(12, 2))
    is_key: bool = False
    is_scarce: bool = False


class History(SQLModel, table=True):
    """Past demand per retailer, period and spec: the cap policy's evidence.

    Checked at load (known retailer, no duplicate key) rather than by foreign keys: a city's six million
    lines must load in seconds, and a per-row foreign-key trigger would triple that. Past demand may name
    specs since delisted; it still counts to the retailer's total. The key leads with the period, the order
    in which history arrives, so loading appends to the index instead of scattering through it.
    """

    __tablename__ = "history"
    __table_args__ = (CheckConstraint(f"quantity BETWEEN 0 AND {LINE_MAX}", name="quantity"),)
    company_id: int = Field(primary_key=True)
    period: str = Field(sa_type=String(32), primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    quantity: int


class Cycle(SQLModel, table=True):
    __tablename__ = "cycle"
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        CheckConstraint(_in("status", CycleState), name="status"),
        CheckConstraint("end_date >= start_date", name="dates"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(sa_type=String(200))
    start_date: date
    end_date: date
    opens_at: datetime = _ts()
    status: str = Field(default=CycleState.PLANNED, sa_type=String(16))
    closed_at: Optional[datetime] = _ts(nullable=True)
    published_at: Optional[datetime] = _ts(nullable=True)
    published_run_id: Optional[int] = Field(default=None)
    created_at: datetime = _ts()


class Supply(SQLModel, table=True):
    __tablename__ = "supply"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "brand_code"], ["brand.company_id", "brand.brand_code"]),
        CheckConstraint("quantity >= 0", name="quantity"),
    )
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    quantity: int = Field(sa_type=BigInteger)


class PolicyVersion(SQLModel):
    """The columns of every versioned policy: a new PUT adds a version, never edits one (not a table itself)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    version: int
    params: dict = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _ts()
    created_by: Optional[int] = Field(default=None, foreign_key="app_user.id")


def policy_version_args() -> tuple:
    """One version number per company and policy, counting from 1."""
    return UniqueConstraint("company_id", "version"), CheckConstraint("version >= 1", name="version")


class CapPolicyVersion(PolicyVersion, table=True):
    """One version of the floating-cap policy."""

    __tablename__ = "cap_policy"
    __table_args__ = policy_version_args()


class CompliancePolicyVersion(PolicyVersion, table=True):
    """One version of the compliance policy (the identical-order cluster thresholds)."""

    __tablename__ = "compliance_policy"
    __table_args__ = policy_version_args()


class AllocationPolicyVersion(PolicyVersion, table=True):
    """One version of the allocation policy (its priority)."""

    __tablename__ = "allocation_policy"
    __table_args__ = policy_version_args()


class Cap(SQLModel, table=True):
    """A retailer's total cap for one cycle: an upper limit only, never a floor or a per-spec figure."""

    __tablename__ = "cap"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "retailer_id"], ["retailer.company_id", "retailer.retailer_id"]),
        CheckConstraint(f"cap BETWEEN 0 AND {CAP_MAX}", name="cap"),
        CheckConstraint("weight > 0", name="weight"),
        CheckConstraint(_in("source", CapSource), name="source"),
    )
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    cap: int
    weight: Decimal = Field(default=Decimal("1"), sa_type=Numeric(6, 2))
    source: str = Field(default=CapSource.COMPUTED, sa_type=String(16))
    policy_version: Optional[int] = None
    basis: dict = Field(default_factory=dict, sa_type=JSONType)
    updated_at: datetime = _ts()


class CapAdjustment(SQLModel, table=True):
    __tablename__ = "cap_adjustment"
    __table_args__ = (CheckConstraint(_in("status", AdjustmentState), name="status"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    manager_id: str = Field(sa_type=String(64))
    reason: str = Field(sa_type=String(1000))
    status: str = Field(default=AdjustmentState.PENDING, sa_type=String(16))
    moves: list = Field(default_factory=list, sa_type=JSONType)
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = _ts()
    decided_by: Optional[int] = Field(default=None, foreign_key="app_user.id")
    decided_at: Optional[datetime] = _ts(nullable=True)


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


class AllocationRun(Leased, table=True):
    """A run of the engine on a closed cycle's snapshot; executed under a lease (models.leases)."""

    __tablename__ = "allocation_run"
    __table_args__ = (
        CheckConstraint(_in("status", RunState), name="status"),
        CheckConstraint(_in("priority", Priority), name="priority"),
        # at most one run per cycle is queued or running at a time
        Index(
            "uq_allocation_run_active", "cycle_id", unique=True,
            sqlite_where=text(_in("status", ACTIVE_RUN_STATES)),
            postgresql_where=text(_in("status", ACTIVE_RUN_STATES)),
        ),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    status: str = Field(default=RunState.QUEUED, sa_type=String(16))
    # what the run put first (DOMAIN.md "Volume first, or choice first"); the policy's when the request named none
    priority: str = Field(default=Priority.VOLUME, sa_type=String(16),
                          sa_column_kwargs={"server_default": Priority.VOLUME.value})
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = _ts()
    started_at: Optional[datetime] = _ts(nullable=True)
    finished_at: Optional[datetime] = _ts(nullable=True)
    # the cycle's closed_at when the run was started: a run of an earlier close is stale and cannot be published
    cycle_closed_at: Optional[datetime] = _ts(nullable=True)
    totals: dict = Field(default_factory=dict, sa_type=JSONType)
    timings: dict = Field(default_factory=dict, sa_type=JSONType)
    certificate: dict = Field(default_factory=dict, sa_type=JSONType)
    excluded_orders: list = Field(default_factory=list, sa_type=JSONType)
    error: Optional[str] = Field(default=None, sa_type=String(2000))


class Allocation(SQLModel, table=True):
    """One line of a run's result.

    No foreign key to allocation_run: the only writer is the run itself, inserting under its own row lock in one
    transaction, and a per-row foreign-key trigger would add about a fifth to writing a city's half million rows.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("allocated >= 0 AND allocated <= demanded", name="allocated"),
        CheckConstraint(_in("reason", Reason), name="reason"),
    )
    run_id: int = Field(primary_key=True)
    retailer_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    demanded: int
    allocated: int
    reason: str = Field(sa_type=String(16))


class Publication(SQLModel, table=True):
    """The distribution center's feed: id order is publish order, and one per cycle."""

    __tablename__ = "publication"
    id: Optional[int] = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    run_id: int = Field(foreign_key="allocation_run.id", unique=True)
    published_at: datetime = _ts()
    published_by: int = Field(foreign_key="app_user.id")


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


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_company_id_id", "company_id", "id"),)
    id: Optional[int] = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                              primary_key=True, autoincrement=True))
    company_id: int = Field(foreign_key="company.id")
    at: datetime = _ts()
    actor_user_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    actor_role: Optional[str] = Field(default=None, sa_type=String(32))
    action: str = Field(sa_type=String(64))
    object_type: str = Field(sa_type=String(64))
    object_id: str = Field(sa_type=String(200))
    old: Optional[dict] = Field(default=None, sa_type=JSONType)
    new: Optional[dict] = Field(default=None, sa_type=JSONType)
    reason: Optional[str] = Field(default=None, sa_type=String(1000))


class IdempotencyKey(SQLModel, table=True):
    """A POST's stored response, committed with its effect, so a retry does the work once."""

    __tablename__ = "idempotency_key"
    __table_args__ = (CheckConstraint(_in("state", ("in_flight", "done")), name="state"),)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    key: str = Field(sa_type=String(200), primary_key=True)
    request_sha256: str = Field(sa_type=String(64))
    state: str = Field(default="in_flight", sa_type=String(16))
    status_code: Optional[int] = None
    response_body: Optional[str] = None
    created_at: datetime = _ts()


# Tables kept in modules of their own, registered on the metadata with the rest wherever tables are imported.
import models.tables_scenarios  # noqa: E402,F401
import models.tables_supply  # noqa: E402,F401
