"""Safe retries for every POST: the same Idempotency-Key and request returns the first response, once."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from api.deps import PrincipalDep, SessionDep
from api.params import IdempotencyKey
from models import idempotency as store
from models.errors import Conflict, DomainError, Invalid


class Replay(DomainError):
    """Carries the stored first response back out through the error handler, doing nothing again."""

    def __init__(self, status_code: int, body: str):
        super().__init__("replayed", "replayed")
        self.replay_status, self.replay_body = status_code, body


class Idempotency:
    def __init__(self, session, principal, key: str | None, request_sha256: str):
        self.session, self.principal, self.key, self.request_sha256 = session, principal, key, request_sha256

    def respond(self, payload: Any, status_code: int = 200, headers: dict | None = None) -> Response:
        """The response, stored with the key (same transaction as the effect) when a key was sent."""
        body = json.dumps(jsonable_encoder(payload), ensure_ascii=False, separators=(",", ":"))
        if self.key:
            store.store(self.session, self.principal.user_id, self.key, self.request_sha256, status_code, body)
        return Response(body, status_code=status_code, media_type="application/json", headers=headers)


async def request_digest(request: Request) -> str | None:
    """The hash of what the key stands for (method, path, query, body), read on the event loop: no database."""
    if request.headers.get("idempotency-key") is None:  # no need to read and hash a body of up to 64 MB
        return None
    body = await request.body()
    return hashlib.sha256(b"\n".join([request.method.encode(), request.url.path.encode(),
                                      request.url.query.encode(), body])).hexdigest()


def idempotency(session: SessionDep, principal: PrincipalDep, digest: Annotated[str | None, Depends(request_digest)],
                key: IdempotencyKey = None) -> Idempotency:
    """The key's lock and its stored answer, looked up in a worker thread (sync: it may wait for a lock).

    A key outside IDEMPOTENCY_KEY_PATTERN is refused by the header's declaration (422 `invalid_idempotency_key`)."""
    if key is None or digest is None:
        return Idempotency(session, principal, None, "")
    if not store.try_lock(session, principal.user_id, key):
        raise Conflict("a request with this Idempotency-Key is still running; retry when it has finished",
                       "idempotency_in_flight")
    found = store.find(session, principal.user_id, key)
    if found is not None:
        if found.request_sha256 != digest:
            raise Invalid("this Idempotency-Key was used for a different request; use a new key for a new request",
                          "idempotency_key_reused")
        raise Replay(found.status_code, found.response_body)
    return Idempotency(session, principal, key, digest)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]


def install(app) -> None:
    @app.exception_handler(Replay)
    async def _replay(_request: Request, exc: Replay):
        return Response(exc.replay_body, status_code=exc.replay_status, media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
