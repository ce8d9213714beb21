"""Cap policy and caps over HTTP: versions, computed caps with basis, caps set by hand, refusals of floors and quotas."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from allocation.cap_policy import CapPolicy
from models.tables import AuditEvent, Cap
from tests.worlds.caps import W50, add_cycle, build_world


@pytest.fixture
def world(session, company):
    return build_world(session, company.id)


RULE_WORDS = "总量浮动管理"


@pytest.fixture
def cid(session, world) -> str:
    cycle_id = add_cycle(session, world, "W50", W50)
    session.commit()
    return str(cycle_id)


def all_caps(client, headers, cid, **params) -> dict[str, dict]:
    got, cursor = {}, None
    while True:
        r = client.get(f"/v1/cycles/{cid}/caps", headers=headers,
                       params={"limit": 2, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        got.update({c["retailer_id"]: c for c in r.json()["items"]})
        cursor = r.json()["next_cursor"]
        if not cursor:
            return got


# ---- the policy -------------------------------------------------------------------------------------------------

def test_fresh_company_reads_version_one_defaults(client, auth, world):
    for role in ("admin", "auditor"):
        r = client.get("/v1/cap-policy", headers=auth(role))
        assert r.status_code == 200
        assert r.json()["version"] == 1 and r.json()["params"] == CapPolicy().model_dump(mode="json")
        assert r.json()["created_by"] is None


@pytest.mark.parametrize("role, manager", [("account_manager", "A1"), ("market_manager", "MA"),
                                           ("distribution_center", None)])
def test_policy_is_not_for_other_roles(client, auth, world, role, manager):
    assert client.get("/v1/cap-policy", headers=auth(role, manager)).status_code == 403
    assert client.put("/v1/cap-policy", json={}, headers=auth(role, manager)).status_code == 403


def test_auditor_reads_but_never_writes_the_policy(client, auth, world):
    assert client.put("/v1/cap-policy", json={"floor": 1}, headers=auth("auditor")).status_code == 403


def test_put_adds_a_version_audited_and_a_repeat_changes_nothing(client, auth, world, session):
    body = {"bands": {"large": 0.08, "medium": 0.1, "small": 0.2}, "tier_default_weekly": {"5": 5}}
    r = client.put("/v1/cap-policy", json=body, headers=auth("admin"))
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["params"]["bands"]["large"] == 0.08
    assert r.json()["params"]["history_weeks"] == 12  # an omitted field takes its default
    assert client.put("/v1/cap-policy", json=body, headers=auth("admin")).json()["version"] == 2
    assert client.get("/v1/cap-policy", headers=auth("auditor")).json() == r.json()
    assert client.put("/v1/cap-policy", json={}, headers=auth("admin")).json()["version"] == 3
    events = session.execute(select(AuditEvent).where(AuditEvent.action == "cap_policy.update")
                             .order_by(AuditEvent.id)).scalars().all()
    assert [(e.old["version"], e.new["version"]) for e in events] == [(1, 2), (2, 3)]
    assert events[0].old["params"]["bands"]["large"] == 0.05 and events[0].new["params"]["bands"]["large"] == 0.08


@pytest.mark.parametrize("body", [{"floor": 3}, {"minimum": 1}, {"min_quantity": 2},
                                  {"per_spec": {"b1": 2}}, {"bands": {"large": 0.05, "minimum": 0.01}}])
def test_policy_with_a_floor_or_quota_is_refused_by_the_rule(client, auth, world, body):
    r = client.put("/v1/cap-policy", json=body, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "floor_or_quota_refused"
    assert RULE_WORDS in r.json()["detail"]
    assert client.get("/v1/cap-policy", headers=auth("admin")).json()["version"] == 1


@pytest.mark.parametrize("body, word", [({"history_weeks": 0}, "history_weeks"), ({"bands": {"large": 2}}, "large"),
                                        ({"smoothing_factor": 1.234}, "decimals"), ({"typo": 1}, "typo"),
                                        ([1, 2], "dictionary")])
def test_bad_policy_values_are_422(client, auth, world, body, word):
    r = client.put("/v1/cap-policy", json=body, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request" and word in r.json()["detail"]


# ---- computed caps ----------------------------------------------------------------------------------------------

def test_compute_gives_every_active_retailer_a_whole_cap_with_its_basis(client, auth, world, cid):
    client.put("/v1/cap-policy", json={"tier_default_weekly": {"5": 5}, "tier_weights": {"25": 1.5}},
               headers=auth("admin"))
    r = client.post(f"/v1/cycles/{cid}/caps/compute", headers=auth("admin"))
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["computed"], s["computed_total"], s["total"], s["kept"], s["policy_version"]) == (5, 39, 39, 0, 2)
    caps = all_caps(client, auth("auditor"), cid)
    # hand-computed in tests/models/test_caps_compute.py::test_caps_match_hand_computed_figures
    assert {k: v["cap"] for k, v in caps.items()} == {"r1": 10, "r2": 5, "r3": 7, "r4": 7, "r5": 10}
    assert "r6" not in caps  # suspended
    r2 = caps["r2"]
    assert r2["source"] == "computed" and r2["policy_version"] == 2 and r2["weight"] == 1.0
    assert (r2["basis"]["method"], r2["basis"]["base_monthly"], r2["basis"]["band"], r2["basis"]["monthly_cap"]) == \
        ("tier_default", 20, 0.15, 23)
    assert caps["r5"]["weight"] == 1.5 and caps["r1"]["basis"]["carry_over"] == 0


def test_set_caps_are_kept_unless_overwrite(client, auth, world, cid):
    h = auth("admin")
    client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r4", "cap": 99, "weight": 2.5}], headers=h)
    s = client.post(f"/v1/cycles/{cid}/caps/compute", headers=h).json()
    caps = all_caps(client, h, cid)
    assert (caps["r4"]["cap"], caps["r4"]["weight"], caps["r4"]["source"]) == (99, 2.5, "set")
    assert s["kept"] == 1 and s["computed"] == 4 and s["total"] == s["computed_total"] + 99
    s = client.post(f"/v1/cycles/{cid}/caps/compute", params={"overwrite": "true"}, headers=h).json()
    caps = all_caps(client, h, cid)
    assert caps["r4"]["source"] == "computed" and caps["r4"]["cap"] == 7 and s["kept"] == 0 and s["overwrite"]


def test_compute_is_audited_with_old_and_new_caps(client, auth, world, cid, session):
    h = auth("admin")
    client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r4", "cap": 1}], headers=h)
    client.post(f"/v1/cycles/{cid}/caps/compute", params={"overwrite": "true"}, headers=h)
    events = session.execute(select(AuditEvent).where(AuditEvent.action.in_(["caps.compute", "caps.set"]))
                             .order_by(AuditEvent.id)).scalars().all()
    assert [e.action for e in events] == ["caps.compute", "caps.set", "caps.compute"]
    assert events[0].old["caps"] == {} and set(events[0].new["caps"]) == {"r1", "r2", "r3", "r4", "r5"}
    assert events[1].old == {"caps": {"r4": {"cap": 7, "weight": "1.00", "source": "computed"}}}
    assert events[1].new == {"caps": {"r4": {"cap": 1, "weight": "1.00", "source": "set"}}}
    assert events[2].old["caps"] == {"r4": 1} and events[2].new["caps"] == {"r4": 7}


def test_retried_compute_runs_once(client, auth, world, cid, session):
    h = {**auth("admin"), "Idempotency-Key": "compute-1"}
    first = client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)
    again = client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    n = session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "caps.compute"))
    assert n.scalar() == 1
    other = client.post(f"/v1/cycles/{cid}/caps/compute", params={"overwrite": "true"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


# ---- caps set by hand -------------------------------------------------------------------------------------------

def test_put_sets_the_listed_caps_and_leaves_the_others(client, auth, world, cid, session):
    h = auth("admin")
    client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 12}, {"retailer_id": "r2", "cap": 3}],
               headers=h)
    r = client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r2", "cap": 4, "weight": 1.25}], headers=h)
    assert r.status_code == 200 and r.json() == {"cycle_id": cid, "set": 1, "changed": 1, "total": 16}
    caps = all_caps(client, h, cid)
    assert {k: (v["cap"], v["weight"], v["source"]) for k, v in caps.items()} == \
        {"r1": (12, 1.0, "set"), "r2": (4, 1.25, "set")}
    assert caps["r2"]["basis"]["method"] == "set" and caps["r2"]["policy_version"] is None
    # repeating a PUT changes nothing, and records nothing
    def set_events():
        return session.execute(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "caps.set")).scalar()

    before = set_events()
    assert client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r2", "cap": 4}], headers=h).json()["changed"] == 0
    assert set_events() == before
    assert float(session.get(Cap, (int(cid), "r2")).weight) == 1.25  # an omitted weight keeps the one it had


def test_setting_a_computed_cap_to_its_own_value_makes_it_kept(client, auth, world, cid):
    h = auth("admin")
    client.post(f"/v1/cycles/{cid}/caps/compute", headers=h)
    r4 = all_caps(client, h, cid)["r4"]
    r = client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r4", "cap": r4["cap"]}], headers=h)
    assert r.json()["changed"] == 0 and all_caps(client, h, cid)["r4"]["source"] == "set"
    assert client.post(f"/v1/cycles/{cid}/caps/compute", headers=h).json()["kept"] == 1


@pytest.mark.parametrize("field", ["floor", "min_quantity", "minimum", "brand_code", "per_spec"])
def test_a_floor_or_per_spec_field_is_refused_citing_the_rule(client, auth, world, cid, field):
    r = client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 5, field: 1}], headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "floor_or_quota_refused"
    assert RULE_WORDS in r.json()["detail"] and field in r.json()["detail"]
    assert all_caps(client, auth("admin"), cid) == {}


@pytest.mark.parametrize("item, word", [
    ({"retailer_id": "r1", "cap": 5, "weight": 0}, "weight"),
    ({"retailer_id": "r1", "cap": 5, "weight": -1}, "weight"),
    ({"retailer_id": "r1", "cap": 5, "weight": 1.234}, "decimal"),
    ({"retailer_id": "r1", "cap": 5, "weight": "heavy"}, "weight"),
    ({"retailer_id": "r1", "cap": 1.5}, "cap"),
    ({"retailer_id": "r1", "cap": -1}, "cap"),
    ({"retailer_id": "r1", "cap": 1_000_001}, "cap"),
    ({"retailer_id": "r1"}, "cap"),
])
def test_bad_caps_are_422(client, auth, world, cid, item, word):
    r = client.put(f"/v1/cycles/{cid}/caps", json=[item], headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request" and word in r.json()["detail"]


def test_extreme_legal_caps_and_weights_are_taken(client, auth, world, cid):
    body = [{"retailer_id": "r1", "cap": 1_000_000, "weight": 0.01}, {"retailer_id": "r2", "cap": 0, "weight": 100}]
    assert client.put(f"/v1/cycles/{cid}/caps", json=body, headers=auth("admin")).status_code == 200
    got = all_caps(client, auth("admin"), cid)
    assert {r: (got[r]["cap"], got[r]["weight"]) for r in ("r1", "r2")} == {"r1": (1_000_000, 0.01), "r2": (0, 100)}


def test_unknown_or_repeated_retailer_is_422(client, auth, world, cid):
    h = auth("admin")
    r = client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 1}, {"retailer_id": "nope", "cap": 1}],
                   headers=h)
    assert r.status_code == 422 and r.json()["code"] == "unknown_retailer" and r.json()["retailer_ids"] == ["nope"]
    r = client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 1}, {"retailer_id": "r1", "cap": 2}],
                   headers=h)
    assert r.status_code == 422 and r.json()["code"] == "duplicate_line"
    assert all_caps(client, h, cid) == {}


# ---- who sees and writes caps -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, manager", [("account_manager", "A1"), ("market_manager", "MA"),
                                           ("distribution_center", None), ("auditor", None)])
def test_only_admin_writes_caps(client, auth, world, cid, role, manager):
    h = auth(role, manager)
    assert client.put(f"/v1/cycles/{cid}/caps", json=[{"retailer_id": "r1", "cap": 1}], headers=h).status_code == 403
    assert client.post(f"/v1/cycles/{cid}/caps/compute", headers=h).status_code == 403
    # the role is checked before the body: a bad body from the wrong role is still 403
    assert client.put(f"/v1/cycles/{cid}/caps", json=[{"floor": 1}], headers=h).status_code == 403


def test_managers_see_their_own_or_their_teams_caps(client, auth, world, cid):
    client.post(f"/v1/cycles/{cid}/caps/compute", headers=auth("admin"))
    assert set(all_caps(client, auth("account_manager", "A1"), cid)) == {"r1", "r2", "r3"}
    assert set(all_caps(client, auth("account_manager", "A2"), cid)) == {"r4"}
    assert set(all_caps(client, auth("market_manager", "MA"), cid)) == {"r1", "r2", "r3", "r4"}
    assert set(all_caps(client, auth("market_manager", "MB"), cid)) == {"r5"}
    assert set(all_caps(client, auth("admin"), cid, manager_id="A2")) == {"r4"}
    assert set(all_caps(client, auth("admin"), cid, source="set")) == set()
    assert client.get(f"/v1/cycles/{cid}/caps", headers=auth("distribution_center")).status_code == 403
    assert client.get("/v1/cycles/424242/caps", headers=auth("auditor")).status_code == 404


def test_sample_city_caps_equal_the_policy_applied_to_the_files(client, auth, sample):
    """The whole path (load, query, compute, write, read) against the policy run straight on the CSV files."""
    import pandas as pd

    from allocation.caps import compute_caps
    from tests.conftest import SAMPLE

    h = auth("admin")
    cid = client.post("/v1/cycles", json={"name": "2026-W47", "start_date": "2026-11-16", "end_date": "2026-11-22"},
                      headers=h).json()["id"]
    s = client.post(f"/v1/cycles/{cid}/caps/compute", headers=h).json()
    retailers = pd.read_csv(SAMPLE / "retailers.csv", dtype=str, keep_default_na=False)
    history = pd.read_csv(SAMPLE / "history.csv", dtype={"retailer_id": str, "period": str})
    expected = compute_caps(retailers, history, CapPolicy(), pd.Timestamp("2026-11-16").date(),
                            pd.Timestamp("2026-11-22").date())
    got = {}
    cursor = None
    while True:
        r = client.get(f"/v1/cycles/{cid}/caps", headers=h, params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        got.update({c["retailer_id"]: c for c in r.json()["items"]})
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    active = set(retailers.loc[retailers.status != "suspended", "retailer_id"])
    assert set(got) == active and len(active) < len(retailers)
    assert all(isinstance(c["cap"], int) and 0 <= c["cap"] <= 1_000_000 for c in got.values())
    assert {k: c["cap"] for k, c in got.items()} == dict(zip(expected.retailer_id, expected.cap.tolist()))
    assert {k: c["basis"]["method"] for k, c in got.items()} == dict(zip(expected.retailer_id, expected.method))
    assert s["computed"] == len(active) and s["computed_total"] == int(expected.cap.sum())


def test_any_floor_like_field_on_a_cap_cites_the_rule(client, sample, auth):
    """The same test of a field's meaning as the policy's: not only the four names CONTRACT lists."""
    cycle = client.post("/v1/cycles", json={"name": "floor-like", "start_date": "2026-11-23",
                                            "end_date": "2026-11-29"}, headers=auth("admin")).json()["id"]
    r = client.put(f"/v1/cycles/{cycle}/caps", json=[{"retailer_id": "x", "cap": 5, "min_cap": 1}],
                   headers=auth("admin"))
    assert r.status_code == 422 and r.json()["code"] == "floor_or_quota_refused" and "总量浮动管理" in r.json()["detail"]
