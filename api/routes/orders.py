"""Orders in: account managers submit each retailer's own order, market managers sign off collected ones."""

from __future__ import annotations

import zlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from allocation.vocabulary import Channel, OrderState, Role
from api.deps import PageDep, SessionDep, require
from api.params import IfMatch, CycleId, ManagerFilter, RetailerFilter, RetailerId
from api.idempotency import IdempotencyDep
from api.schemas import ErrorOut, Page
from api.schemas_orders import ApproveIn, ImportOut, OrderIn, OrderOut, OrderSummaryOut, OrderVersionOut
from models import orders
from models.errors import DomainError, Invalid, TooLarge
from models.orders_import import import_orders
from models.users import Principal

router = APIRouter(prefix="/v1/cycles/{cycle_id}/orders", tags=["orders"])

Submitter = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER))]
Importer = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require(Role.ACCOUNT_MANAGER, Role.MARKET_MANAGER, Role.ADMIN, Role.AUDITOR))]
Approver = Annotated[Principal, Depends(require(Role.MARKET_MANAGER))]
CSV_TYPES = ("text/csv", "text/plain", "application/csv")
GZIP_RATIO = 8


class UnsupportedMediaType(DomainError):
    status_code, code = 415, "unsupported_media_type"


def _etag(version: int) -> str:
    return f'"{version}"'


async def csv_body(request: Request) -> bytes:
    """The demand file (edge.BodyLimit refuses one above the configured size, even chunked, as it arrives).

    `Content-Encoding: gzip` is accepted (a city's file shrinks about sevenfold); the limit applies to the bytes
    sent, and the unpacked file may be at most GZIP_RATIO times that limit.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in CSV_TYPES:
        raise UnsupportedMediaType(f"send the demand file as Content-Type: text/csv, not {ctype or 'nothing'}")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted; send gzip or plain text")
    body = await request.body()  # edge.BodyLimit has already refused a body above the limit, chunked or not
    if encoding == "gzip":
        body = _gunzip(body, request.app.state.settings.max_body_bytes * GZIP_RATIO)
    request._body = body  # Starlette's cache, so the Idempotency-Key fingerprint reads the same bytes again
    return body


def _gunzip(data: bytes, most: int) -> bytes:
    unpack = zlib.decompressobj(wbits=31)
    try:
        out = unpack.decompress(data, most + 1)
    except zlib.error:
        raise Invalid("the body is not valid gzip; compress the file with gzip or send it as plain text",
                      "invalid_gzip") from None
    if len(out) > most or unpack.unconsumed_tail:
        raise TooLarge(f"the unpacked demand file is larger than the {most} bytes this service accepts; split it",
                       "too_large")
    if not unpack.eof:
        raise Invalid("the gzip body is cut short; send the whole file", "invalid_gzip")
    return out


@router.put("/{retailer_id}", response_model=OrderOut, responses={
    201: {"model": OrderOut, "description": "the order was created (version 1)"},
    409: {"description": "cycle not open (`cycle_state`) or retailer suspended (`retailer_suspended`)"},
    412: {"description": "`If-Match` names a version that is no longer current (`version_mismatch`)"}})
def put_order(cycle_id: CycleId, retailer_id: RetailerId, body: OrderIn, request: Request, response: Response,
              session: SessionDep, principal: Submitter,
              if_match: IfMatch = None):
    """Replace the retailer's whole order; 201 when created, 200 when replaced or unchanged (same version)."""
    lines = [orders.Line(x.brand_code, x.quantity) for x in body.lines]
    order, created = orders.put_order(session, principal, cycle_id, retailer_id, lines, body.channel,
                                      request.app.state.settings.max_order_lines, if_match)
    response.status_code = 201 if created else 200
    response.headers["ETag"] = _etag(order.version)
    return order


@router.post("/import", response_model=ImportOut, openapi_extra={
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}, "example":
                    "retailer_id,brand_code,quantity,channel\nR00001,B0001,5,retailer_stated\n"}}}},
    responses={413: {"description": "file larger than the configured limit (gzip: `Content-Encoding: gzip`)"},
               415: {"model": ErrorOut, "description": "not `Content-Type: text/csv` (or text/plain, application/csv), "
                                                      "or a `Content-Encoding` other than gzip "
                                                      "(`unsupported_media_type`)"},
               422: {"description": "bad rows: `errors` lists `{line, column, message}` (line 1 is the header); "
                                    "a retailer that is not the caller's is a bad row, like an unknown one"}})
def post_import(cycle_id: CycleId, request: Request, principal: Importer,
                body: Annotated[bytes, Depends(csv_body)], session: SessionDep, idem: IdempotencyDep):
    """A PUT for every retailer in a demand CSV (`retailer_id,brand_code,quantity[,channel]`), all rows or none."""
    counts = import_orders(session, principal, cycle_id, body, request.app.state.settings.max_order_lines)
    return idem.respond(ImportOut.model_validate(counts), 200)


@router.get("", response_model=Page[OrderSummaryOut])
def get_orders(cycle_id: CycleId, session: SessionDep, principal: Reader, paging: PageDep,
               status: OrderState | None = None,
               channel: Channel | None = None,
               manager_id: ManagerFilter = None,
               retailer_id: RetailerFilter = None):
    """The cycle's orders the caller may see, by retailer id; `pending_approval` ones still need sign-off."""
    items, nxt = orders.list_orders(session, principal, cycle_id, paging.cursor, paging.limit, status, channel,
                                    manager_id, retailer_id)
    return {"items": items, "next_cursor": nxt}


@router.get("/{retailer_id}", response_model=OrderOut, responses={404: {"description": "`no_order`: no demand"}})
def get_order(cycle_id: CycleId, retailer_id: RetailerId, response: Response, session: SessionDep, principal: Reader):
    """The current order; 404 `no_order` means the retailer has no demand this cycle."""
    order = orders.get_order(session, principal, cycle_id, retailer_id)
    response.headers["ETag"] = _etag(order.version)
    return order


@router.get("/{retailer_id}/versions", response_model=Page[OrderVersionOut])
def get_versions(cycle_id: CycleId, retailer_id: RetailerId, session: SessionDep, principal: Reader, paging: PageDep):
    """Every version of the order, oldest first: who sent which lines, when, by which channel."""
    items, nxt = orders.list_versions(session, principal, cycle_id, retailer_id, paging.cursor, paging.limit)
    return {"items": items, "next_cursor": nxt}


@router.post("/{retailer_id}/approve", response_model=OrderOut, responses={
    409: {"description": "`not_collected`, `version_mismatch` (not the current version) or `cycle_state`"}})
def approve(cycle_id: CycleId, retailer_id: RetailerId, body: ApproveIn, session: SessionDep, principal: Approver,
            idem: IdempotencyDep):
    """Sign off one version of a collected order; only that version counts, a later replacement clears it."""
    order = orders.approve_order(session, principal, cycle_id, retailer_id, body.version)
    return idem.respond(OrderOut.model_validate(order), 200, headers={"ETag": _etag(order.version)})
