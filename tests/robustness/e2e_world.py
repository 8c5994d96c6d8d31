"""What the robustness e2e tests need on the deployed stack, set up once per session.

Setup goes through the service layer in-process against the emulator's DynamoDB (the way
``infra/seed.py`` seeds demo data), not through the API: every API function's first call costs a
~3 s cold start on the local cloud, and setup is not what these tests examine. Everything the
tests *examine* goes over HTTP.

Objects (all prefixed ``rb-`` / "Robustness", separate from the demo data other tests use):
  rb-shop      channel the suite signs as (rate limit 10,000/s), contracts for pet-health and rb-care
  rb-other     a second channel (tenant isolation)
  rb-target    a channel only ops operations are pointed at (fuzzing may close it, revoke its keys)
  rb-care      a copy of pet-health without waiting period, so services and claims work at once
  two providers with approved configurations (checkup at a store, medicine delivery online) in
  Shanghai Pudong (310115), the region the suite's bookings use.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from petcover.domain import calendar
from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ContractCreate
from petcover.models.partners import ConfigInput, DocumentUploadRequest, PartnerCreate
from petcover.ports import Ports
from petcover.seed.products import SEED_PRODUCTS
from petcover.services import catalog, channels, credentials
from petcover.services.partners import accounts, config, documents

STAFF = Principal("ops", "robustness-setup", ("admin",))
SHOP, OTHER, TARGET = "rb-shop", "rb-other", "rb-target"
CARE = "rb-care"
FUZZ_PRODUCT = "rb-fuzz-target"  # the product generated ops calls are pointed at (they may delist it)
PERMISSIONS = ["quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book"]
REGION = {"province": "310000", "city": "310100", "district": "310115"}
ADDRESS = {"contact_name": "Li Lei", "phone": "+86 138 0000 0000", "line": "Room 1, 100 Century Avenue", **REGION}


@dataclass
class Provider:
    id: str
    key: tuple[str, str]


@dataclass
class RobustWorld:
    base: str
    sink_url: str
    shop_key: tuple[str, str]
    other_key: tuple[str, str]
    providers: list[Provider]
    target_partner: str
    fuzz_provider: Provider  # signs generated provider calls (not in the dispatch rules)
    secrets: list[str] = field(default_factory=list)  # everything that must never appear in a log


_lock = threading.Lock()
_worlds: dict[str, RobustWorld] = {}


def care_spec() -> Any:
    pet = next(s for s in SEED_PRODUCTS if s.code == "pet-health")
    return pet.model_copy(
        update={
            "code": CARE,
            "name": "Robustness Care",
            "underwriting": pet.underwriting.model_copy(update={"waiting_period_days": 0}),
        }
    )


def _channel(p: Ports, channel_id: str, sink_url: str, products: list[str]) -> tuple[str, str]:
    with contextlib.suppress(Conflict):  # a second session on the same stack
        channels.add_channel(
            p,
            STAFF,
            ChannelCreate(
                id=channel_id,
                name=f"Robustness {channel_id}",
                callback_url=f"{sink_url}/hooks/{channel_id}",
                rate_limit=10_000,
            ),
        )
    for code in products:
        with contextlib.suppress(Conflict):
            catalog.create_contract(
                p,
                STAFF,
                channel_id,
                ContractCreate(
                    product_code=code,
                    premium_multiplier=Decimal("1.0"),
                    commission_pct=Decimal("8"),
                    permissions=PERMISSIONS,
                    effective_from=date.today() - timedelta(days=30),
                ),
            )
    for old in credentials.list_keys(p, "channel", channel_id):
        if old.status == "active":  # a second session on the same stack
            credentials.revoke(p, "channel", channel_id, old.key_id)
    k = credentials.issue(p, "channel", channel_id)
    return k.key_id, k.secret


def _provider(p: Ports, name: str, sink_url: str) -> Provider:
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="provider", name=name, agreement_ref="AGR-RB-1"))
    k = accounts.issue_key(p, STAFF, acc.id)
    me = Principal("provider", acc.id, (), k.key_id)
    doc = documents.document_upload(
        p, me, DocumentUploadRequest(type="business_licence", file_name="licence.pdf", content_type="application/pdf")
    )
    cfg = ConfigInput.model_validate(
        {
            "services": [
                {"service_type": "checkup", "mode": "offline_store"},
                {"service_type": "medicine_delivery", "mode": "online_shipping"},
            ],
            "regions": [REGION],
            "daily_capacity": 10_000,
            "contacts": [
                {"name": "Desk", "channel": "slack", "webhook_url": f"{sink_url}/chat/{acc.id}", "mention": "desk"}
            ],
            "documents": [
                {"type": "business_licence", "number": "9131RB", "expires_on": "2099-12-31", "file_key": doc.file_key}
            ],
        }
    )
    config.save_draft(p, me, cfg)
    config.submit(p, me)
    config.approve_config(p, STAFF, acc.id)
    return Provider(acc.id, (k.key_id, k.secret))


def publish_rules(p: Ports, provider_ids: list[str]) -> int:
    """Dispatch rules for the suite's region (50/50 between its providers), merged into whatever
    rule set is in force: the other regions' rules are republished unchanged."""
    from petcover.domain.dispatch import ProviderShare, RegionRule
    from petcover.models.dispatch import RulesPublish
    from petcover.services.dispatch import rules as dispatch_rules

    mine = {"checkup", "medicine_delivery"}
    region = REGION["district"]
    shares = [
        ProviderShare(
            provider_id=pid,
            share_pct=100 // len(provider_ids) + (i < 100 % len(provider_ids)),
            weight=1,
            daily_capacity=100_000,
            scope="regional",
        )
        for i, pid in enumerate(provider_ids)
    ]
    for _ in range(5):
        dispatch_rules.clear_cache(p)
        head = dispatch_rules.overview(p).head_version
        current = dispatch_rules.in_effect(p)
        keep = [
            r for r in (current.rules if current else []) if not (r.region_code == region and r.service_type in mine)
        ]
        rules = [*keep, *(RegionRule(region_code=region, service_type=st, providers=shares) for st in sorted(mine))]
        try:
            published = dispatch_rules.publish(
                p,
                STAFF,
                RulesPublish(
                    rules=rules,
                    deviation_threshold_pct=float(current.deviation_threshold_pct) if current else 0.5,
                    daily_target=current.daily_target if current else 1000,
                    base_version=head,
                    note="robustness suite: its region 310115",
                ),
            )
            return published.version
        except Conflict:
            continue  # someone published meanwhile: merge again
    raise AssertionError("could not publish the suite's dispatch rules (the rule set kept changing)")


