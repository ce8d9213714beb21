"""Concurrency tests' one way to start clients together: all at one instant, errors re-raised, hangs caught."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_threads(n: int, work: Callable[..., Any], setup: Callable[[int], Any] | None = None) -> list:
    """Run work(i) (or work(i, setup(i)), setup done before the start line) in n threads released at once."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def target(i):
        try:
            prepared = setup(i) if setup else None
            barrier.wait()
            results[i] = work(i, prepared) if setup else work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    if errors:
        raise errors[0]
    return results
