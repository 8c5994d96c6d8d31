"""Demo data for the local cloud: the seed catalogue, a channel with a key and contracts.

Other areas add their demo objects through ``EXTRA_SEEDERS`` (providers, dispatch rules).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from petcover.api import Principal
from petcover.errors import Conflict
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
    for extra in EXTRA_SEEDERS:
        extra(p, demo)
    return demo
