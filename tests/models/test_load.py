"""Loading master data: the sample loads, reloads without duplicates, and bad files load nothing."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from sqlalchemy import func, select

from models.load import LoadError, load_dir
from models.tables import Brand, History, Manager, Retailer
from tests.conftest import SAMPLE


def counts(session, company_id):
    return {t.__name__: session.execute(select(func.count()).select_from(t).where(t.company_id == company_id)).scalar()
            for t in (Manager, Retailer, Brand, History)}


def test_sample_loads_and_reloads_without_duplicates(session, company):
    first = load_dir(session, company.id, SAMPLE)
    c1 = counts(session, company.id)
    assert c1["Retailer"] == len(pd.read_csv(SAMPLE / "retailers.csv", dtype=str))
    assert c1["History"] == first["history"] > 0
    load_dir(session, company.id, SAMPLE)
    assert counts(session, company.id) == c1


def test_reload_updates_rows(session, company, tmp_path):
    for f in SAMPLE.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    load_dir(session, company.id, tmp_path)
    df = pd.read_csv(tmp_path / "retailers.csv", dtype=str, keep_default_na=False)
    rid = df.retailer_id.iloc[0]
    df.loc[0, "name"] = "改名的零售户"
    df.to_csv(tmp_path / "retailers.csv", index=False)
    load_dir(session, company.id, tmp_path)
    assert session.get(Retailer, (company.id, rid)).name == "改名的零售户"


def test_leading_zeros_are_kept(session, company, tmp_path):
    (tmp_path / "managers.csv").write_text("manager_id,name,market_manager_id\n007,王经理,MM1\n")
    (tmp_path / "retailers.csv").write_text(
        "retailer_id,name,manager_id,tier,market_type,business_format,route_id,delivery_weekday\n"
        "0430102100001,店,007,12,urban,convenience,R01,2\n")
    load_dir(session, company.id, tmp_path)
    r = session.get(Retailer, (company.id, "0430102100001"))
    assert r is not None and r.manager_id == "007" and r.size_class is None and r.status == "active"


@pytest.mark.parametrize("name,header,row,expect", [
    ("retailers", "retailer_id,name,manager_id,tier,market_type,business_format,route_id,delivery_weekday",
     "R9,店,M_X,31,urban,kiosk,R1,2", "retailers.csv, line 2, column tier"),
    ("retailers", "retailer_id,name,manager_id,tier,market_type,business_format,route_id",
     "R9,店,M_X,3,urban,kiosk,R1", "missing required column(s) delivery_weekday"),
    ("retailers", "retailer_id,name,manager_id,tier,market_type,business_format,route_id,delivery_weekday",
     "R9,店,M_X,3,suburb,kiosk,R1,2", "column market_type"),
    ("brands", "brand_code,name,price_class,wholesale_price,is_key", "B9,烟,6,10.5,1", "column price_class"),
    ("brands", "brand_code,name,price_class,wholesale_price,is_key", "B9,烟,2,-3,1", "column wholesale_price"),
    ("brands", "brand_code,name,price_class,wholesale_price,is_key", "B9,烟,2,3,maybe", "column is_key"),
    ("history", "retailer_id,period,brand_code,quantity", "NOPE,2026-W01,NOPE,5", "column retailer_id"),
    ("history", "retailer_id,period,brand_code,quantity", "NOPE,2026-W01,NOPE,1.5", "column quantity"),
])
def test_bad_file_names_file_line_column_and_loads_nothing(session, company, tmp_path, name, header, row, expect):
    (tmp_path / "managers.csv").write_text("manager_id,name,market_manager_id\nM_X,经理,MM1\n")
    (tmp_path / f"{name}.csv").write_text(f"{header}\n{row}\n")
    before = counts(session, company.id)
    with pytest.raises(LoadError) as exc:
        load_dir(session, company.id, tmp_path)
    assert expect in str(exc.value)
    assert counts(session, company.id) == before   # the valid managers.csv was not written either


def test_duplicate_key_is_refused(session, company, tmp_path):
    (tmp_path / "managers.csv").write_text("manager_id,name,market_manager_id\nM1,a,MM\nM1,b,MM\n")
    with pytest.raises(LoadError, match=r"managers.csv, line 3, column manager_id: duplicate key"):
        load_dir(session, company.id, tmp_path)


def test_blank_lines_are_skipped_and_faults_keep_their_file_lines(session, company, tmp_path):
    (tmp_path / "managers.csv").write_text("manager_id,name,market_manager_id\n\nM1,a,MM\n\n\nM1,b,MM\n\n")
    with pytest.raises(LoadError, match=r"managers.csv, line 6, column manager_id: duplicate key"):
        load_dir(session, company.id, tmp_path)
