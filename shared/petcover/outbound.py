"""Calls we make to addresses our partners give us (channel webhooks, chat robots): where they may
go, and the POST itself.

A destination must be HTTPS, and every address its host resolves to must be public: no loopback,
private (RFC 1918, unique local), link-local, shared (CGNAT ``100.64.0.0/10``), multicast,
reserved, unspecified or cloud-metadata address, in IPv4 or IPv6; IPv4-mapped, NAT64 and 6to4
addresses are judged by the IPv4 address they carry. Names are resolved, so ``localhost``,
``0x7f000001`` or a name pointing at ``169.254.169.254`` are refused like the literal addresses.

The rule is applied twice: when a URL is saved (``check_saved``: a 400 naming the field), and on
every POST (``post``) against the addresses resolved at that moment. The connection is opened to
the address that passed (TLS still checks the certificate against the host name), so a DNS answer
that changes between the check and the connect (rebinding) cannot send the request elsewhere.
Redirects are never followed. Only the local stage may call loopback, over http or https (its
sink): ``Settings.allows_loopback``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from petcover.config import get_settings
from petcover.errors import InvalidInput

USER_AGENT = "petcover/1"
MAX_ANSWER_BYTES = 4096

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Instance metadata and host services of the clouds (AWS IPv4 and IPv6, ECS task metadata,
# Alibaba, Azure, Oracle): named so the refusal says what it is, even where another rule catches it.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
)
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): not global, not "private"
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeDestination(ValueError):
    """The URL may not be called: why, in a sentence."""


@dataclass(frozen=True)
class HttpResult:
    status: int | None  # None: no HTTP answer (refused destination, timeout, connection, DNS, TLS)
    latency_ms: int
    error: str | None = None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")


Sender = Callable[[str, bytes, Mapping[str, str], float], HttpResult]


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    address: str  # the resolved address that passed the check: the one we connect to


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (tests replace this to play DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def refusal(ip: IpAddress, *, allow_loopback: bool) -> str | None:
    """Why we may not connect to ``ip``, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        carried = _carried_ipv4(ip)
        if carried is not None:
            return refusal(carried, allow_loopback=allow_loopback)
    checks: list[tuple[bool, str]] = [
        (ip in METADATA, "a cloud metadata address"),
        (ip.is_loopback and not allow_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip in SHARED_SPACE, "a shared (carrier-grade NAT) address"),
    ]
    for hit, why in checks:
        if hit:
            return why
    if ip.is_loopback:
        return None  # allowed above: the local stage's sink
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def _parse(url: str, allow_loopback: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, target) of a URL we may call, before resolving its host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"the URL is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_loopback):
        raise UnsafeDestination("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("the URL must not carry a user name or password")
    host = parts.hostname or ""
    if not host:
        raise UnsafeDestination("the URL has no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), target


def _addresses(host: str, port: int) -> list[IpAddress]:
    try:
        found = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"the host {host} does not resolve ({exc})") from None
    if not found:
        raise UnsafeDestination(f"the host {host} does not resolve")
    return [ipaddress.ip_address(a) for a in found]


def vet(url: str, *, allow_loopback: bool | None = None) -> Destination:
    """Where a POST to ``url`` may go now: every resolved address must pass; we connect to the first."""
    allow = get_settings().allows_loopback if allow_loopback is None else allow_loopback
    scheme, host, port, target = _parse(url, allow)
    addresses = _addresses(host, port)
    for ip in addresses:
        why = refusal(ip, allow_loopback=allow)
        if why is not None:
            raise UnsafeDestination(f"{host} resolves to {ip}, {why}")
    if scheme == "http" and not all(ip.is_loopback for ip in addresses):
        raise UnsafeDestination("the URL must start with https://")  # plain http: the local sink only
    return Destination(scheme, host, port, target, str(addresses[0]))


def saved_url_problem(url: str) -> str | None:
    """Why a URL about to be saved may never be called, or None.

    A host that does not resolve yet is accepted (a partner may save the URL before its DNS is
    live); every delivery checks the addresses again before connecting.
    """
    allow = get_settings().allows_loopback
    try:
        scheme, host, port, _ = _parse(url, allow)
        try:
            addresses = _addresses(host, port)
        except UnsafeDestination:
            return None
        for ip in addresses:
            why = refusal(ip, allow_loopback=allow)
            if why is not None:
                return f"{host} resolves to {ip}, {why}"
        if scheme == "http" and not all(ip.is_loopback for ip in addresses):
            return "the URL must start with https://"
    except UnsafeDestination as exc:
        return str(exc)
    return None


def check_saved(url: str, field: str) -> None:
    """A URL about to be saved: 400 ``UNSAFE_URL`` naming ``field`` when it may never be called."""
    problem = saved_url_problem(url)
    if problem is not None:
        raise InvalidInput(
            f"{field} cannot be called: {problem}.",
            code="UNSAFE_URL",
            details=[{"field": field, "message": f"Not an address we may call: {problem}", "type": "unsafe_url"}],
        )


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _connection(dest: Destination, timeout: float) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if dest.scheme == "https":
        conn = http.client.HTTPSConnection(dest.host, dest.port, timeout=timeout, context=_tls())
    else:
        conn = http.client.HTTPConnection(dest.host, dest.port, timeout=timeout)

    def pinned(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        # The Host header and the TLS server name stay the URL's host; the socket goes to the
        # address that was checked, whatever the resolver would answer now.
        return socket.create_connection((dest.address, address[1]), timeout, source_address)

    conn._create_connection = pinned  # type: ignore[attr-defined]
    return conn


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 5.0) -> HttpResult:
    """POST ``body`` to a vetted destination; never raises for a refused, HTTP or network failure."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        dest = vet(url)
    except UnsafeDestination as exc:
        return HttpResult(None, elapsed(), f"refused: {exc}"[:300])
    conn = _connection(dest, timeout)
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        conn.request("POST", dest.target, body=body, headers=sent)
        resp = conn.getresponse()
        data = resp.read(MAX_ANSWER_BYTES)
        status = int(resp.status)
        return HttpResult(status, elapsed(), None if 200 <= status < 300 else f"HTTP {status}", data)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return HttpResult(None, elapsed(), f"{type(exc).__name__}: {exc}"[:300])
    finally:
        conn.close()
