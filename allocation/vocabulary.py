"""The domain's words and limits, named once so tables, engine, API and CLI cannot drift apart.

Every enum is a `StrEnum`: a member is its contract string (`Role.ADMIN == "admin"`), so it goes into
SQL, JSON and CSV unchanged. Order of members is the order messages list them in.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a user is; CONTRACT.md's five roles."""

    ADMIN = "admin"
    ACCOUNT_MANAGER = "account_manager"
    MARKET_MANAGER = "market_manager"
    DISTRIBUTION_CENTER = "distribution_center"
    AUDITOR = "auditor"


class CycleState(StrEnum):
    """planned -> open -> closed -> published (closed -> open by reopen); open is also derived from opens_at."""

    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


# states whose orders are final: accuracy and compliance score only these
FINAL_CYCLE_STATES = (CycleState.CLOSED, CycleState.PUBLISHED)
# states in which supply and caps may still change
WRITABLE_CYCLE_STATES = (CycleState.PLANNED, CycleState.OPEN)


class OrderState(StrEnum):
    """An order's status as shown: derived from its channel and approval, never stored."""

    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"


class RunState(StrEnum):
    """An allocation run's life: queued -> running -> succeeded or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# at most one run per cycle is in one of these at a time
ACTIVE_RUN_STATES = (RunState.QUEUED, RunState.RUNNING)


class Channel(StrEnum):
    """How an order reached the service: as the retailer stated it, or collected on its behalf (needs sign-off)."""

    RETAILER_STATED = "retailer_stated"
    COLLECTED = "collected"


class SizeClass(StrEnum):
    """A retailer's size (大、中、小); the floating band depends on it."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"


class RetailerStatus(StrEnum):
    """A suspended retailer cannot order and gets no cap."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class MarketType(StrEnum):
    """城网 / 农网."""

    URBAN = "urban"
    RURAL = "rural"


class Reason(StrEnum):
    """Why a line got what it got, in the order the contract tests them (no supply, else cap, else supply)."""

    FULL = "full"
    NO_SUPPLY = "no_supply"
    CAP = "cap"
    SUPPLY = "supply"


# the reasons a short line can have
SHORT_REASONS = (Reason.NO_SUPPLY, Reason.CAP, Reason.SUPPLY)


class CapSource(StrEnum):
    """Where a cap came from: the policy, a hand, or an approved adjustment."""

    COMPUTED = "computed"
    SET = "set"
    ADJUSTED = "adjusted"


class AdjustmentState(StrEnum):
    """A cap adjustment waits for its market manager's decision."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Priority(StrEnum):
    """What an allocation puts first (DOMAIN.md "Volume first, or choice first")."""

    VOLUME = "volume"  # the most cartons, shortages shared by fill ratio (the default)
    CHOICE = "choice"  # orders above their cap cut evenly first, so capped retailers keep their scarce specs


# limits, each enforced by the files, the API and (where stored) a database CHECK
LINE_MAX = 10_000  # cartons in one demand line: keeps the engine's integer costs exact and small
CAP_MAX = 1_000_000  # cartons of one retailer's cap
SUPPLY_MAX = 1_000_000_000  # cartons of one spec's supply in a cycle
WEIGHT_MAX = 10_000  # a retailer's fairness weight
WEIGHT_DECIMALS = 2  # a weight is given to cents, so weights × demand stay exact integers
TIER_MIN, TIER_MAX = 1, 30  # 档位
CARTONS_PER_CASE = 250  # 1 大箱 = 250 条
PAGE_LIMIT_DEFAULT = 100  # items in a list page when the caller gives no limit
PAGE_LIMIT_MAX = 1000  # most items a caller may ask for in one page


def values(members) -> tuple[str, ...]:
    """The plain strings of an enum or a tuple of members, for SQL CHECKs and messages."""
    return tuple(str(m) for m in members)
