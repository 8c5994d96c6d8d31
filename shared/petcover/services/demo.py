"""Demo data for the local cloud: the seed catalogue, a channel with a key and contracts.

Other areas add their demo objects through ``EXTRA_SEEDERS`` (providers, dispatch rules).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ContractCreate
from petcover.ports import Ports
from petcover.seed.products import SEED_PRODUCTS
from petcover.services import catalog, credentials

SEEDER = Principal("ops", "seed", ("admin",))
DEMO_CHANNEL = "demo-shop"
EXTRA_SEEDERS: list[Callable[[Ports, dict[str, Any]], None]] = []


def seed(p: Ports, *, sink_url: str) -> dict[str, Any]:
    p.store.put({"pk": "HEALTH", "sk": "HEALTH", "kind": "health"})
    for spec in SEED_PRODUCTS:
        try:
            catalog.create_product(p, SEEDER, spec)
            catalog.publish_product(p, SEEDER, spec.code, None)
        except Conflict:
            pass  # a second `make run` on a live stack keeps what is there
    try:
        catalog.add_channel(
            p, SEEDER, ChannelCreate(id=DEMO_CHANNEL, name="Demo Shop", callback_url=f"{sink_url}/hooks/{DEMO_CHANNEL}")
        )
        for spec in SEED_PRODUCTS:
            catalog.create_contract(
                p,
                SEEDER,
                DEMO_CHANNEL,
                ContractCreate(
                    product_code=spec.code,
                    premium_multiplier="1.0",
                    commission_pct="8",
                    permissions=["quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book"],
                    effective_from=date(2026, 1, 1),
                ),
            )
    except Conflict:
        pass
    for k in credentials.list_keys(p, "channel", DEMO_CHANNEL):
        if k.status == "active":
            credentials.revoke(p, "channel", DEMO_CHANNEL, k.key_id)
    key = credentials.issue(p, "channel", DEMO_CHANNEL)
    demo: dict[str, Any] = {"channel": {"id": DEMO_CHANNEL, "key_id": key.key_id, "secret": key.secret}}
    demo["provider"] = seed_provider(p, sink_url)
    for extra in EXTRA_SEEDERS:
        extra(p, demo)
    return demo


def seed_provider(p: Ports, sink_url: str) -> dict[str, Any]:
    """A reviewed, active clinic serving Shanghai and Beijing, and dispatch rules sending it orders."""
    from petcover.models.dispatch import RulesPublish
    from petcover.models.partners import ConfigInput, DocumentUploadRequest, PartnerCreate
    from petcover.services.dispatch import rules as dispatch_rules
    from petcover.services.partners import accounts, config, directory, documents

    found = directory.find_by_name(p, "Demo Clinic")
    if found is None:
        acc = accounts.create_partner(
            p, SEEDER, PartnerCreate(kind="provider", name="Demo Clinic", agreement_ref="AGR-DEMO-1")
        )
        who = Principal("provider", acc.id)
        doc = documents.document_upload(
            p,
            who,
            DocumentUploadRequest(type="business_licence", file_name="licence.pdf", content_type="application/pdf"),
        )
        config.save_draft(
            p,
            who,
            ConfigInput.model_validate(
                {
                    "services": [
                        {"service_type": "medicine_delivery", "mode": "online_shipping"},
                        {"service_type": "checkup", "mode": "offline_store"},
                    ],
                    "regions": [{"province": "310000"}, {"province": "110000"}],
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
                            "file_key": doc.file_key,
                        }
                    ],
                }
            ),
        )
        config.submit(p, who)
        config.approve_config(p, SEEDER, acc.id, "seeded demo provider")
        provider_id = acc.id
    else:
        provider_id = found
    head = dispatch_rules.overview(p).head_version
    dispatch_rules.publish(
        p,
        SEEDER,
        RulesPublish.model_validate(
            {
                "base_version": head,
                "rules": [
                    {
                        "region_code": region,
                        "service_type": st,
                        "providers": [
                            {
                                "provider_id": provider_id,
                                "share_pct": 100,
                                "weight": 5,
                                "daily_capacity": 500,
                                "scope": "regional",
                            }
                        ],
                    }
                    for region in ("310000", "110000")
                    for st in ("medicine_delivery", "checkup")
                ],
                "note": "demo rules",
            }
        ),
    )
    for k in credentials.list_keys(p, "provider", provider_id):
        if k.status == "active":
            credentials.revoke(p, "provider", provider_id, k.key_id)
    key = credentials.issue(p, "provider", provider_id)
    return {"id": provider_id, "key_id": key.key_id, "secret": key.secret}
