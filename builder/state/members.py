"""State of the members page: who belongs to the workspace, invitations, role changes and removal."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from builder.access import Need, acting_member, guarded
from builder.routes import invite_url
from runtime.config import get_settings
from runtime.store import Role, get_engine, session_scope
from runtime.store.invites import create_invite, list_pending_invites
from runtime.store.members import MembershipRefused, change_role, list_members, remove_member

GRANTABLE = {Role.OWNER: list(Role), Role.ADMIN: [Role.ADMIN, Role.EDITOR, Role.VIEWER]}
"""The roles an owner or an admin may hand out (only owners make owners)."""


class MembersState(rx.State):
    """The members and pending invitations of the admin's workspace, and the last invitation link."""

    members: list[dict[str, str]] = []
    invites: list[dict[str, str]] = []
    grantable: list[str] = []
    invite_link: str = ""
    invite_error: str = ""
    loaded: bool = False

    @rx.event
    @guarded(Need.ADMIN)
    def load(self) -> None:
        """Read the members and the pending invitations; an invitation link made earlier is not shown again."""
        member = acting_member()
        self.invite_link = ""
        self.grantable = [str(role) for role in GRANTABLE[member.role]]
        with session_scope(get_engine()) as session:
            self.members = [
                {"id": row.membership_id, "email": row.email, "name": row.display_name, "role": row.role.value,
                 "joined": row.joined_at.strftime("%Y-%m-%d"), "is_me": "yes" if row.user_id == member.user_id else ""}
                for row in list_members(session, member.workspace_id)
            ]  # fmt: skip
            self.invites = [
                {"email": i.email, "role": i.role.value, "expires": i.expires_at.strftime("%Y-%m-%d %H:%M UTC")}
                for i in list_pending_invites(session, member.workspace_id)
            ]
        self.loaded = True

    @rx.event
    @guarded(Need.ADMIN)
    def invite(self, form: dict[str, str]) -> None:
        """Invite the email typed with the role chosen; the link to send them is shown to copy."""
        self.invite_link, self.invite_error = "", ""
        try:
            role = Role(form.get("role") or Role.EDITOR)
            with session_scope(get_engine()) as session:
                token = create_invite(session, acting_member(), form.get("email", ""), role)
        except (ValueError, MembershipRefused) as error:
            self.invite_error = str(error)
            return
        self.load()
        self.invite_link = invite_url(get_settings().resolved_public_url, token)

    @rx.event
    @guarded(Need.ADMIN)
    def set_role(self, membership_id: str, role: str) -> EventSpec | None:
        """Give a member another role."""
        try:
            with session_scope(get_engine()) as session:
                change_role(session, acting_member(), membership_id, Role(role))
        except (ValueError, MembershipRefused) as error:
            self.load()
            return rx.toast.error(str(error))
        self.load()
        return rx.toast.success(f"Role changed to {role}")

    @rx.event
    @guarded(Need.ADMIN)
    def remove(self, membership_id: str) -> EventSpec:
        """Take a member out of the workspace (their sessions in it end at once)."""
        try:
            with session_scope(get_engine()) as session:
                remove_member(session, acting_member(), membership_id)
        except MembershipRefused as error:
            return rx.toast.error(str(error))
        self.load()
        return rx.toast.success("Member removed")
