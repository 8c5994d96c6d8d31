"""The session's stack on the local cloud, shared by the e2e and browser tests of one pytest run.

The session deploys template.yaml to ministack on free loopback ports, seeds the demo data and
tears it down at the end; ``pytest tests/e2e tests/browser`` deploys once for both.
PETCOVER_BROWSER_REUSE=<the .run folder of a cloud `make up` started>, with its PETCOVER_PORT and
PETCOVER_SINK_PORT, reuses that cloud instead of deploying.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # loaded by the fixture: unit and integration sessions never import the seed
    from infra.localcloud import LocalCloud


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


# What a failed session prints at its end (tests/conftest.py): the cause of a 502 is in the emulator's
# log, which goes with the run folder.
EMULATOR_REPORT = pytest.StashKey[list[str]]()
REPORT_LINES = 30


def emulator_report(run_dir: Path) -> list[str]:
    """The emulator's last warnings and errors, the workers it unpacked and the disk left."""
    import shutil

    log = run_dir / "ministack.log"
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    flagged = [line[:300] for line in text if " ERROR " in line or " WARNING " in line or "rror:" in line]
    workers = sum(1 for p in run_dir.glob("ministack-lambda-*") if p.is_dir())
    free = shutil.disk_usage(run_dir).free / 2**30 if run_dir.exists() else float("nan")
    return [f"{workers} Lambda workers unpacked under {run_dir}; {free:.1f} GiB free there", *flagged[-REPORT_LINES:]]


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    from infra.localcloud import ROOT, TOOLS_BIN, LocalCloud, free_port

    reuse = os.environ.get("PETCOVER_BROWSER_REUSE")
    if reuse:
        cloud = LocalCloud(
            port=int(os.environ["PETCOVER_PORT"]), sink_port=int(os.environ["PETCOVER_SINK_PORT"]), run_dir=Path(reuse)
        ).load()
        yield Stack(cloud, json.loads((Path(reuse) / "demo.json").read_text()))
        return
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

        yield Stack(cloud, seed.seed(cloud))
    finally:
        if request.session.testsfailed:
            request.config.stash[EMULATOR_REPORT] = emulator_report(run_dir)
        cloud.stop(quiet=True)
        # The emulator unpacks a copy of the layer per function: removing it takes a while, so it
        # happens in the background instead of holding up the test session.
        subprocess.Popen(["rm", "-rf", str(run_dir)], start_new_session=True)


@pytest.fixture
def restore_dispatch_rules(stack: Stack) -> Iterator[None]:
    """For a test that routes orders to providers of its own: the rule set it found is published
    again afterwards, so the tests after it (e2e or browser) find the demo routing."""
    ops = stack.ops_client("ops")
    head = ops.get("/ops/dispatch/rules").json["head_version"]
    rules = ops.get(f"/ops/dispatch/rules/{head}").json["rules"] if head else []
    yield
    now = ops.get("/ops/dispatch/rules").json["head_version"]
    if now != head:
        body = {"base_version": now, "rules": rules, "note": "the rules before a test, restored"}
        restored = ops.put("/ops/dispatch/rules", json=body)
        assert restored.status in (200, 201), restored.body
