"""The service's tables: companies, users, master data, cycles, caps and policies, the audit log (orders and
forecasts, runs, scenarios and supply have modules of their own); constraints live here so the database enforces
the rules too."""

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
)
from sqlmodel import Field, SQLModel

from allocation.vocabulary import (
    CAP_MAX,
    LINE_MAX,
    TIER_MAX,
    TIER_MIN,
    WEIGHT_DECIMALS,
    AdjustmentState,
    CapSource,
    CycleState,
    MarketType,
    RetailerStatus,
    Role,
    SizeClass,
)
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
    weight: Decimal = Field(default=Decimal("1"), sa_type=Numeric(6, WEIGHT_DECIMALS))
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
import models.tables_demand  # noqa: E402,F401
import models.tables_runs  # noqa: E402,F401
import models.tables_scenarios  # noqa: E402,F401
import models.tables_supply  # noqa: E402,F401
