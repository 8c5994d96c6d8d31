"""Dispatch honours scope and bindings: national and local orders, insurer bindings, and the gap's rule."""

from __future__ import annotations

import pytest

from petcover.domain.dispatch import OrderFacts, RegionRule
from petcover.domain.dispatch_scope import blocking_rule, scope_filter
from petcover.models.partners import Binding, ProviderConfig, RegionEntry, ServiceOffering
from petcover.seed import products as seed
from petcover.services.dispatch import assignment as dispatching
from petcover.services.dispatch import coverage
from petcover.services.dispatch import providers as candidate_providers
from petcover.services.fulfilment import booking
from tests.support import fixtures
from tests.support.bookings import SHOP, online, setup_world
from tests.support.dispatch import Assigned, message, publish

LOCAL = OrderFacts(order_id="o1", service_type="checkup", province="310000", district="310115")
NATIONAL = LOCAL.model_copy(update={"national": True})


def mixed_rule(**kw) -> dict:
    return {
        "local_orders": "regional_first",
        "region_code": "310115",
        "service_type": "checkup",
        "providers": [
            {"provider_id": "nat", "share_pct": 50, "weight": 0, "daily_capacity": 100, "scope": "national"},
            {"provider_id": "reg", "share_pct": 50, "weight": 0, "daily_capacity": 100, "scope": "regional"},
        ],
        **kw,
    }


def test_a_national_order_leaves_out_every_regional_provider():
    got = scope_filter(RegionRule.model_validate(mixed_rule()), NATIONAL, {"nat", "reg"})
    assert {k: v.rule for k, v in got.items()} == {"reg": "national_scope"}


def test_a_local_order_prefers_the_regional_provider_and_falls_back_as_configured():
    rule = RegionRule.model_validate(mixed_rule())
    assert {k: v.rule for k, v in scope_filter(rule, LOCAL, {"nat", "reg"}).items()} == {"nat": "local_preference"}
    assert scope_filter(rule, LOCAL, {"nat"}) == {}  # the regional one is full: national providers take it
    strict = RegionRule.model_validate(mixed_rule(local_orders="regional_only"))
    out = scope_filter(strict, LOCAL, {"nat"})
    assert {k: v.rule for k, v in out.items()} == {"nat": "local_fallback"} and blocking_rule(out) == "local_fallback"


def test_by_default_national_providers_keep_their_shares_of_local_orders():
    rule = RegionRule.model_validate({**mixed_rule(), "local_orders": "by_share"})
    assert scope_filter(rule, LOCAL, {"nat", "reg"}) == {}
    assert RegionRule.model_validate({k: v for k, v in mixed_rule().items() if k != "local_orders"}).local_orders == (
        "by_share"
    )


def test_only_the_insurers_bound_providers_are_candidates():
    rule = RegionRule.model_validate(mixed_rule())
    out = scope_filter(rule, NATIONAL, {"nat", "reg"}, bound={"reg"}, insurer_id="ins-1")
    assert {k: v.rule for k, v in out.items()} == {"nat": "insurer_binding", "reg": "national_scope"}
    assert "ins-1" in out["nat"].reason and blocking_rule(out) == "insurer_binding"
    assert scope_filter(rule, LOCAL, {"nat", "reg"}, bound=set())["reg"].rule == "insurer_binding"


# ---------------------------------------------------------------- through the consumer


def config(pid: str) -> ProviderConfig:
    return ProviderConfig(
        provider_id=pid,
        name=pid,
        version=1,
        services=[ServiceOffering(service_type="checkup", mode="offline_store")],
        regions=[RegionEntry(province="310000")],
        daily_capacity=1000,
        contacts=[],
    )


CONFIGS = {pid: config(pid) for pid in ("nat", "reg", "other")}


def dispatch(p, i: int, **kw):
    return dispatching.dispatch_one(
        p,
        message(i, **kw),
        assign=Assigned(),
        providers=lambda _p: list(CONFIGS.values()),
        confirm=lambda _p, pid: CONFIGS[pid],
    )


@pytest.fixture
def p(fake_ports):
    dispatching.clear_caches()
    publish(fake_ports, mixed_rule())
    return fake_ports


def test_national_orders_go_to_national_providers_and_local_ones_to_regional(p):
    nat = [dispatch(p, i, national=True).decision for i in range(10)]
    assert {d.provider_id for d in nat} == {"nat"}  # type: ignore[union-attr]
    assert nat[0].excluded["reg"] == "regional provider cannot take a national order"  # type: ignore[union-attr]
    local = [dispatch(p, 100 + i).decision for i in range(10)]
    assert {d.provider_id for d in local} == {"reg"}  # type: ignore[union-attr]
    assert local[0].excluded["nat"].startswith("local order: regional provider(s) reg")  # type: ignore[union-attr]


def test_bindings_restrict_candidates_and_the_gap_names_the_rule(p, monkeypatch):
    bindings = {
        "ins-1": [Binding(provider_id="other")],
        "ins-2": [Binding(provider_id="nat", service_types=["checkup"])],
    }
    monkeypatch.setattr(candidate_providers.directory, "insurer_bindings", lambda _p, ins: bindings.get(ins, []))
    assert dispatch(p, 1, insurer_id="ins-2").decision.provider_id == "nat"  # type: ignore[union-attr]
    assert dispatch(p, 2, insurer_id="ins-9").decision.provider_id == "reg"  # no bindings: anyone
    rec = dispatch(p, 3, insurer_id="ins-1")  # binds only a provider the rule does not list
    assert rec.state == "manual" and rec.decision.provider_id is None  # type: ignore[union-attr]
    [gap] = coverage.coverage_gaps(p).items
    assert (gap.last_rule, gap.last_kind, gap.last_appointment_id) == ("insurer_binding", "no_provider", "ap-3")


def test_a_national_order_with_no_national_provider_is_a_gap_named_national_scope(p):
    only_regional = [{"provider_id": "reg", "share_pct": 100, "weight": 0, "daily_capacity": 100, "scope": "regional"}]
    publish(p, mixed_rule(providers=only_regional))
    rec = dispatch(p, 1, national=True)
    assert rec.state == "manual"
    assert coverage.coverage_gaps(p).items[0].last_rule == "national_scope"


def test_a_booking_carries_the_benefits_scope_and_the_products_insurer(fake_ports, monkeypatch):
    specs = []
    for spec in seed.SEED_PRODUCTS:
        if spec.code == "pet-health":
            plans = [
                plan.model_copy(
                    update={
                        "benefits": [
                            b.model_copy(update={"scope": "national"}) if b.code == "medicine-delivery" else b
                            for b in plan.benefits
                        ]
                    }
                )
                for plan in spec.plans
            ]
            spec = spec.model_copy(update={"plans": plans, "insurer_id": "ins-1"})
        specs.append(spec)
    monkeypatch.setattr(fixtures, "SEED_PRODUCTS", specs)
    _, number = setup_world(fake_ports)
    booking.book_appointment(fake_ports, SHOP, number, online())
    [msg] = fake_ports.publisher.sent["dispatch"]
    assert msg["national"] is True and msg["insurer_id"] == "ins-1"
