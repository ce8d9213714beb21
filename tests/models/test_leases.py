"""Leases on executed rows: claimed once, renewed only by their owner, failed when expired and never before."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from models import leases
from models.tables_runs import AllocationRun
from models.types import utcnow
from tests.worlds.runs import add_cycle, add_master, queue_run


def _row(session, run_id):
    return session.get(AllocationRun, run_id, populate_existing=True)


def _expire(session, run_id, seconds_ago=1.0):
    session.execute(update(AllocationRun).where(AllocationRun.id == run_id)
                    .values(lease_expires_at=utcnow() - timedelta(seconds=seconds_ago)))


def _cycles(session, company_id, n):
    add_master(session, company_id)
    return [add_cycle(session, company_id, name=f"c{i}").id for i in range(n)]


def test_claim_once_renew_by_owner_only(session, company):
    (cycle,) = _cycles(session, company.id, 1)
    run_id = queue_run(session, company.id, cycle)
    before = utcnow()
    assert leases.claim(session, AllocationRun, run_id, "a", lease_s=30)
    assert not leases.claim(session, AllocationRun, run_id, "b", lease_s=30)
    row = _row(session, run_id)
    assert (row.status, row.lease_owner) == ("running", "a")
    assert before + timedelta(seconds=29) < row.lease_expires_at < utcnow() + timedelta(seconds=31)
    _expire(session, run_id, seconds_ago=-5)  # 5 s left
    assert leases.renew(session, AllocationRun, run_id, "a", lease_s=30)
    assert _row(session, run_id).lease_expires_at > utcnow() + timedelta(seconds=25)
    assert not leases.renew(session, AllocationRun, run_id, "b", lease_s=30)
    assert leases.holds(session, AllocationRun, run_id, "a") and not leases.holds(session, AllocationRun, run_id, "b")


def test_only_expired_leases_are_failed(session, company):
    cycles = _cycles(session, company.id, 5)
    live, expired, no_lease, queued_in_queue, queued_expired = (queue_run(session, company.id, c) for c in cycles)
    for run_id in (live, expired, no_lease):
        leases.claim(session, AllocationRun, run_id, "w", lease_s=30)
    _expire(session, expired)
    session.execute(update(AllocationRun).where(AllocationRun.id == no_lease).values(lease_expires_at=None))
    leases.hold_queued(session, AllocationRun, queued_expired, lease_s=30)
    _expire(session, queued_expired)
    assert sorted(leases.fail_expired(session, AllocationRun)) == sorted([expired, no_lease, queued_expired])
    for run_id in (expired, no_lease, queued_expired):
        row = _row(session, run_id)
        assert (row.status, row.error_code) == ("failed", leases.EXECUTOR_LOST) and row.finished_at is not None
    assert _row(session, live).status == "running"
    assert _row(session, queued_in_queue).status == "queued"  # its queue keeps it; the stalled-job sweep covers it
    assert leases.fail_expired(session, AllocationRun) == []
    assert not leases.renew(session, AllocationRun, expired, "w", lease_s=30)  # a lost lease stays lost


def test_fail_by_owner_leaves_another_owners_row(session, company):
    (cycle,) = _cycles(session, company.id, 1)
    run_id = queue_run(session, company.id, cycle)
    leases.claim(session, AllocationRun, run_id, "a", lease_s=30)
    assert not leases.fail(session, AllocationRun, run_id, "no", owner="b")
    assert leases.fail(session, AllocationRun, run_id, "crashed", code=leases.EXECUTOR_LOST, owner="a")
    assert not leases.fail(session, AllocationRun, run_id, "again")
    assert _row(session, run_id).error == "crashed"
