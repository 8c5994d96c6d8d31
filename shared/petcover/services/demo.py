"""Demo data for the local cloud: the seed catalogue, a channel with a key and contracts, a
reviewed clinic with dispatch rules sending it orders, and a policy past its waiting period.

Other areas add their demo objects through ``EXTRA_SEEDERS`` (providers, dispatch rules).
Seeding twice keeps what is there and hands out fresh keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Literal

from petcover.domain.catalog import InsuredFacts
from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ContractCreate, WebhookSecretRotate
from petcover.models.dispatch import RulesPublish
from petcover.models.partners import ConfigInput, DocumentUploadRequest, PartnerCreate
from petcover.models.policies import Holder, Policy, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories.system import health_item
from petcover.seed.products import SEED_PRODUCTS
from petcover.services import catalog, channels, credentials, policies
from petcover.services.dispatch import rules as dispatch_rules
from petcover.services.partners import accounts, config, directory, documents

SEEDER = Principal("ops", "seed", ("admin",))
DEMO_CHANNEL = "demo-shop"
DEMO_CLINIC = "Demo Clinic"
DEMO_REGIONS = ("310000", "110000")  # Shanghai, Beijing
DEMO_SERVICES = ("medicine_delivery", "checkup")
CHANNEL_PERMISSIONS = ["quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book"]
DEMO_BENEFITS = ("medicine-delivery", "annual-checkup")  # bookable services of pet-health, both routed to the clinic
DEMO_POLICY_AGE = timedelta(days=30)  # past the product's 15-day waiting period
DEMO_CATALOGUE_AGE = timedelta(days=60)  # products on sale and contracts in force before that sale
EXTRA_SEEDERS: list[Callable[[Ports, dict[str, Any]], None]] = []


def seed(p: Ports, *, sink_url: str) -> dict[str, Any]:
    p.store.put(health_item())
    # The catalogue and the shop date from before the demo policy was sold.
    back_then = replace(p, clock=lambda: p.now() - DEMO_CATALOGUE_AGE)
    _seed_catalogue(back_then)
    webhook_secret = _seed_channel(back_then, sink_url)
    demo: dict[str, Any] = {"channel": {**_fresh_key(p, "channel", DEMO_CHANNEL), "webhook_secret": webhook_secret}}
    demo["provider"] = seed_provider(p, sink_url)
    demo["policy"] = seed_policy(p)
    for extra in EXTRA_SEEDERS:
        extra(p, demo)
    return demo


def _bookable_now(pol: Policy) -> bool:
    """Active, and each demo benefit has a use left and no booking open on it."""
    by_code = {b.code: b for b in pol.benefits}
    return pol.status == "active" and all(
        (b := by_code.get(code)) is not None and (b.available or 0) >= 1 and b.held == 0 for code in DEMO_BENEFITS
    )


def seed_policy(p: Ports) -> dict[str, Any]:
    """A pet-health policy of the demo shop sold ``DEMO_POLICY_AGE`` ago, so its 15-day waiting period is
    over and the README's walkthrough books at once. Kept while its demo benefits can still be booked;
    otherwise (a walkthrough used them) the next one is sold, for the next demo pet."""
    for n in range(1, 1000):
        order, pet = f"demo-order-{n}", f"demo-pet-{n}"
        pol = policies.find_by_order(p, DEMO_CHANNEL, order, missing_ok=True)
        if pol is not None and not _bookable_now(pol):
            continue
        if pol is None:
            pol = sell_past_policy(p, order=order, pet=pet)
        return {"number": pol.number, "channel_order_id": order, "pet_id": pet, "benefits": list(DEMO_BENEFITS)}
    raise RuntimeError("every demo policy is used up; start from a fresh local cloud (make stop, make run)")


def sell_past_policy(p: Ports, *, order: str, pet: str) -> Policy:
    """The demo shop sells a pet-health basic policy for ``pet`` as it would have ``DEMO_POLICY_AGE`` ago."""
    sold_then = replace(p, clock=lambda: p.now() - DEMO_POLICY_AGE)
    request = UnderwriteRequest(
        product_code="pet-health",
        plan_code="basic",
        insured=InsuredFacts(insured_id=pet, species="dog", breed_size="small", age_months=30, region="310115"),
        channel_order_id=order,
        holder=Holder(name="Li Lei"),
    )
    return policies.underwrite(sold_then, Principal("channel", DEMO_CHANNEL), request)


def _seed_catalogue(p: Ports) -> None:
    for spec in SEED_PRODUCTS:
        try:
            catalog.create_product(p, SEEDER, spec)
            catalog.publish_product(p, SEEDER, spec.code, None)
        except Conflict:
            pass  # a second `make run` on a live stack keeps what is there


def _seed_channel(p: Ports, sink_url: str) -> str:
    """The demo shop with a contract for every seed product (kept as it is when it exists); returns its
    webhook secret, a fresh one on a later run (a secret is shown once)."""
    try:
        created = channels.add_channel(
            p, SEEDER, ChannelCreate(id=DEMO_CHANNEL, name="Demo Shop", callback_url=f"{sink_url}/hooks/{DEMO_CHANNEL}")
        )
    except Conflict:
        return channels.rotate_webhook_secret(
            p, SEEDER, DEMO_CHANNEL, WebhookSecretRotate(overlap_hours=0)
        ).webhook_secret
    try:
        for spec in SEED_PRODUCTS:
            catalog.create_contract(
                p,
                SEEDER,
                DEMO_CHANNEL,
                ContractCreate(
                    product_code=spec.code,
                    premium_multiplier="1.0",
                    commission_pct="8",
                    permissions=CHANNEL_PERMISSIONS,
                    effective_from=date(2026, 1, 1),
                ),
            )
    except Conflict:
        pass
    return str(created.webhook_secret)


def _fresh_key(p: Ports, kind: Literal["channel", "provider"], owner: str) -> dict[str, Any]:
    """Revoke the owner's active keys and issue a new one (its secret is only shown now)."""
    for k in credentials.list_keys(p, kind, owner):
        if k.status == "active":
            credentials.revoke(p, kind, owner, k.key_id)
    key = credentials.issue(p, kind, owner)
    return {"id": owner, "key_id": key.key_id, "secret": key.secret}


