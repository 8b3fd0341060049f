"""Which destinations outbound HTTP may reach: schemes, ports, host names and resolved addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Protocol

import httpx

from runtime.config import Settings
from runtime.errors import NodeError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DENIED_HOSTS = frozenset({"localhost", "metadata.google.internal", "metadata.goog"})
DENIED_SUFFIXES = (".localhost", ".internal")
# Ranges `is_global` lets through or that cloud metadata and carrier NAT live in.
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "::/96",  # `::`, `::1` and the deprecated IPv4-compatible form `::a.b.c.d`
        "::ffff:0:0:0/96",  # SIIT IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64
        "fd00:ec2::254/128",
        "ff00::/8",
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressBlocked(NodeError):
    """An outbound request was refused before connecting; `reason` is a short machine-readable code.

    Reasons: `scheme`, `port`, `host_denied`, `invalid_url`, `private_address`, `dns`,
    `too_many_redirects`, `body_too_large`. Never retryable: the same request is refused again.
    """

    def __init__(self, reason: str, target: str, detail: str) -> None:
        self.reason = reason
        self.target = target
        self.detail = detail
        super().__init__(f"Blocked request to {target}: {detail}", retryable=False)


class Resolver(Protocol):
    """Turns a host name into the IP addresses (as strings) a connection may use."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`), run without blocking the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to; raises `socket.gaierror` when it does not resolve."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_ip(text: str) -> IPAddress | None:
    """`text` as an IP address (an IPv6 zone like `%eth0` is dropped), or None when it is a name."""
    if ":" in text:
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo); empty for others."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.teredo:
        found.extend(address.teredo)
    return [ipv4 for ipv4 in found if ipv4 is not None]


def _is_public(address: IPAddress) -> bool:
    return address.is_global and not any(address in network for network in BLOCKED_NETWORKS)


class EgressPolicy:
    """The rules of `Settings` applied to one URL or address; every check raises `EgressBlocked`."""

    def __init__(self, settings: Settings) -> None:
        self.ports = frozenset(settings.egress_allowed_ports)
        self.allowed_networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in settings.ssrf_allowed_cidrs)
        self.allowed_hosts = tuple(normalise_host(host) for host in settings.ssrf_allowed_hosts)

    def host_allowlisted(self, host: str) -> bool:
        """True when an administrator allowed `host` by name (exact, or a `*.suffix` pattern)."""
        name = normalise_host(host)
        return any(fnmatchcase(name, pattern) for pattern in self.allowed_hosts)

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL whose scheme, port or host name may not be used, before any DNS lookup."""
        check_scheme(url)
        port = url.port or (443 if url.scheme == "https" else 80)
        if port not in self.ports:
            allowed = ", ".join(str(p) for p in sorted(self.ports))
            raise EgressBlocked("port", display_url(url), f"port {port} is not allowed (allowed: {allowed}).")
        name = normalise_host(url.host)
        if not name:
            raise EgressBlocked("invalid_url", display_url(url), "the address has no host name.")
        if parse_ip(name) is None and _denied_name(name) and not self.host_allowlisted(name):
            raise EgressBlocked("host_denied", display_url(url), f"host {name!r} is internal.")

    def check_addresses(self, host: str, addresses: Iterable[str]) -> list[str]:
        """`addresses` unchanged when every one may be reached; refuses all of them if any may not."""
        checked = list(addresses)
        if not checked:
            raise EgressBlocked("dns", host, "the name resolved to no address.")
        if self.host_allowlisted(host):
            return checked
        for text in checked:
            address = parse_ip(text)
            if address is None:
                raise EgressBlocked("dns", host, f"the resolver answered {text!r}, which is not an IP address.")
            if not self._address_allowed(address):
                raise EgressBlocked(
                    "private_address",
                    host,
                    f"it resolves to {address}, a private or local address "
                    "(an administrator can allow it with TRELLIS_SSRF_ALLOWED_CIDRS).",
                )
        return checked

    def _address_allowed(self, address: IPAddress) -> bool:
        candidates = [address, *embedded_ipv4(address)]
        if any(candidate in network for candidate in candidates for network in self.allowed_networks):
            return True
        return all(_is_public(candidate) for candidate in candidates)


def check_scheme(url: httpx.URL) -> None:
    """Refuse anything but http and https, naming the scheme found."""
    if url.scheme in ALLOWED_SCHEMES:
        return
    if not url.scheme:
        raise EgressBlocked("scheme", display_url(url), "the address has no scheme; start it with http:// or https://.")
    raise EgressBlocked("scheme", display_url(url), f"scheme {url.scheme!r} is not allowed; use http or https.")


def display_url(url: httpx.URL) -> str:
    """`url` fit for error messages and logs: without user, password, query and fragment."""
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))


def normalise_host(host: str) -> str:
    """`host` lower-cased without trailing dots, the form names are compared in."""
    return host.strip().lower().rstrip(".")


def _denied_name(name: str) -> bool:
    return name in DENIED_HOSTS or name.endswith(DENIED_SUFFIXES)
