"""Many clients on real PostgreSQL connections writing orders while the cycle closes: nothing acknowledged is lost.

Every body sent is unique (two of its lines carry the sender's thread and sequence number), so each stored
version can be traced back to exactly one acknowledged request.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.tables import AuditEvent, Cycle
from models.tables_demand import Order, OrderLine, OrderVersion
from tests.conftest import make_client
from tests.threads import run_threads
from tests.worlds.sample import committed_city, sample_rows

WRITERS = 6
ACKS_BEFORE_CLOSE = 24  # the close waits for this much acknowledged traffic, however slow the machine
CLOSE_AFTER_S = 1.2  # ... and at least this long
KEEP_GOING_S = 0.4  # ... and then until every writer could have sent after it


@pytest.fixture
def city(pg_committed_engine):
    committed_engine = pg_committed_engine
    headers = committed_city(committed_engine)
    admin = headers["admin"]
    client = make_client(committed_engine)
    cycle = client.post("/v1/cycles", json={"name": "2026-W47", "start_date": "2026-11-16",
                                            "end_date": "2026-11-22"}, headers=admin).json()["id"]
    caps = [{"retailer_id": r["retailer_id"], "cap": int(r["cap"])} for r in sample_rows("caps")]
    assert client.put(f"/v1/cycles/{cycle}/caps", json=caps, headers=admin).status_code == 200
    capped = {c["retailer_id"] for c in caps}
    active = {r["retailer_id"] for r in sample_rows("retailers") if r.get("status", "active") == "active"}
    mine = [r["retailer_id"] for r in sample_rows("retailers")
            if r["manager_id"] == sample_rows("managers")[0]["manager_id"] and r["retailer_id"] in capped & active]
    return committed_engine, headers, cycle, mine[:8], [b["brand_code"] for b in sample_rows("brands")]


def body_for(brands: list[str], rng: random.Random, thread: int, seq: int) -> list[tuple[str, int]]:
    """A unique order body: brands[0] carries the thread, brands[1] the sequence number, the rest vary."""
    extra = rng.sample(brands[2:], rng.randint(0, 4))
    return sorted([(brands[0], thread + 1), (brands[1], seq)] + [(b, rng.randint(0, 50)) for b in extra])


def test_orders_and_imports_racing_a_close_lose_nothing(city):
    engine, headers, cycle, retailers, brands = city
    am, admin = headers["account_manager"], headers["admin"]
    closed = {}
    stop = threading.Event()
    acks, sends = [], []  # list.append is atomic: the writers count acknowledged writes and note send times

    def writer(i):
        client, rng, log = make_client(engine), random.Random(i), []
        seq = 0
        while not stop.is_set():
            seq += 1
            if rng.random() < 0.7:
                rid = rng.choice(retailers)
                lines = body_for(brands, rng, i, seq)
                sent = time.monotonic()
                sends.append(sent)
                r = client.put(f"/v1/cycles/{cycle}/orders/{rid}", headers=am,
                               json={"lines": [{"brand_code": b, "quantity": q} for b, q in lines]})
                log.append(("put", sent, {rid: lines}, r.status_code, r.json()))
                if r.status_code in (200, 201):
                    acks.append(1)
            else:
                bodies = {rid: body_for(brands, rng, i, seq) for rid in rng.sample(retailers, 3)}
                text = "retailer_id,brand_code,quantity\n" + "".join(
                    f"{rid},{b},{q}\n" for rid, lines in bodies.items() for b, q in lines)
                sent = time.monotonic()
                sends.append(sent)
                r = client.post(f"/v1/cycles/{cycle}/orders/import", content=text.encode(),
                                headers={**(am if rng.random() < 0.5 else admin), "Content-Type": "text/csv"})
                log.append(("import", sent, bodies, r.status_code, r.json()))
                if r.status_code in (200, 201):
                    acks.append(1)
        return log

    def closer():
        time.sleep(CLOSE_AFTER_S)
        deadline = time.monotonic() + 120
        while len(acks) < ACKS_BEFORE_CLOSE and time.monotonic() < deadline:
            time.sleep(0.05)
        r = make_client(engine).post(f"/v1/cycles/{cycle}/close", headers=admin)
        closed["at"] = time.monotonic()
        closed["status"] = r.status_code
        time.sleep(KEEP_GOING_S)
        deadline = time.monotonic() + 60  # however slow the machine: enough writes sent after the close
        while sum(t > closed["at"] for t in list(sends)) < WRITERS and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        return []

    logs = run_threads(WRITERS + 1, lambda i: writer(i) if i < WRITERS else closer())
    requests = [entry for log in logs for entry in log]
    assert closed["status"] == 200
    statuses = Counter(s for _, _, _, s, _ in requests)
    assert set(statuses) <= {200, 201, 409}, statuses
    refused = [body for _, _, _, s, body in requests if s == 409]
    assert all(b["code"] == "cycle_state" for b in refused), refused[:3]
    late = [(kind, s) for kind, sent, _, s, _ in requests if sent > closed["at"]]
    assert late and all(s == 409 for _, s in late), "a write sent after the close was acknowledged"
    acked = [(kind, bodies, body) for kind, _, bodies, s, body in requests if s in (200, 201)]
    assert len(acked) >= 20 and statuses[409] >= 1, statuses

    sent_by_retailer: dict[str, list[tuple]] = defaultdict(list)
    answered_versions: dict[str, dict[int, tuple]] = defaultdict(dict)
    for kind, bodies, answer in acked:
        for rid, lines in bodies.items():
            sent_by_retailer[rid].append(tuple(lines))
        if kind == "put":
            (rid, lines), = bodies.items()
            answered_versions[rid][answer["version"]] = tuple(lines)
            assert [(x["brand_code"], x["quantity"]) for x in answer["lines"]] == lines
        else:
            assert answer["created"] + answer["replaced"] == answer["orders"] == len(bodies)
            assert answer["unchanged"] == 0

    with Session(engine) as s:
        closed_cycle = s.get(Cycle, int(cycle))
        assert closed_cycle.status == "closed"
        stamps = s.execute(select(OrderVersion.submitted_at).where(OrderVersion.cycle_id == int(cycle))).scalars()
        assert all(t <= closed_cycle.closed_at for t in stamps), "a version was written after the close"
        for rid in retailers:
            order = s.get(Order, (int(cycle), rid))
            history = s.execute(select(OrderVersion.version, OrderVersion.lines).where(
                OrderVersion.cycle_id == int(cycle), OrderVersion.retailer_id == rid)
                .order_by(OrderVersion.version)).all()
            stored = {v: tuple(sorted((x["brand_code"], x["quantity"]) for x in lines)) for v, lines in history}
            sent = sent_by_retailer.get(rid, [])
            if not sent:
                assert order is None and not history
                continue
            # every acknowledged body is one version, and every version one acknowledged body
            assert sorted(stored.values()) == sorted(sent), rid
            assert list(stored) == list(range(1, len(sent) + 1)), f"{rid}: versions are not contiguous"
            assert order.version == len(sent)
            for version, lines in answered_versions[rid].items():
                assert stored[version] == lines, f"{rid}: version {version} is not the body acknowledged as it"
            final = s.execute(select(OrderLine.brand_code, OrderLine.quantity).where(
                OrderLine.cycle_id == int(cycle), OrderLine.retailer_id == rid)
                .order_by(OrderLine.brand_code)).all()
            assert tuple(tuple(x) for x in final) == stored[order.version], f"{rid}: lines are not the last version"
            assert order.total == sum(q for _, q in final)
        events = Counter(s.execute(select(AuditEvent.action)).scalars())
    puts = sum(1 for kind, _, _ in acked if kind == "put")
    assert events["order.create"] + events["order.replace"] == puts
    assert events["order.import"] == len(acked) - puts


def test_concurrent_retries_with_one_key_have_one_effect(city):
    engine, headers, cycle, retailers, brands = city
    admin = headers["admin"]
    body = {"name": "2026-W48", "start_date": "2026-11-23", "end_date": "2026-11-29"}
    text = "retailer_id,brand_code,quantity\n" + "".join(f"{r},{brands[0]},7\n" for r in retailers)

    def retry(i):
        client = make_client(engine)
        if i % 2:
            r = client.post("/v1/cycles", json=body, headers={**admin, "Idempotency-Key": "cycle-w48"})
        else:
            r = client.post(f"/v1/cycles/{cycle}/orders/import", content=text.encode(),
                            headers={**admin, "Content-Type": "text/csv", "Idempotency-Key": "import-1"})
        return i % 2, r.status_code, r.text

    results = run_threads(8, retry)
    for kind, ok in ((1, 201), (0, 200)):
        codes = Counter(code for k, code, _ in results if k == kind)
        assert set(codes) <= {ok, 409} and codes[ok] >= 1, codes
        assert len({t for k, code, t in results if k == kind and code == ok}) == 1, "two different first answers"
        assert all('"idempotency_in_flight"' in t for k, code, t in results if k == kind and code == 409)
    client = make_client(engine)
    again = client.post("/v1/cycles", json=body, headers={**admin, "Idempotency-Key": "cycle-w48"})
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    other = client.post("/v1/cycles", json={**body, "name": "other"}, headers={**admin, "Idempotency-Key": "cycle-w48"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    with Session(engine) as s:
        assert len(s.execute(select(Cycle).where(Cycle.name == "2026-W48")).all()) == 1
        actions = Counter(s.execute(select(AuditEvent.action)).scalars())
        versions = s.execute(select(OrderVersion.retailer_id, OrderVersion.version)
                             .where(OrderVersion.cycle_id == int(cycle))).all()
    assert actions["cycle.create"] == 2  # the fixture's cycle and this one, once
    assert actions["order.import"] == 1
    assert sorted(versions) == sorted((r, 1) for r in retailers)


def test_a_close_waits_for_one_import_at_most_not_for_the_queue_behind_it(city):
    """Imports wait for their turn before they lock the cycle, so a close is not starved by imports in line."""
    from sqlalchemy import text

    from models.orders_import import _IMPORT_LOCK

    engine, headers, cycle, retailers, brands = city
    am, admin = headers["account_manager"], headers["admin"]
    csv = f"retailer_id,brand_code,quantity\n{retailers[0]},{brands[0]},3\n".encode()
    answers = {}
    with engine.connect() as running:  # an import holding its turn for as long as this block lasts
        running.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _IMPORT_LOCK, "b": int(cycle)})

        def queued_import():
            answers["import"] = make_client(engine).post(f"/v1/cycles/{cycle}/orders/import", content=csv,
                                                         headers={**am, "Content-Type": "text/csv"})

        waiting = threading.Thread(target=queued_import)
        waiting.start()
        deadline, queued = time.monotonic() + 30, 0
        with engine.connect() as probe:  # the queued import is waiting for its turn
            while time.monotonic() < deadline and not (queued := probe.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())")).scalar()):
                time.sleep(0.02)
        assert queued, "the second import never queued for its turn"
        closer = threading.Thread(target=lambda: answers.update(
            close=make_client(engine).post(f"/v1/cycles/{cycle}/close", headers=admin)))
        closer.start()
        closer.join(timeout=20)
        closed_while_queued = not closer.is_alive()
        running.rollback()
    closer.join()
    waiting.join()
    assert closed_while_queued, "the close waited behind an import that was only queued"
    assert answers["close"].status_code == 200, answers["close"].text
    assert answers["import"].status_code == 409 and answers["import"].json()["code"] == "cycle_state"
