"""The migrations build exactly the models' schema, on both databases, and re-running them changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from models.migrate import include_name, upgrade


def test_upgrade_from_empty_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"migrations and models differ: {diff}"


def test_every_table_exists_and_upgrade_is_idempotent(engine):
    upgrade(engine)
    names = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= names
    assert "alembic_version" in names


def test_database_enforces_constraints(session, company):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    session.execute(text("INSERT INTO manager (company_id, manager_id, name) VALUES (:c, 'M1', 'm')"),
                    {"c": company.id})
    bad = [
        ("INSERT INTO retailer (company_id, retailer_id, name, manager_id, tier, market_type, business_format,"
         " route_id, delivery_weekday, size_class, status, order_every_weeks)"
         " VALUES (:c, 'R1', 'r', 'M1', 31, 'urban', 'kiosk', 'RT1', 1, 'small', 'active', 1)"),   # tier > 30
        ("INSERT INTO retailer (company_id, retailer_id, name, manager_id, tier, market_type, business_format,"
         " route_id, delivery_weekday, size_class, status, order_every_weeks)"
         " VALUES (:c, 'R1', 'r', 'NOPE', 3, 'urban', 'kiosk', 'RT1', 1, 'small', 'active', 1)"),  # unknown manager
        ("INSERT INTO brand (company_id, brand_code, name, brand, price_class, wholesale_price, is_key, is_scarce)"
         " VALUES (:c, 'B1', 'b', 'b', 1, -1, false, false)"),                                      # negative price
    ]
    for sql in bad:
        with pytest.raises(IntegrityError):
            with session.begin_nested():
                session.execute(text(sql), {"c": company.id})
