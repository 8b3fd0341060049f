"""`POST /api/hooks/{hook_id}`: start a workflow from a webhook call."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["webhooks"])
