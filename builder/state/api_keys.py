"""State of the API keys page: create (shown once), list and revoke the workspace's REST API keys."""

from __future__ import annotations

from datetime import datetime

import reflex as rx
from reflex.event import EventSpec

from builder.access import Need, acting_member, guarded, open_to_all
from runtime.store import Role, get_engine, session_scope
from runtime.store.api_keys import create_api_key, list_api_keys, revoke_api_key

ROLE_STRENGTH = [Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER]


def roles_up_to(role: Role) -> list[str]:
    """The roles no stronger than `role`, strongest first: what a key made by `role` may have."""
    return [str(r) for r in reversed(ROLE_STRENGTH[: ROLE_STRENGTH.index(role) + 1])]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


class ApiKeysState(rx.State):
    """The keys of the admin's workspace and the one just created (its only showing)."""

    keys: list[dict[str, str]] = []
    roles: list[str] = []
    new_key: str = ""
    error: str = ""
    loaded: bool = False

    @rx.event
    @guarded(Need.ADMIN)
    def load(self) -> None:
        """Read the workspace's keys, revoked ones included; a key created earlier is not shown again."""
        member = acting_member()
        self.new_key = ""
        self.roles = roles_up_to(member.role)
        with session_scope(get_engine()) as session:
            self.keys = [
                {"id": k.id, "name": k.name, "last_four": k.last_four, "role": k.role.value,
                 "created": _when(k.created_at), "last_used": _when(k.last_used_at) or "never",
                 "revoked": _when(k.revoked_at)}
                for k in list_api_keys(session, member.workspace_id)
            ]  # fmt: skip
        self.loaded = True

    @rx.event
    @guarded(Need.ADMIN)
    def create(self, form: dict[str, str]) -> None:
        """Create a key with the name and role given (no stronger than the creator's); shown once."""
        member = acting_member()
        role_name = form.get("role") or Role.VIEWER.value
        if role_name not in roles_up_to(member.role):
            self.error = f"role {role_name!r} is not one you may give (choose from {', '.join(self.roles)})"
            return
        name = form.get("name", "").strip()[:200]
        with session_scope(get_engine()) as session:
            created = create_api_key(session, member.workspace_id, name, Role(role_name), created_by=member.user_id)
        self.load()
        self.new_key, self.error = created.plaintext, ""

    @rx.event
    @guarded(Need.ADMIN)
    def revoke(self, key_id: str) -> EventSpec:
        """Refuse the key from the next request on."""
        member = acting_member()
        with session_scope(get_engine()) as session:
            revoke_api_key(session, member.workspace_id, key_id, revoked_by=member.user_id)
        self.load()
        return rx.toast.success("Key revoked")

    @rx.event
    @open_to_all
    def forget_new_key(self) -> None:
        """Hide the new key for good (it cannot be shown again)."""
        self.new_key = ""
