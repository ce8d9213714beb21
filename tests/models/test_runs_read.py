"""Reading frames for a run keeps identifiers exact; money is computed exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from models.distribution import value_of
from models.db import read_frame
from models.tables import Brand

TRICKY = ["007", "NA", "null", "", "a,b", 'x"y', "中华(硬)", " padded "]


def test_read_frame_keeps_identifiers_exact(session, company):
    codes = [c for c in TRICKY if c]
    for i, code in enumerate(codes):
        session.add(Brand(company_id=company.id, brand_code=code, name=f"n{i}", price_class=1,
                          wholesale_price=Decimal(f"{i}.05")))
    session.flush()
    stmt = select(Brand.brand_code, Brand.wholesale_price).where(Brand.company_id == company.id) \
        .order_by(Brand.name)
    frame = read_frame(session, stmt, {"brand_code": "str", "wholesale_price": "float64"})
    assert frame["brand_code"].tolist() == codes
    assert frame["wholesale_price"].tolist() == [i + 0.05 for i in range(len(codes))]


def test_read_frame_of_nothing_has_the_columns(session, company):
    stmt = select(Brand.brand_code, Brand.price_class).where(Brand.company_id == -1)
    frame = read_frame(session, stmt, {"brand_code": "str", "price_class": "int64"})
    assert len(frame) == 0 and list(frame.columns) == ["brand_code", "price_class"]
    assert str(frame["price_class"].dtype) == "int64"


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2), st.integers(0, 10_000))
def test_value_is_exact_decimal_arithmetic(price, allocated):
    assert value_of(price, allocated) == str((price * allocated).quantize(Decimal("0.01")))
    assert value_of(float(price), allocated) == value_of(price, allocated)  # SQLite may hand back a float
