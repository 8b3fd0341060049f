"""A real OpenID Connect provider on 127.0.0.1 for sign-in tests: `oidc-provider-mock` (Flask, authlib)
in a thread, with known users. It can be told to sign id_tokens as another issuer (to test `iss` checks),
or to hand out id_tokens re-signed with `alg: none` or HS256 keyed with its public key (forgeries)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import oidc_provider_mock
import werkzeug.serving
from joserfc.jwk import RSAKey

CLIENT_ID = "trellis-test"
CLIENT_SECRET = "trellis-test-secret"


@dataclass
class OidcProvider:
    """The running provider: its issuer URL and port, and a switch for forged-issuer tokens."""

    issuer: str
    port: int
    forge_issuer: list[bool] = field(default_factory=lambda: [False])
    forge_algorithm: list[str | None] = field(default_factory=lambda: [None])
    """`"none"` or `"HS256"`: id_tokens leave the token endpoint re-signed that way."""
    public_key_pem: bytes = b""

    def trellis_env(self, allowed_domains: str = "example.com") -> dict[str, str]:
        """The settings that point a Trellis server at this provider (loopback egress opened for it)."""
        return {
            "TRELLIS_OIDC_ISSUER": self.issuer, "TRELLIS_OIDC_CLIENT_ID": CLIENT_ID,
            "TRELLIS_OIDC_CLIENT_SECRET": CLIENT_SECRET, "TRELLIS_OIDC_ALLOWED_DOMAINS": allowed_domains,
            "TRELLIS_OIDC_DISPLAY_NAME": "Mock SSO", "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.0/8",
            "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{self.port}",
        }  # fmt: skip


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned(id_token: str, algorithm: str, public_key_pem: bytes) -> str:
    """The same claims under `alg: none` (no signature) or HS256 keyed with the provider's public key."""
    payload = id_token.split(".")[1]
    header = _b64(json.dumps({"alg": algorithm, "typ": "JWT"}).encode())
    if algorithm == "none":
        return f"{header}.{payload}."
    signature = hmac.new(public_key_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _forger(app: Any, provider: OidcProvider) -> Any:
    """WSGI wrapper around the provider. While `forge_issuer[0]` is set, token requests are answered as
    if the provider lived at 127.0.0.2 (so `iss` is not the issuer discovery named); while
    `forge_algorithm[0]` is set, the id_token in the answer is re-signed that way."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/oauth2/token":
            return app(environ, start_response)
        if provider.forge_issuer[0]:
            environ = {**environ, "HTTP_HOST": f"127.0.0.2:{provider.port}"}
        algorithm = provider.forge_algorithm[0]
        if algorithm is None:
            return app(environ, start_response)
        answered: list[Any] = []
        body = json.loads(b"".join(app(environ, lambda status, headers, *_: answered.extend([status, headers]))))
        body["id_token"] = resigned(body["id_token"], algorithm, provider.public_key_pem)
        data = json.dumps(body).encode()
        headers = [(k, v) for k, v in answered[1] if k.lower() != "content-length"]
        start_response(answered[0], [*headers, ("Content-Length", str(len(data)))])
        return [data]

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
    provider.public_key_pem = _public_key_pem(app)
    server.app = _forger(app, provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _public_key_pem(app: Any) -> bytes:
    """The PEM of the public key the provider signs id_tokens with (its JWKS)."""
    keys = json.loads(app.test_client().get("/jwks").data)["keys"]
    return RSAKey.import_key(keys[0]).as_pem(private=False)
