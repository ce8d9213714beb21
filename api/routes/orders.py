"""Routes for orders (see CONTRACT.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
