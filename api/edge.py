"""What is refused at the door, before routing: oversized bodies, control characters in the URL, overload."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote_to_bytes

_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


async def _answer(send, status: int, detail: str, code: str) -> None:
    body = json.dumps({"detail": detail, "code": code}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body above the limit: at once when declared, or as soon as a chunked body passes it."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self) -> str:
        return f"the request body is larger than the {self.max_bytes} bytes this service accepts; split it"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _answer(send, 413, self._too_large(), "too_large")
                return
        seen = 0
        refused = False
        started = False

        async def counting_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    refused = True
                    if not started:
                        await _answer(send, 413, self._too_large(), "too_large")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the application answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # the application saw the body end in a disconnect we made up; its error is ours, already answered


class RefuseControlCharacters:
    """422 for a control character (NUL, newline, ...) in the path or query: no identifier may carry one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            if _CONTROL.search(unquote_to_bytes(raw)) or _CONTROL.search(
                    unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))):
                await _answer(send, 422, "the URL carries a control character; identifiers and filters may not "
                                         "contain one", "invalid_request")
                return
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests inside the application at once; the rest wait here, holding nothing.

    Synchronous routes need a worker thread at several steps (dependencies, the route, response validation)
    and a database connection in between. With no more requests inside than threads, and more connections
    than threads, a request that holds a connection always finds a thread to finish with, so overload
    queues requests instead of deadlocking them.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit
        self.semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(self.limit)
        async with self.semaphore:
            await self.app(scope, receive, send)
