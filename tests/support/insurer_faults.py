"""The uncertain-outcome scenario: many underwrites routed between insurers that time out.

Two insurers time out on ``timeout_share`` of their underwrite calls (half of those issued
anyway, the answer arriving after our timeout; the other half never reached them), with
in-house underwriting as the last resort. The settle schedule then runs on a controlled clock,
two runs at once each minute (by default), until nothing is pending. ``check`` returns what was found.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from petcover.domain.catalog import InsuredFacts
from petcover.domain.insurer_routing import INHOUSE, RoutingRules
from petcover.identity import Principal
from petcover.models.insurers import EndpointInput
from petcover.models.partners import PartnerCreate
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import insurers as insurer_repo
from petcover.repositories import webhooks as webhook_repo
from petcover.services import policies
from petcover.services.insurers import adapter, endpoints, routing
from petcover.services.partners import accounts
from tests.support.clock import Clock
from tests.support.fixtures import STAFF, catalogue
from tests.support.insurers import FakeInsurer, fake_sender

SHOP = Principal("channel", "shop-a")


@dataclass
class Outcome:
    orders: int
    answers: Counter[str]
    settle_runs: int
    per_insurer: Counter[str]
    two_insurers: list[str] = field(default_factory=list)
    no_insurer: list[str] = field(default_factory=list)
    wrong_insurer: list[str] = field(default_factory=list)
    webhooks: int = 0
    closed_keys: int = 0
    seconds: float = 0.0


def _insurer(p: Ports, name: str) -> str:
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="insurer", name=name, agreement_ref="AG-F"))
    endpoints.save(p, STAFF, acc.id, EndpointInput(url=f"https://{acc.id}.insurer.test", timeout_ms=3000, retries=0))
    return acc.id


def _request(i: int) -> UnderwriteRequest:
    return UnderwriteRequest(
        product_code="pet-health",
        plan_code="basic",
        insured=InsuredFacts(insured_id=f"pet-{i}", species="dog", breed_size="small", age_months=30, region="310115"),
        channel_order_id=f"fault-{i}",
        holder=Holder(name="Li Lei"),
    )


def setup(p: Ports, *, timeout_share: float = 0.2) -> dict[str, FakeInsurer]:
    """Catalogue, two insurers (60/40) and in-house as failover; ``p`` must carry a Clock."""
    catalogue(p, ("shop-a",))
    a, b = _insurer(p, "Fault Insurer A"), _insurer(p, "Fault Insurer B")
    fakes = {
        a: FakeInsurer(a, timeout_share=timeout_share, seed=11),
        b: FakeInsurer(b, timeout_share=timeout_share, seed=23),
    }
    p.extra[adapter.SENDER_PORT] = fake_sender(fakes)
    routes = [{"insurer_id": a, "weight": 60}, {"insurer_id": b, "weight": 40}, {"insurer_id": INHOUSE, "weight": 0}]
    routing.save_rules(p, STAFF, "pet-health", RoutingRules.model_validate({"routes": routes}))
    return fakes


def _settle_until_done(p: Ports, clock: Clock, runs_at_once: int) -> int:
    for run in range(1, 30):
        clock.advance(minutes=1)
        threads = [threading.Thread(target=policies.settle_pending, args=(p,)) for _ in range(runs_at_once)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not insurer_repo.pending(p.store, limit=1).items:
            return run
    raise AssertionError("policies still pending after 29 runs")


def run(p: Ports, clock: Clock, fakes: dict[str, FakeInsurer], orders: int, *, runs_at_once: int = 2) -> Outcome:
    """``runs_at_once``: settle runs started together each minute (overlapping runs must not double)."""
    started = time.monotonic()
    answers: Counter[str] = Counter()
    for i in range(orders):
        clock.advance(seconds=1)  # an order a second: an insurer's open circuit closes again after a minute
        answers[policies.underwrite(p, SHOP, _request(i)).status] += 1
    out = Outcome(orders, answers, _settle_until_done(p, clock, runs_at_once), Counter())
    for i in range(orders):
        pol = policies.find_by_order(p, "shop-a", f"fault-{i}")
        assert pol is not None and pol.insurer is not None
        holders = [name for name, fake in fakes.items() if fake.book.get(pol.number) == "issued"]
        if len(holders) > 1:
            out.two_insurers.append(pol.number)
        if pol.status != "active" or (not holders and pol.insurer.insurer_id != INHOUSE):
            out.no_insurer.append(pol.number)
        if holders and holders != [pol.insurer.insurer_id]:
            out.wrong_insurer.append(pol.number)
        out.per_insurer[pol.insurer.insurer_id] += 1
        if any(a.call == "query" for a in pol.insurer.attempts):
            version = p.store.get(*webhook_repo.object_version_key("policy", pol.number))
            out.webhooks += int(version is not None and int(version["seq"]) == 1)
    out.closed_keys = sum(len(f.closed) for f in fakes.values())
    out.seconds = time.monotonic() - started
    return out