def build(stack: Any) -> RobustWorld:
    """Once per deployed stack (cached): channels, the no-waiting-period product, providers."""
    with _lock:
        if stack.base in _worlds:
            return _worlds[stack.base]
        from infra import seed

        p = seed._ports(stack.cloud)
        sink = stack.cloud.sink_url
        for spec in (care_spec(), care_spec().model_copy(update={"code": FUZZ_PRODUCT, "name": "Robustness Target"})):
            try:
                catalog.create_product(p, STAFF, spec)
                catalog.publish_product(p, STAFF, spec.code, None)
            except Conflict:
                pass
        shop = _channel(p, SHOP, sink, ["pet-health", CARE])
        other = _channel(p, OTHER, sink, ["pet-health", CARE])
        _channel(p, TARGET, sink, ["pet-health"])
        run = uuid.uuid4().hex[:6]  # partner names are unique: a second session on one stack gets new ones
        providers = [_provider(p, f"Robustness Clinic A {run}", sink), _provider(p, f"Robustness Clinic B {run}", sink)]
        publish_rules(p, [pv.id for pv in providers])
        fuzz_provider = _provider(p, f"Robustness Fuzz Provider {run}", sink)
        target = accounts.create_partner(
            p, STAFF, PartnerCreate(kind="provider", name=f"Robustness Ops Target {run}", agreement_ref="AGR-RB-2")
        )
        world = RobustWorld(
            base=stack.base,
            sink_url=sink,
            shop_key=shop,
            other_key=other,
            providers=providers,
            target_partner=target.id,
            fuzz_provider=fuzz_provider,
            secrets=[
                shop[1],
                other[1],
                *(pv.key[1] for pv in (*providers, fuzz_provider)),
                stack.demo["channel"]["secret"],
            ],
        )
        _worlds[stack.base] = world
        return world


def insured(n: int | str, prefix: str = "rb-pet") -> dict[str, Any]:
    return {
        "insured_id": f"{prefix}-{n}",
        "species": "dog",
        "breed_size": "small",
        "age_months": 30,
        "region": "310115",
    }


def underwrite_body(order: str, pet: str, product: str = CARE) -> dict[str, Any]:
    return {
        "product_code": product,
        "plan_code": "basic",
        "insured": insured(pet),
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }


def online_booking(pet: str) -> dict[str, Any]:
    return {"benefit_code": "medicine-delivery", "pet": {"pet_id": f"rb-pet-{pet}", "name": "Bobo"}, "address": ADDRESS}


def claim_body(amount: str = "120.00", **extra: Any) -> dict[str, Any]:
    return {
        "benefit_code": "treatment",
        "incident_date": calendar.today(datetime.now(UTC)).isoformat(),
        "incident_type": "illness",
        "description": "Vet visit",
        "amount": amount,
        **extra,
    }
