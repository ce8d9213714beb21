"""The queue executor as deployed: two API processes and two workers on one PostgreSQL, with short settings.

Runs of several cycles in two companies at once all succeed on both workers; concurrent starts of one cycle make
one run; a solve holding the interpreter lock longer than the lease and the stalled threshold keeps both alive,
and an API restarting meanwhile leaves the run alone; a worker killed mid-run has its run failed within the
bound, and the cycle's next run succeeds.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from tests.worlds.runs import EXPECTED
from tests.conftest import PG_ADMIN_URL
from tests.executor.deployment import BOUND_S, Deployment, drop_database, fresh_database, two_companies
from tests.threads import run_threads

pytestmark = pytest.mark.pg_only
CYCLES = ["c1", "c2", "c3", "race", "slow", "killed"]


@pytest.fixture(scope="module")
def deployment(pg_url, tmp_path_factory):
    url, engine = fresh_database(PG_ADMIN_URL)
    admin, cycles = two_companies(engine, {"north": CYCLES, "south": CYCLES[:3]})
    dep = Deployment(url=url, engine=engine, logs=tmp_path_factory.mktemp("logs"),
                     slow_dir=tmp_path_factory.mktemp("slow"), admin=admin, cycles=cycles)
    try:
        for _ in range(2):
            dep.start_api()
            dep.start_worker()
        dep.wait_ready()
        yield dep
    finally:
        dep.stop_all()
        engine.dispose()
        drop_database(PG_ADMIN_URL, url)


def start(dep: Deployment, api: int, company: str, cycle: str) -> httpx.Response:
    return httpx.post(f"{dep.base(api)}/v1/cycles/{dep.cycles[company][cycle]}/allocation-runs",
                      headers=dep.admin[company], timeout=30)


def worker_pid(run: dict) -> int:
    return int(run["lease_owner"].split(":")[2])  # worker:<host>:<pid>:<nonce>


def test_runs_of_three_cycles_in_two_companies_at_once_all_succeed(deployment):
    dep = deployment
    jobs = [(company, cycle) for company in ("north", "south") for cycle in ("c1", "c2", "c3")]
    answers = run_threads(len(jobs), lambda i: start(dep, i % 2, *jobs[i]))
    assert [r.status_code for r in answers] == [202] * len(jobs), [r.text for r in answers]
    runs = [dep.wait_run(r.json()["run_id"]) for r in answers]
    assert [r["status"] for r in runs] == ["succeeded"] * len(jobs), runs
    assert all(r["certificate"]["volume"] == 2400 and r["certificate"]["fairness_violations"] == 0 for r in runs)
    for answer in answers:
        rows = dep.sql("SELECT count(*) FROM allocation WHERE run_id = :r", r=int(answer.json()["run_id"]))
        assert rows[0][0] == len(EXPECTED)
    assert len({worker_pid(r) for r in runs}) == 2, "both workers share the queue"
    # another company's run is not there for this company's admin, through either API
    north_run = answers[0].json()["run_id"]
    for api in (0, 1):
        r = httpx.get(f"{dep.base(api)}/v1/allocation-runs/{north_run}", headers=dep.admin["south"], timeout=30)
        assert r.status_code == 404


def test_concurrent_starts_of_one_cycle_make_exactly_one_run(deployment):
    dep = deployment
    answers = run_threads(8, lambda i: start(dep, i % 2, "north", "race"))
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] + [409] * 7, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"run_in_progress"}
    cycle = dep.cycles["north"]["race"]
    assert dep.sql("SELECT count(*) FROM allocation_run WHERE cycle_id = :c", c=cycle)[0][0] == 1
    assert dep.sql("SELECT count(*) FROM procrastinate_jobs WHERE lock = :l", l=f"cycle:{cycle}")[0][0] == 1
    (winner,) = [r for r in answers if r.status_code == 202]
    assert dep.wait_run(winner.json()["run_id"])["status"] == "succeeded"


class Watch:
    """Samples a run's lease and the workers' heartbeats in the background while the test does something else."""

    def __init__(self, dep: Deployment, run_id: str):
        self.dep, self.run_id, self.samples, self.stop = dep, run_id, [], threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop.is_set():
            (age,) = self.dep.sql("SELECT extract(epoch FROM now() - min(last_heartbeat)) FROM procrastinate_workers")[0]
            run = self.dep.run(self.run_id)
            self.samples.append((run["status"], run["lease_expires_at"], float(age or 0)))
            time.sleep(0.2)

    def done(self):
        self.stop.set()
        self.thread.join(10)
        return self.samples


def test_a_solve_longer_than_the_lease_and_T_survives_an_api_restart(deployment):
    dep = deployment
    solve_s = 8  # at least: longer than the lease (5 s) and T (5 s); and until the restarted API is up
    marker = dep.slow(dep.cycles["north"]["slow"], solve_s)
    run_id = start(dep, 0, "north", "slow").json()["run_id"]
    dep.wait_run(run_id, states=("running",))
    watch = Watch(dep, run_id)
    dep.restart_api(0)  # the API that took the request restarts while the run executes
    dep.wait_ready()
    time.sleep(2 * 1.0)  # two sweeps of the restarted API (RUNS_SWEEP_S = 1) while the run is still solving
    assert dep.run(run_id)["status"] == "running"
    marker.unlink()
    done = dep.wait_run(run_id, seconds=90)
    samples = watch.done()
    assert (done["status"], done["error"], done["error_code"]) == ("succeeded", None, None), dep.tail()
    assert done["timings"]["solve_s"] >= solve_s
    leases = sorted({lease for status, lease, _ in samples if status == "running"})
    assert len(leases) >= solve_s // 2, "the lease was renewed every heartbeat while the child held its GIL"
    assert max(age for _, _, age in samples) < 5, "a worker missed its heartbeats for T"
    dep.wait_job(run_id, "succeeded")


def test_a_worker_killed_mid_run_fails_its_run_within_the_bound_and_a_new_run_succeeds(deployment):
    dep = deployment
    marker = dep.slow(dep.cycles["north"]["killed"], 1)  # slow until the marker goes
    run_id = start(dep, 1, "north", "killed").json()["run_id"]
    running = dep.wait_run(run_id, states=("running",))
    pid = worker_pid(running)
    (victim,) = [w for w in dep.workers if w.pid == pid]
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.wait(30)
    failed = dep.wait_run(run_id, seconds=60)
    elapsed = time.monotonic() - killed_at
    assert (failed["status"], failed["error_code"]) == ("failed", "executor_lost"), dep.tail()
    assert elapsed <= BOUND_S + 5, f"failed {elapsed:.1f} s after the kill; the bound is {BOUND_S} s + scheduling"
    assert dep.sql("SELECT count(*) FROM allocation WHERE run_id = :r", r=int(run_id))[0][0] == 0
    marker.unlink()
    again = start(dep, 0, "north", "killed")
    assert again.status_code == 202, again.text
    assert dep.wait_run(again.json()["run_id"], seconds=60)["status"] == "succeeded", dep.tail()
    dep.wait_job(run_id, "failed")
    dep.workers.remove(victim)
    dep.start_worker()
    dep.wait_ready()


def test_a_scenario_goes_through_the_queue_without_the_cycles_lock(deployment):
    dep = deployment
    cycle = dep.cycles["south"]["c2"]
    r = httpx.post(f"{dep.base(1)}/v1/cycles/{cycle}/scenarios", headers=dep.admin["south"], timeout=30,
                   json={"name": "queued what-if", "supply": [{"brand_code": "A", "quantity": 1}]})
    assert r.status_code == 202, r.text
    key = int(r.json()["scenario_id"].removeprefix("S"))
    deadline = time.monotonic() + 90
    while (row := dep.sql("SELECT status, error, lease_owner, certificate FROM scenario WHERE id = :i", i=key)[0]
           ).status in ("queued", "running"):
        assert time.monotonic() < deadline, dep.tail()
        time.sleep(0.1)
    assert (row.status, row.error) == ("succeeded", None), dep.tail()
    assert row.lease_owner.startswith("worker:") and row.certificate["fairness_violations"] == 0
    jobs = dep.sql("SELECT lock, queueing_lock FROM procrastinate_jobs WHERE args->>'kind' = 'scenario' "
                   "AND (args->>'job_id')::int = :i", i=key)
    assert jobs == [(None, None)], "a scenario takes no cycle lock: it never waits for, nor blocks, a run"
