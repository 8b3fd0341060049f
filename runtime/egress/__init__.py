"""The egress guard: the only way Trellis makes outbound HTTP requests.

`egress_client(settings)` gives an `httpx.AsyncClient` that refuses private, local and metadata
addresses (unless allowlisted), odd schemes and ports, re-checks every redirect hop, pins the
checked address against DNS rebinding, and caps time and body size. Refusals raise `EgressBlocked`.
"""

from runtime.egress.bridge import GuardedHttpx2Transport
from runtime.egress.policy import EgressBlocked, EgressPolicy, Resolver, SystemResolver, display_url
from runtime.egress.transport import MAX_REDIRECTS, MAX_TOTAL_TIMEOUT_S, TOTAL_TIMEOUT, egress_client, read_limited

__all__ = [
    "MAX_REDIRECTS",
    "MAX_TOTAL_TIMEOUT_S",
    "TOTAL_TIMEOUT",
    "EgressBlocked",
    "EgressPolicy",
    "GuardedHttpx2Transport",
    "Resolver",
    "SystemResolver",
    "display_url",
    "egress_client",
    "read_limited",
]
