"""On the local cloud: a worker dies between its commit and its publish; the deployed sweeper and
consumers finish the work, once.

The dying worker is this test process running the fulfilment service against the emulator's
table and queues (the way ``infra/seed.py`` writes): its commit (fulfilled, with the webhook,
the timeline node and the quota deduction request in the outbox) lands, then it dies at its
first publish. Its messages are dated a minute back (past ``outbox.SWEEP_AFTER``), so the sweeper
does not leave them to their writer: that wait is held in ``tests/unit/test_outbox.py``, not
waited out here. Everything after that is the deployed stack over HTTP: the appointment reads
fulfilled, nothing moved yet; ``OutboxSweepFunction``, fired as its minute schedule would be,
publishes them; the deployed quota consumer deducts and the webhook reaches the channel's
receiver; a second sweep publishes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from infra.credentials import ops_token
from petcover.client import OpsClient, PetcoverClient
from petcover.identity import Principal
from petcover.observability import set_correlation_id
from petcover.ports import Ports
from petcover.repositories import outbox as outbox_repo
from petcover.services import outbox
from tests.robustness import e2e_world
from tests.robustness.faults import Killed

pytestmark = pytest.mark.e2e
TIMEOUT = 120  # seconds per HTTP call: a cold start on a busy emulator can take most of a minute


def _wait(what: str, check: Callable[[], Any], seconds: float = 240, every: float = 0.5) -> Any:
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


class DiesAtFirstPublish:
    def send(self, *a: Any, **k: Any) -> None:
        raise Killed("the worker died after its commit, before its first publish")

    def emit(self, *a: Any, **k: Any) -> None:
        raise Killed("the worker died after its commit, before its first publish")


def _shipped(stack: Any, world: e2e_world.RobustWorld, shop: PetcoverClient, tag: str) -> tuple[str, str]:
    """A policy and its medicine delivery, dispatched, accepted and shipped, all over HTTP."""
    pol = shop.post("/policies", json=e2e_world.underwrite_body(f"ob-{tag}", f"ob-{tag}"), idempotency_key=f"ob-{tag}")
    assert pol.status == 201, pol.body
    number = pol.json["number"]
    booked = shop.post(
        f"/policies/{number}/appointments", json=e2e_world.online_booking(f"ob-{tag}"), idempotency_key=f"obb-{tag}"
    )
    assert booked.status == 201, booked.body
    aid = booked.json["appointment_id"]
    ops = OpsClient(stack.base, ops_token(["ops"], "e2e"), timeout=TIMEOUT)
    rec = _wait(
        "dispatch",
        lambda: (lambda r: r.json if r.status == 200 and r.json["state"] == "assigned" else None)(
            ops.get(f"/ops/appointments/{aid}/dispatch")
        ),
    )
    key = next(pv.key for pv in world.providers if pv.id == rec["decision"]["provider_id"])
    provider = PetcoverClient(stack.base, *key, timeout=TIMEOUT)
    assert provider.post(f"/work-orders/{aid}/accept").status == 200
    shipped = provider.post(f"/work-orders/{aid}/ship", json={"carrier": "SF", "tracking_number": f"SF{tag}"})
    assert shipped.status == 200, shipped.body
    return number, aid


def _benefit(shop: PetcoverClient, number: str) -> dict[str, Any]:
    got = shop.get(f"/policies/{number}")
    assert got.status == 200, got.body
    return {b["code"]: b for b in got.json["benefits"]}["medicine-delivery"]  # type: ignore[no-any-return]


def _fulfilled_hooks(stack: Any, aid: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r["body"]) for r in stack.cloud.sink_requests() if r["path"].startswith("/hooks/")]
    return [b for b in bodies if b.get("object_id") == aid and b.get("event_type") == "appointment.fulfilled"]


def test_a_worker_dead_after_its_commit_is_finished_once_by_the_deployed_sweeper(stack, monkeypatch):
    from infra import seed
    from petcover.services.fulfilment import closing

    world = e2e_world.build(stack)
    shop = PetcoverClient(stack.base, *world.shop_key, timeout=TIMEOUT)
    tag = uuid.uuid4().hex[:8]
    number, aid = _shipped(stack, world, shop, tag)

    p: Ports = seed._ports(stack.cloud)
    p.publisher = DiesAtFirstPublish()
    real_item = outbox_repo.message_item
    a_minute_ago = outbox.SWEEP_AFTER + timedelta(seconds=5)
    monkeypatch.setattr(outbox_repo, "message_item", lambda oid, at, msg: real_item(oid, at - a_minute_ago, msg))
    set_correlation_id(f"e2e-outbox-{tag}")
    with pytest.raises(Killed):
        closing.confirm_receipt(p, Principal("channel", e2e_world.SHOP), aid)

    got = shop.get(f"/appointments/{aid}")
    assert got.status == 200 and got.json["status"] == "fulfilled", got.body  # the commit stands
    held = _benefit(shop, number)
    assert (held["used"], held["held"]) == (0, 1), held  # nothing was published

    # The minute schedule, run by hand: the messages are past the writer's minute, so they go out.
    first = _wait(
        "the sweeper to publish", lambda: (r := stack.cloud.fire("OutboxSweepFunction"))["sent"] and r, 150, every=5
    )
    assert first["sent"] >= 2, first  # the deduction request and the webhook's first delivery
    done = _wait("the quota deduction", lambda: (b := _benefit(shop, number))["used"] == 1 and b)
    assert done["held"] == 0, done
    hooks = _wait("the fulfilled webhook", lambda: _fulfilled_hooks(stack, aid))
    assert len(hooks) == 1, hooks
    assert stack.cloud.fire("OutboxSweepFunction") == {"sent": 0}  # nothing left, nothing published twice
