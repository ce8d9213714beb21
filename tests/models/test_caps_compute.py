"""The cap computation's inputs and results against figures worked out by hand from the policy's formula."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from allocation.cap_policy import CapPolicy
from models.cap_adjustments import net_effect
from models.caps import _iso_week, cap_inputs, compute_cycle_caps, current_policy, put_policy
from models.errors import Conflict
from models.tables import Cap, Cycle, History
from models.users import Principal
from tests.worlds.caps import W49, W50, W51, add_cycle, add_order, build_world, publish


@pytest.fixture
def world(session, company):
    return build_world(session, company.id)


def admin(world) -> Principal:
    return Principal(user_id=world.admin_id, company_id=world.company_id, role="admin", name="world-admin")


def caps_of(session, cycle_id: int) -> dict[str, int]:
    return dict(session.execute(select(Cap.retailer_id, Cap.cap).where(Cap.cycle_id == cycle_id)).all())


def with_tier5_default(session, world) -> None:
    put_policy(session, admin(world), CapPolicy(tier_default_weekly={5: 5}, tier_weights={25: 1.5}))


def test_history_is_summed_over_specs_per_week(session, world):
    cycle = session.get(Cycle, add_cycle(session, world, "W50", W50))
    retailers, history, allocated = cap_inputs(session, world.company_id, cycle)
    assert sorted(retailers["retailer_id"]) == ["r1", "r2", "r3", "r4", "r5", "r6"]
    got = {(r, p): q for r, p, q in history.itertuples(index=False)}
    assert got[("r1", "2026-W40")] == 10 and got[("r4", "2026-W40")] == 7 and got[("r3", "2026-W47")] == 8
    assert len(got) == 12 + 12 + 3 and allocated.empty


def test_earlier_orders_count_as_history_and_replace_that_weeks_loaded_rows(session, world):
    early = add_cycle(session, world, "W49", W49, status="closed")
    add_order(session, world, early, "r3", {"b1": 5, "b2": 7})
    # loaded history of the same ISO week must not count twice: the cycle's orders are the record
    session.add(History(company_id=world.company_id, retailer_id="r3", period="2026-W49", brand_code="b1",
                        quantity=100))
    later = add_cycle(session, world, "W51", W51)
    add_order(session, world, later, "r2", {"b1": 9})  # a later cycle is no history of W50
    cycle = session.get(Cycle, add_cycle(session, world, "W50", W50))
    _, history, _ = cap_inputs(session, world.company_id, cycle)
    r3 = {p: q for r, p, q in history.itertuples(index=False) if r == "r3"}
    assert r3 == {"2026-W46": 8, "2026-W47": 8, "2026-W48": 8, "2026-11-30": 12}
    assert "r2" not in set(history["retailer_id"])


def test_only_published_allocations_of_earlier_cycles_this_month_count(session, world):
    nov = add_cycle(session, world, "W49", W49, status="published")
    publish(session, world, nov, {("r1", "b1"): 50})  # November: another month
    dec7 = add_cycle(session, world, "W50", W50, status="published")
    publish(session, world, dec7, {("r1", "b1"): 4, ("r1", "b2"): 3, ("r4", "b2"): 2})
    cycle = session.get(Cycle, add_cycle(session, world, "W51", W51))
    _, _, allocated = cap_inputs(session, world.company_id, cycle)
    assert dict(zip(allocated["retailer_id"], allocated["allocated"])) == {"r1": 7, "r4": 2}


def test_caps_match_hand_computed_figures(session, world):
    """December 2026 has four weekly cycles from the 7th (n = 4, L = 7): the month is 28 days.

    r1: 120 cartons over 12 weeks -> B = 120*28/(7*12) = 40, large +5 % -> M = 42, cap = min(42 // 4, ceil(1.5*42/4)) = 10
    r2: tier 5 default 5 a week -> B = 5*28/7 = 20, small +15 % -> M = 23, cap = min(5, 9) = 5
    r3: 3 weeks of history < 4 -> tier default = median B of tier 15 urban = r4's 28 -> M = 30, cap 7
    r4: 84 over 12 weeks -> B = 28, medium +10 % -> M = 30, cap = min(7, 12) = 7
    r5: tier 25 without a policy default -> median B of tier 25 urban = r1's 40 -> M = 42, cap 10
    """
    with_tier5_default(session, world)
    cycle_id = add_cycle(session, world, "W50", W50)
    summary = compute_cycle_caps(session, admin(world), cycle_id)
    assert caps_of(session, cycle_id) == {"r1": 10, "r2": 5, "r3": 7, "r4": 7, "r5": 10}
    assert summary["computed"] == 5 and summary["computed_total"] == 39 and summary["policy_version"] == 2
    assert summary["by_method"] == {"history": 2, "tier_default": 3}
    assert summary["by_size_class"] == {"large": {"count": 2, "total": 20}, "medium": {"count": 2, "total": 14},
                                        "small": {"count": 1, "total": 5}}
    r1 = session.get(Cap, (cycle_id, "r1"))
    assert float(r1.weight) == 1.5 and r1.source == "computed" and r1.policy_version == 2
    assert r1.basis["base_monthly"] == 40 and r1.basis["monthly_cap"] == 42 and r1.basis["band"] == 0.05
    assert r1.basis["bound"] == 16 and r1.basis["cycles_left"] == 4 and r1.basis["method"] == "history"


def test_an_earlier_cycles_order_makes_four_weeks_of_history(session, world):
    """r3: W46-W48 8 each plus 12 ordered in the cycle of 30 November -> T = 36 over s = 4 weeks,
    B = 36*28/(7*4) = 36, medium -> M = 39, cap = min(39 // 4, ceil(1.5*39/4)) = min(9, 15) = 9."""
    early = add_cycle(session, world, "W49", W49, status="closed")
    add_order(session, world, early, "r3", {"b1": 5, "b2": 7})
    session.add(History(company_id=world.company_id, retailer_id="r3", period="2026-W49", brand_code="b1",
                        quantity=100))
    cycle_id = add_cycle(session, world, "W50", W50)
    compute_cycle_caps(session, admin(world), cycle_id)
    cap = session.get(Cap, (cycle_id, "r3"))
    assert cap.cap == 9 and cap.basis["method"] == "history" and cap.basis["weeks_with_orders"] == 4


def test_second_cycle_of_the_month_spends_what_is_left(session, world):
    """r1 took 7 in the cycle of 7 December: cap = min((42 - 7) // 3, 16) = 11; carry-over = 42*1//4 - 7 = 3.
    r4 took nothing published: cap = min(30 // 3, 12) = 10."""
    dec7 = add_cycle(session, world, "W50", W50, status="published")
    publish(session, world, dec7, {("r1", "b1"): 7})
    cycle_id = add_cycle(session, world, "W51", W51)
    compute_cycle_caps(session, admin(world), cycle_id)
    r1, r4 = session.get(Cap, (cycle_id, "r1")), session.get(Cap, (cycle_id, "r4"))
    assert (r1.cap, r1.basis["allocated_so_far"], r1.basis["carry_over"], r1.basis["cycles_left"]) == (11, 7, 3, 3)
    assert r4.cap == 10


def test_suspended_retailer_loses_its_computed_cap_on_recompute(session, world):
    from models.tables import Retailer

    cycle_id = add_cycle(session, world, "W50", W50)
    compute_cycle_caps(session, admin(world), cycle_id)
    session.get(Retailer, (world.company_id, "r4")).status = "suspended"
    session.flush()
    summary = compute_cycle_caps(session, admin(world), cycle_id)
    assert "r4" not in caps_of(session, cycle_id) and summary["removed"] == 1


def test_bad_stored_period_is_a_conflict_naming_it(session, world):
    session.add(History(company_id=world.company_id, retailer_id="r2", period="last spring", brand_code="b1",
                        quantity=1))
    cycle_id = add_cycle(session, world, "W50", W50)
    with pytest.raises(Conflict, match="'last spring' are neither an ISO week"):
        compute_cycle_caps(session, admin(world), cycle_id)


def test_fresh_company_policy_is_version_one_defaults_once(session, world):
    first = current_policy(session, world.company_id)
    again = current_policy(session, world.company_id)
    assert first.version == again.version == 1 and first.params == CapPolicy().model_dump(mode="json")


@pytest.mark.parametrize("period, week", [("2026-W05", "2026-W05"), ("2026W05", "2026-W05"),
                                          ("2026-02-01", "2026-W05"), ("2027-01-01", "2026-W53"), ("May", None)])
def test_iso_week_of_a_period(period, week):
    assert _iso_week(period) == week


moves = st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from("abcde"), st.integers(1, 50))
                 .filter(lambda m: m[0] != m[1]), min_size=1, max_size=12)


@given(moves)
def test_net_effect_conserves_the_total_and_matches_a_direct_tally(ms):
    effect = net_effect([{"from_retailer_id": a, "to_retailer_id": b, "quantity": q} for a, b, q in ms])
    tally: Counter[str] = Counter()
    for a, b, q in ms:
        tally[a] -= q
        tally[b] += q
    assert sum(effect.values()) == 0 and all(effect.get(k, 0) == v for k, v in tally.items())
