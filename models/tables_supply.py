"""Tables of the supply plan: the supply policy's versions and what the industrial companies can deliver."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, String
from sqlmodel import Field, SQLModel

from models.tables import PolicyVersion, _ts, policy_version_args


class SupplyPolicyVersion(PolicyVersion, table=True):
    """One version of the supply policy (factors per price class, weeks projected); a PUT adds one, never edits."""

    __tablename__ = "supply_policy"
    __table_args__ = policy_version_args()


class Availability(SQLModel, table=True):
    """What the industrial companies can deliver of a spec for a cycle; a spec without a row is unlimited."""

    __tablename__ = "availability"
    __table_args__ = (
        ForeignKeyConstraint(["company_id", "brand_code"], ["brand.company_id", "brand.brand_code"]),
        CheckConstraint("quantity >= 0", name="quantity"),
    )
    cycle_id: int = Field(foreign_key="cycle.id", primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    company_id: int
    quantity: int = Field(sa_type=BigInteger)


class ProjectionBasis(SQLModel, table=True):
    """What a window of weeks' projected demand was read from (a digest of the window's final cycles and of the
    retailers' managers and statuses): the supply plan sums those weeks again only when it changes, or after a
    history load, which forgets every kept window of the company."""

    __tablename__ = "projection_basis"
    company_id: int = Field(foreign_key="company.id", primary_key=True)
    weeks: str = Field(sa_type=String(32), primary_key=True)  # the first ISO week and how many, e.g. 2026-W39+8
    basis_sha256: str = Field(sa_type=String(64))
    built_at: datetime = _ts()


class ProjectionLine(SQLModel, table=True):
    """A manager's mean week of one spec over the window (allocation.projection.project_mean), as kept."""

    __tablename__ = "projection_line"
    __table_args__ = (ForeignKeyConstraint(["company_id", "weeks"], ["projection_basis.company_id",
                                                                     "projection_basis.weeks"]),)
    company_id: int = Field(primary_key=True)
    weeks: str = Field(sa_type=String(32), primary_key=True)
    manager_id: str = Field(sa_type=String(64), primary_key=True)
    brand_code: str = Field(sa_type=String(64), primary_key=True)
    quantity: int = Field(sa_type=BigInteger)
