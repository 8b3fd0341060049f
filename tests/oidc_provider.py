"""A real OpenID Connect provider on 127.0.0.1 for sign-in tests: `oidc-provider-mock` (Flask, authlib)
in a thread, with known users. It can be told to sign id_tokens as another issuer (to test `iss` checks)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import oidc_provider_mock
import werkzeug.serving

CLIENT_ID = "trellis-test"
CLIENT_SECRET = "trellis-test-secret"


@dataclass
class OidcProvider:
    """The running provider: its issuer URL and port, and a switch for forged-issuer tokens."""

    issuer: str
    port: int
    forge_issuer: list[bool] = field(default_factory=lambda: [False])

    def trellis_env(self, allowed_domains: str = "example.com") -> dict[str, str]:
        """The settings that point a Trellis server at this provider (loopback egress opened for it)."""
        return {
            "TRELLIS_OIDC_ISSUER": self.issuer, "TRELLIS_OIDC_CLIENT_ID": CLIENT_ID,
            "TRELLIS_OIDC_CLIENT_SECRET": CLIENT_SECRET, "TRELLIS_OIDC_ALLOWED_DOMAINS": allowed_domains,
            "TRELLIS_OIDC_DISPLAY_NAME": "Mock SSO", "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.0/8",
            "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{self.port}",
        }  # fmt: skip


def _issuer_forger(app: Any, provider: OidcProvider) -> Any:
    """WSGI wrapper: while `provider.forge_issuer[0]` is set, token requests are answered as if the
    provider lived at 127.0.0.2, so the id_token's `iss` is not the issuer discovery named."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if provider.forge_issuer[0] and environ.get("PATH_INFO") == "/oauth2/token":
            environ = {**environ, "HTTP_HOST": f"127.0.0.2:{provider.port}"}
        return app(environ, start_response)

    return wsgi


@contextlib.contextmanager
def running_oidc_provider(
    users: dict[str, dict[str, Any]], token_max_age: timedelta = timedelta(hours=1)
) -> Iterator[OidcProvider]:
    """The provider on a free port of 127.0.0.1 with `users` (subject -> claims), until the block ends."""
    app = oidc_provider_mock.app(
        user_claims=[oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in users.items()],
        access_token_max_age=token_max_age,
    )
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    provider = OidcProvider(issuer=f"http://127.0.0.1:{server.server_port}", port=server.server_port)
    server.app = _issuer_forger(app, provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
