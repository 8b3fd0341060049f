"""REST API `/api/v1`, authenticated by API keys (`Authorization: Bearer`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
