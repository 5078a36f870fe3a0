"""Where the portal may send a request: the Things API and its identity service, nowhere else.

A team admin enters the API and token URLs. Without a limit, the portal becomes their probe
of its own network (Redis on 6379, PostgreSQL, 169.254.169.254) and, through its error texts,
a port scanner. Two checks:

- `OutboundPolicy.refusal(url)`: the URL's host must be an allowed host (an exact name or IP
  literal, or `.example.com` for it and its subdomains). Used where the URL is entered.
- `GuardedTransport`: at connect time, the addresses the host resolves to are checked, and the
  connection goes to the checked address (no second lookup, so no DNS rebinding). Loopback,
  private, link-local, multicast and reserved addresses are refused unless the host was listed
  as exactly that name or address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

type Resolver = Callable[..., list[tuple[Any, ...]]]


class AddressRefused(httpcore.ConnectError):
    """The host resolved to an address the portal may not call."""


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """`allowed`: exact host names or IP literals, and `.suffix` entries for a domain."""

    allowed: frozenset[str]

    @classmethod
    def of(cls, hosts: Iterable[str]) -> OutboundPolicy:
        return cls(frozenset(host.strip().lower().strip("[]") for host in hosts if host.strip()))

    def listed_exactly(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed

    def host_allowed(self, host: str) -> bool:
        name = host.lower().strip("[]").rstrip(".")
        if name in self.allowed:
            return True
        return any(
            entry.startswith(".") and (name == entry[1:] or name.endswith(entry))
            for entry in self.allowed
        )

    def refusal(self, url: str) -> str | None:
        """Why the portal may not call `url`, in words; None if it may."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return "This is not a URL."
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return "Use an http:// or https:// URL."
        if parsed.userinfo:
            return "A URL with a user name or password in it is not accepted."
        if not self.host_allowed(parsed.host):
            shown = ", ".join(sorted(self.allowed)) or "none"
            return (
                f"The portal may not call {parsed.host}: its operators allow only {shown} "
                "(THINGS_ALLOWED_HOSTS). Ask them to add the host if it is right."
            )
        literal = _literal(parsed.host)
        if literal is not None and _is_internal(literal) and not self.listed_exactly(parsed.host):
            return f"The portal may not call the internal address {parsed.host}."
        return None


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, and connects to a checked one."""

    def __init__(self, policy: OutboundPolicy, resolve: Resolver = socket.getaddrinfo) -> None:
        self.policy = policy
        self.resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not self.policy.host_allowed(host):
            raise AddressRefused(f"{host} is not an allowed host")
        try:
            found = self.resolve(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} could not be resolved") from error
        addresses = [str(info[4][0]) for info in found]
        exact = self.policy.listed_exactly(host)
        for address in addresses:
            if _is_internal(ipaddress.ip_address(address.partition("%")[0])) and not exact:
                raise AddressRefused(f"{host} resolves to an internal address")
        if not addresses:
            raise httpcore.ConnectError(f"{host} could not be resolved")
        return super().connect_tcp(
            addresses[0], port, timeout, local_address=local_address, socket_options=socket_options
        )


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go only where `policy` allows.

    httpx offers no public parameter for httpcore's network backend, so the connection pool
    is built here as HTTPTransport builds its own, with the guarded backend. Proxies from the
    environment are not used: the check must see the real destination."""

    def __init__(self, policy: OutboundPolicy, resolve: Resolver = socket.getaddrinfo) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolve),
        )
