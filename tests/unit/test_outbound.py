"""Where outbound calls may go: https only, public addresses only (IPv4 and IPv6, mapped forms
included), checked when a URL is saved and again for each POST against the address we then connect to."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from petcover import outbound
from petcover.config import Settings, get_settings, reset_settings
from petcover.errors import InvalidInput
from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ChannelUpdate
from petcover.services import channels

STAFF = Principal("ops", "sam", ("sales",))

BLOCKED = {
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "::1": "a loopback address",
    "10.0.0.5": "a private address",
    "172.16.3.4": "a private address",
    "192.168.1.1": "a private address",
    "fd12:3456::1": "a private address",
    "169.254.169.254": "a cloud metadata address",
    "169.254.170.2": "a cloud metadata address",
    "fd00:ec2::254": "a cloud metadata address",
    "100.100.100.200": "a cloud metadata address",
    "169.254.10.20": "a link-local address",
    "fe80::1": "a link-local address",
    "100.64.0.1": "a shared (carrier-grade NAT) address",
    "100.127.255.254": "a shared (carrier-grade NAT) address",
    "224.0.0.1": "a multicast address",
    "239.255.255.250": "a multicast address",
    "ff02::1": "a multicast address",
    "0.0.0.0": "the unspecified address",
    "::": "the unspecified address",
    "240.0.0.1": "a private address",
    "192.0.2.10": "a private address",
    "::ffff:127.0.0.1": "a loopback address",
    "::ffff:169.254.169.254": "a cloud metadata address",
    "::ffff:10.1.2.3": "a private address",
    "64:ff9b::a9fe:a9fe": "a cloud metadata address",
    "2002:7f00:1::": "a loopback address",
    "2002:a00:1::": "a private address",
    "2001:db8::1": "a private address",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "why"), sorted(BLOCKED.items()))
def test_internal_addresses_are_refused_with_what_they_are(address: str, why: str) -> None:
    assert outbound.refusal(ipaddress.ip_address(address), allow_loopback=False) == why


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert outbound.refusal(ipaddress.ip_address(address), allow_loopback=False) is None


def test_loopback_passes_only_when_allowed_and_nothing_else_does() -> None:
    assert outbound.refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert outbound.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    for other in ("10.0.0.1", "169.254.169.254", "100.64.0.1"):
        assert outbound.refusal(ipaddress.ip_address(other), allow_loopback=True) is not None


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver the test fills: host -> addresses (unknown hosts do not resolve)."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    monkeypatch.setattr(outbound, "resolve", resolve)
    return table


@pytest.fixture
def stage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_stage(name: str) -> None:
        monkeypatch.setenv("STAGE", name)
        reset_settings()

    yield set_stage
    monkeypatch.delenv("STAGE", raising=False)
    reset_settings()


def test_vet_checks_the_scheme_the_credentials_and_every_resolved_address(dns, stage) -> None:
    stage("prod")
    dns["hooks.partner.example"] = ["93.184.216.34"]
    dns["internal.partner.example"] = ["93.184.216.34", "10.0.0.7"]  # one bad record is enough
    dns["metadata.partner.example"] = ["169.254.169.254"]
    dest = outbound.vet("https://hooks.partner.example:8443/in?x=1")
    assert (dest.scheme, dest.host, dest.port, dest.target, dest.address) == (
        "https",
        "hooks.partner.example",
        8443,
        "/in?x=1",
        "93.184.216.34",
    )
    refused = {
        "http://hooks.partner.example/in": "must start with https://",
        "ftp://hooks.partner.example/in": "must start with https://",
        "https://user:pw@hooks.partner.example/in": "user name or password",
        "https:///in": "no host",
        "https://internal.partner.example/in": "10.0.0.7, a private address",
        "https://metadata.partner.example/": "169.254.169.254, a cloud metadata address",
        "https://169.254.169.254/latest/meta-data/": "a cloud metadata address",
        "https://[::ffff:a9fe:a9fe]/": "a cloud metadata address",
        "https://localhost/": "does not resolve",
        "https://nowhere.partner.example/": "does not resolve",
        "https://hooks.partner.example:99999/": "malformed",
    }
    for url, why in refused.items():
        with pytest.raises(outbound.UnsafeDestination, match=why):
            outbound.vet(url)


def test_the_local_stage_alone_may_call_loopback_and_only_loopback_over_http(dns, stage) -> None:
    dns["localhost"] = ["127.0.0.1", "::1"]
    dns["lan.example"] = ["192.168.0.9"]
    stage("local")
    assert get_settings().allows_loopback
    assert outbound.vet("http://127.0.0.1:4599/hooks").address == "127.0.0.1"
    assert outbound.vet("http://localhost:4599/hooks").address == "127.0.0.1"
    with pytest.raises(outbound.UnsafeDestination, match="private"):
        outbound.vet("http://lan.example/hooks")
    for other in ("dev", "prod"):
        stage(other)
        assert not get_settings().allows_loopback
        with pytest.raises(outbound.UnsafeDestination):
            outbound.vet("https://127.0.0.1:4599/hooks")


def test_loopback_cannot_be_switched_on_outside_the_local_stage(monkeypatch) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("OUTBOUND_ALLOW_LOOPBACK", "true")
    with pytest.raises(ValidationError, match="local stage only"):
        Settings()  # type: ignore[call-arg]
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("OUTBOUND_ALLOW_LOOPBACK", "false")
    assert Settings().allows_loopback is False  # type: ignore[call-arg]


def test_saving_a_callback_url_that_reaches_inside_is_a_400_naming_the_field(fake_ports, dns, stage) -> None:
    stage("prod")
    dns["rebind.partner.example"] = ["169.254.169.254"]
    for url in (
        "https://169.254.169.254/latest/meta-data/",
        "https://rebind.partner.example/h",
        "http://shop.example/",
    ):
        with pytest.raises(InvalidInput) as refused:
            channels.add_channel(fake_ports, STAFF, ChannelCreate(id="shop-x", name="Shop", callback_url=url))
        assert refused.value.code == "UNSAFE_URL"
        assert refused.value.details[0]["field"] == "callback_url"
    # a host that does not resolve yet is accepted: each delivery checks again
    channels.add_channel(
        fake_ports, STAFF, ChannelCreate(id="shop-x", name="Shop", callback_url="https://new.example/h")
    )
    with pytest.raises(InvalidInput, match="loopback"):
        channels.update_channel(fake_ports, STAFF, "shop-x", ChannelUpdate(callback_url="https://127.0.0.1/h"))
    assert channels.get_channel(fake_ports, "shop-x").callback_url == "https://new.example/h"


class _Recorder:
    """A loopback HTTP server that records the Host header of each POST."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hosts: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hosts.append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

        self.hosts = hosts
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_post_connects_to_the_address_that_was_checked_not_to_a_later_dns_answer(dns, stage, monkeypatch) -> None:
    """DNS rebinding: the name answered a safe address for the check; any later lookup would say
    169.254.169.254. The request still goes to the checked address, with the name as Host."""
    stage("local")
    receiver = _Recorder()
    dns["rebind.test"] = ["127.0.0.1"]

    real = socket.getaddrinfo

    def rebound(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", receiver.port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    try:
        result = outbound.post(f"http://rebind.test:{receiver.port}/hooks", b"{}", {}, 2.0)
    finally:
        receiver.close()
    assert result.status == 204, result
    assert receiver.hosts == [f"rebind.test:{receiver.port}"]


def test_a_post_to_a_refused_destination_never_opens_a_connection(dns, stage, monkeypatch) -> None:
    stage("prod")
    dns["evil.example"] = ["10.0.0.1"]

    def no_socket(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a connection was opened")

    monkeypatch.setattr(socket, "create_connection", no_socket)
    result = outbound.post("https://evil.example/h", b"{}", {}, 1.0)
    assert result.status is None and not result.ok
    assert result.error == "refused: evil.example resolves to 10.0.0.1, a private address"
