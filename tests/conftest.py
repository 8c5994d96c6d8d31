"""Shared fixtures: fakes for unit tests, moto built from template.yaml for integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

# One deployment on the local cloud per session, whichever of tests/e2e and tests/browser it runs.
from tests.support.local_stack import EMULATOR_REPORT, restore_dispatch_rules, stack

__all__ = ["restore_dispatch_rules", "stack"]

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Petcover")
os.environ.setdefault("POWERTOOLS_DEV", "false")


# The chat robots' real hosts, named by the test providers' contacts: a lookup of them would go to
# the machine's resolver (seconds each where it has no route out). Tests answer them with a public
# address instead; every other name resolves as usual, and tests that play DNS still do.
CHAT_HOSTS = frozenset({"oapi.dingtalk.com", "hooks.slack.com", "qyapi.weixin.qq.com", "open.feishu.cn"})
PUBLIC_ADDRESS = "93.184.215.14"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """After a failed session on the local cloud: what the emulator said (its log goes with the run)."""
    lines = config.stash.get(EMULATOR_REPORT, [])
    if lines:
        terminalreporter.section("the local cloud's last warnings and errors")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True, scope="session")
def _chat_hosts_resolve_offline() -> Iterator[None]:
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower() in CHAT_HOSTS:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, int(port or 443)))]
        return real(host, port, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


def _clear_caches() -> None:
    from petcover import authentication, recent
    from petcover.repositories import sequences
    from petcover.services import catalog

    authentication.clear_cache()
    catalog.clear_caches()
    recent.forget_all()
    sequences.clear()


@pytest.fixture
def fake_ports() -> Iterator[object]:
    """Unit level: in-memory store and publisher, no sockets."""
    from petcover import runtime
    from petcover.messaging import MemoryPublisher
    from petcover.ports import Ports
    from petcover.storage.memory import MemoryBlobs, MemorySecretBox, MemoryStore

    p = Ports(store=MemoryStore(), publisher=MemoryPublisher(), blobs=MemoryBlobs(), secrets=MemorySecretBox())
    runtime.install(p)
    _clear_caches()
    yield p
    runtime.install(None)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Integration level: moto in-process, resources created from template.yaml."""
    from moto import mock_aws

    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    from tests.support import moto_cloud

    moto_cloud.item_backups_for_transactions(monkeypatch)
    with mock_aws():
        names = moto_cloud.build()
        for k, v in moto_cloud.env_for(names).items():
            monkeypatch.setenv(k, v)
        from petcover import idempotency, runtime
        from petcover.config import reset_settings

        reset_settings()
        runtime.install(None)
        idempotency._persistence_layer = None
        _clear_caches()
        yield names
        runtime.install(None)
        reset_settings()


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