def _clinic_config(sink_url: str, licence_file_key: str) -> ConfigInput:
    return ConfigInput.model_validate(
        {
            "services": [
                {"service_type": "medicine_delivery", "mode": "online_shipping"},
                {"service_type": "checkup", "mode": "offline_store"},
            ],
            "regions": [{"province": region} for region in DEMO_REGIONS],
            "daily_capacity": 500,
            "contacts": [
                {
                    "name": "Front desk",
                    "channel": "slack",
                    "webhook_url": f"{sink_url}/chat/demo-clinic",
                    "mention": "U0DEMO",
                }
            ],
            "documents": [
                {
                    "type": "business_licence",
                    "number": "91310115DEMO",
                    "expires_on": "2030-12-31",
                    "file_key": licence_file_key,
                }
            ],
        }
    )


def _demo_clinic(p: Ports, sink_url: str) -> str:
    """The clinic's id: created, configured, submitted and approved on the first run."""
    found = directory.find_by_name(p, DEMO_CLINIC)
    if found is not None:
        return found
    acc = accounts.create_partner(
        p, SEEDER, PartnerCreate(kind="provider", name=DEMO_CLINIC, agreement_ref="AGR-DEMO-1")
    )
    who = Principal("provider", acc.id)
    doc = documents.document_upload(
        p,
        who,
        DocumentUploadRequest(type="business_licence", file_name="licence.pdf", content_type="application/pdf"),
    )
    config.save_draft(p, who, _clinic_config(sink_url, doc.file_key))
    config.submit(p, who)
    config.approve_config(p, SEEDER, acc.id, "seeded demo provider")
    return acc.id


def _route_to(p: Ports, provider_id: str) -> None:
    """Dispatch rules sending every demo region's demo services to the provider."""
    provider = {"provider_id": provider_id, "share_pct": 100, "weight": 5, "daily_capacity": 500, "scope": "regional"}
    rules = [
        {"region_code": region, "service_type": st, "providers": [provider]}
        for region in DEMO_REGIONS
        for st in DEMO_SERVICES
    ]
    head = dispatch_rules.overview(p).head_version
    dispatch_rules.publish(
        p, SEEDER, RulesPublish.model_validate({"base_version": head, "rules": rules, "note": "demo rules"})
    )


def seed_provider(p: Ports, sink_url: str) -> dict[str, Any]:
    """A reviewed, active clinic serving Shanghai and Beijing, and dispatch rules sending it orders."""
    provider_id = _demo_clinic(p, sink_url)
    _route_to(p, provider_id)
    return _fresh_key(p, "provider", provider_id)
