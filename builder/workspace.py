"""Which workspace a page acts in (the zero-setup local one until accounts exist)."""

from runtime.store import ensure_local_workspace, get_engine, session_scope


def current_workspace_id() -> str:
    """The id of the workspace the current user acts in."""
    with session_scope(get_engine()) as session:
        return ensure_local_workspace(session).id
