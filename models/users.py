"""Companies, users and API tokens: who is calling, for which company, in which role."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from allocation.vocabulary import Role
from models.errors import Conflict, Invalid, NotFound
from models.tables import ApiToken, Company, Manager, User
from models.types import utcnow

DEFAULT_COMPANY = "default"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; every query is scoped by its company and, for managers, its people."""

    user_id: int
    company_id: int
    role: str
    name: str
    manager_id: str | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_company(session: Session, code: str = DEFAULT_COMPANY, name: str | None = None,
                          timezone: str = "Asia/Shanghai") -> Company:
    company = session.execute(select(Company).where(Company.code == code)).scalar_one_or_none()
    if company is None:
        company = Company(code=code, name=name or code, timezone=timezone)
        session.add(company)
        session.flush()
    return company


COMPANY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def create_company(session: Session, code: str, name: str, timezone: str = "Asia/Shanghai") -> Company:
    """Another city company in this deployment; its data, users and runs are seen by nobody else."""
    if not COMPANY_CODE.fullmatch(code):
        raise Invalid(f"company code {code!r}: use 1 to 64 letters, digits, '_', '.' or '-', starting with a "
                      "letter or digit")
    if not name.strip() or len(name) > 200:
        raise Invalid("the company name must be 1 to 200 characters")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {timezone!r}; use an IANA name such as Asia/Shanghai") from None
    if session.execute(select(Company.id).where(Company.code == code)).first() is not None:
        raise Conflict(f"a company with code {code!r} exists already", "company_exists")
    company = Company(code=code, name=name.strip(), timezone=timezone)
    session.add(company)
    session.flush()
    return company


def list_companies(session: Session) -> list[Company]:
    return list(session.execute(select(Company).order_by(Company.id)).scalars())


def company_by_code(session: Session, code: str | None) -> Company:
    """The named company, or the one company of a fresh install when no code is given."""
    if code:
        company = session.execute(select(Company).where(Company.code == code)).scalar_one_or_none()
        if company is None:
            raise NotFound(f"no company with code {code!r}")
        return company
    companies = session.execute(select(Company).order_by(Company.id).limit(2)).scalars().all()
    if not companies:
        return get_or_create_company(session)
    if len(companies) > 1:
        raise Invalid("several companies exist; name one with --company CODE")
    return companies[0]


def create_user(session: Session, company_id: int, role: str, name: str | None = None,
                manager_id: str | None = None) -> tuple[User, str]:
    """A new user and its API token; the token is returned once and only its SHA-256 is kept."""
    if role not in tuple(Role):
        raise Invalid(f"unknown role {role!r}; one of {', '.join(Role)}")
    if role in (Role.ACCOUNT_MANAGER, Role.MARKET_MANAGER):
        if not manager_id:
            raise Invalid(f"a {role} user needs --manager-id")
        if role == Role.ACCOUNT_MANAGER and session.get(Manager, (company_id, manager_id)) is None:
            raise NotFound(f"no account manager {manager_id!r} in this company; load the managers first")
        if role == Role.MARKET_MANAGER:
            exists = session.execute(select(Manager.manager_id).where(
                Manager.company_id == company_id, Manager.market_manager_id == manager_id).limit(1)).first()
            if exists is None:
                raise NotFound(f"no account manager reports to market manager {manager_id!r}")
    name = name or (f"{role}-{manager_id}" if manager_id else f"{role}-{secrets.token_hex(3)}")
    user = session.execute(select(User).where(User.company_id == company_id, User.name == name)).scalar_one_or_none()
    if user is None:
        user = User(company_id=company_id, name=name, role=role, manager_id=manager_id)
        session.add(user)
        session.flush()
    elif user.role != role or user.manager_id != manager_id:
        raise Invalid(f"user {name!r} exists with role {user.role}; choose another --name")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=token_digest(token)))
    session.flush()
    return user, token


def revoke_user(session: Session, company_id: int, name: str) -> int:
    user = session.execute(select(User).where(User.company_id == company_id, User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {name!r}")
    _token_cache.clear()
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow()))
    return result.rowcount


# digest -> (principal, monotonic expiry): a burst of requests with one token costs one lookup. A revocation
# in this process clears it at once; one made elsewhere (another process) takes effect within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 2.0
_token_cache: dict[str, tuple[Principal, float]] = {}
_TOKEN_LOOKUP = (select(ApiToken.token_sha256, User.id, User.company_id, User.role, User.name, User.manager_id)
                 .join(User, User.id == ApiToken.user_id)
                 .where(ApiToken.token_sha256 == bindparam("digest"), ApiToken.revoked_at.is_(None)))


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The caller behind a bearer token, or None; the digest is compared in constant time."""
    digest = token_digest(token)
    cached = _token_cache.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    row = session.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        _token_cache.pop(digest, None)
        return None
    principal = Principal(user_id=row[1], company_id=row[2], role=row[3], name=row[4], manager_id=row[5])
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[digest] = (principal, time.monotonic() + TOKEN_CACHE_SECONDS)
    return principal


_zones: dict[int, str] = {}


def company_timezone(session: Session, company_id: int) -> str:
    """The company's time zone, in which its dates and deadlines are read (set when the company is created)."""
    zone = _zones.get(company_id)
    if zone is None:
        company = session.get(Company, company_id)
        zone = _zones[company_id] = company.timezone if company is not None else "Asia/Shanghai"
    return zone
