"""e2e: the session deploys template.yaml to ministack on free loopback ports and talks HTTP."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.localcloud import ROOT, TOOLS_BIN, LocalCloud, free_port


@dataclass
class Stack:
    cloud: LocalCloud
    demo: dict[str, Any]

    @property
    def base(self) -> str:
        return self.cloud.api_base

    def channel_client(self, key: tuple[str, str] | None = None) -> Any:
        from petcover.client import PetcoverClient

        kid, secret = key or (self.demo["channel"]["key_id"], self.demo["channel"]["secret"])
        return PetcoverClient(self.base, kid, secret, timeout=90)  # a cold function on a busy machine

    def ops_client(self, *roles: str) -> Any:
        from infra.credentials import ops_token
        from petcover.client import OpsClient

        return OpsClient(self.base, ops_token(list(roles or ("admin",)), "e2e"), timeout=90)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if not (TOOLS_BIN / "sam").exists():
        pytest.fail("the tools virtualenv is missing: run `make tools` (make test does)")
    run_dir = ROOT / ".run" / f"e2e-{os.getpid()}"
    cloud = LocalCloud(
        port=free_port(), sink_port=free_port(), insurer_port=free_port(), stack="petcover-e2e", run_dir=run_dir
    )
    try:
        cloud.start()
        cloud.deploy()
        from infra import seed

        demo = seed.seed(cloud)
        yield Stack(cloud, demo)
    finally:
        cloud.stop(quiet=True)
        # The emulator unpacks a copy of the layer per function: removing it takes a while, so it
        # happens in the background instead of holding up the test session.
        subprocess.Popen(["rm", "-rf", str(run_dir)], start_new_session=True)
