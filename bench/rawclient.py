"""A lean open-loop HTTP/1.1 load client: on a shared machine every CPU cycle the client spends is one the
server under test does not get, and a general-purpose client (httpx) costs about as much per request as the
server it measures.

Requests are encoded before the clock starts and sent at fixed times (t0 + i/rate) over keep-alive
connections, whatever the answers do; latency counts from the scheduled time, so a slow server cannot hide
behind a slow sender.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class Outcome:
    latency_s: float  # from the scheduled send time to the end of the answer
    lag_s: float  # how late the request left, against its schedule
    status: int  # 0: no answer; -1: not sent (too many unanswered)
    body: bytes = b""
    done_s: float = 0.0  # perf_counter at the end of the answer


def encode(method: str, host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def open_loop(host: str, port: int, requests: list[bytes], rate: float, max_in_flight: int = 400,
                    timeout: float = 30.0, keep_bodies: bool = False, start_delay: float = 0.2,
                    ) -> tuple[list[Outcome], float, float]:
    """Send every request at its fixed time; returns one outcome per request (in order) and the wall time."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    outcomes: list[Outcome | None] = [None] * len(requests)
    in_flight = 0

    async def one(i: int, due: float) -> None:
        nonlocal in_flight
        lag = time.perf_counter() - due
        status, body = 0, b""
        try:
            for attempt in (0, 1):
                reused = bool(idle) and attempt == 0
                conn = idle.pop() if reused else await asyncio.open_connection(host, port)
                try:
                    conn[1].write(requests[i])
                    status, body = await asyncio.wait_for(_read_answer(conn[0]), timeout)
                    idle.append(conn)
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if not reused:  # a kept-alive connection the server had closed: resend once on a new one
                        break
        except (OSError, asyncio.TimeoutError, ValueError):
            pass
        finally:
            in_flight -= 1
        done = time.perf_counter()
        outcomes[i] = Outcome(done - due, lag, status, body if keep_bodies else b"", done)

    tasks = []
    t0 = time.perf_counter() + start_delay
    for i in range(len(requests)):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            outcomes[i] = Outcome(0.0, 0.0, -1)
            continue
        in_flight += 1
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    for _, writer in idle:
        writer.close()
    return [o for o in outcomes if o is not None], wall, t0
