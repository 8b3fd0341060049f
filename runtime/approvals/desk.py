"""The approval desk of one stored run: opening requests and reading decisions, in the database."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.config import Settings
from runtime.store import get_engine, session_scope
from runtime.store.approvals import Approval, find_approval, open_approval


def approval_links(settings: Settings, token: str) -> dict[str, str]:
    """The signed links of one approval: both open `/approvals/<token>`, with the answer preselected."""
    page = f"{settings.resolved_public_url}/approvals/{token}"
    return {"approve_url": f"{page}?decision=approve", "reject_url": f"{page}?decision=reject"}


def decision_view(approval: Approval) -> dict[str, Any] | None:
    """The node's output for a decided approval, `{decision, comment, decided_by, decided_at}`; None if pending."""
    if approval.is_open:
        return None
    decided_at = approval.decided_at.isoformat() if approval.decided_at else None
    return {"decision": approval.status.value, "comment": approval.comment, "decided_by": approval.decided_by,
            "decided_at": decided_at}  # fmt: skip


class StoredApprovals:
    """`ApprovalDesk` for the run `run_id` (see `runtime.nodes.context`); database calls run on a thread."""

    def __init__(self, settings: Settings, workspace_id: str, run_id: str) -> None:
        self.settings = settings
        self.workspace_id = workspace_id
        self.run_id = run_id

    async def request(self, node_id: str, message: str, timeout_s: float | None) -> dict[str, Any]:
        """Open the approval (the same row and links when re-executed): `{message, approve_url, reject_url,
        expires_at}`."""
        return await asyncio.to_thread(self._request, node_id, message, timeout_s)

    async def decision(self, node_id: str) -> dict[str, Any] | None:
        """The decision made on the approval at `node_id`, or None while it is pending."""
        return await asyncio.to_thread(self._decision, node_id)

    def _request(self, node_id: str, message: str, timeout_s: float | None) -> dict[str, Any]:
        with session_scope(get_engine()) as session:
            approval, token = open_approval(session, self.workspace_id, self.run_id, node_id, message, timeout_s)
            expires_at = approval.expires_at.isoformat()
        return {"message": message, **approval_links(self.settings, token), "expires_at": expires_at}

    def _decision(self, node_id: str) -> dict[str, Any] | None:
        with session_scope(get_engine()) as session:
            approval = find_approval(session, self.workspace_id, self.run_id, node_id)
            return None if approval is None else decision_view(approval)
