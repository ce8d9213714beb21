"""Tables of the supply plan: the supply policy's versions and what the industrial companies can deliver."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKeyConstraint, String
from sqlmodel import Field, SQLModel

from models.tables import PolicyVersion, policy_version_args


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
