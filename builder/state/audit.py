"""State of the audit log page: the workspace's audit events, filtered and paged, newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import reflex as rx

from builder.access import Need, acting_member, guarded
from runtime.store import get_engine, session_scope
from runtime.store.audit import AuditFilter, audit_choices, list_audit

PAGE_SIZE = 25
ANY = "any"
"""The choice meaning "no filter" (a select item cannot have an empty value)."""


def parse_day(field: str, text: str) -> datetime | None:
    """The UTC midnight starting day `text` (YYYY-MM-DD), None when empty; ValueError naming the field."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a date (YYYY-MM-DD)") from None


class AuditState(rx.State):
    """One page of audit events and the filters that chose it."""

    events: list[dict[str, str]] = []
    actions: list[str] = [ANY]
    actors: list[dict[str, str]] = []
    action: str = ANY
    actor: str = ANY
    date_from: str = ""
    date_to: str = ""
    page: int = 0
    has_more: bool = False
    error: str = ""
    loaded: bool = False

    @rx.event
    @guarded(Need.ADMIN)
    def load(self) -> None:
        """Read the page of events the filters and page number select."""
        try:
            since = parse_day("from", self.date_from)
            until = parse_day("to", self.date_to)
        except ValueError as error:
            self.error = str(error)
            return
        where = AuditFilter(action=None if self.action == ANY else self.action,
                            actor_user_id=None if self.actor == ANY else self.actor,
                            since=since, until=until + timedelta(days=1) if until else None)  # fmt: skip
        workspace_id = acting_member().workspace_id
        with session_scope(get_engine()) as session:
            rows = list_audit(session, workspace_id, where, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE + 1)
            actions, actors = audit_choices(session, workspace_id)
        self.actions = [ANY, *actions]
        self.actors = [{"id": ANY, "email": "anyone"}, *({"id": i, "email": e} for i, e in actors)]
        self.has_more = len(rows) > PAGE_SIZE
        self.events = [
            {"when": e.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"), "actor": email or "system", "action": e.action,
             "target": f"{e.target_type} {e.target_id}", "details": json.dumps(e.details, ensure_ascii=False)}
            for e, email in rows[:PAGE_SIZE]
        ]  # fmt: skip
        self.error, self.loaded = "", True

    @rx.event
    @guarded(Need.ADMIN)
    def apply_filters(self, form: dict[str, str]) -> None:
        """Filter by the action, actor and date range chosen, from the first page."""
        self.action, self.actor = form.get("action") or ANY, form.get("actor") or ANY
        self.date_from, self.date_to = form.get("date_from", "").strip(), form.get("date_to", "").strip()
        self.page = 0
        self.load()

    @rx.event
    @guarded(Need.ADMIN)
    def turn_page(self, step: int) -> None:
        """Show the next (1) or previous (-1) page."""
        self.page = max(0, self.page + step)
        self.load()
