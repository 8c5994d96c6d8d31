"""Builders for a ready catalogue: products, a channel with a key and a contract."""

from __future__ import annotations

from datetime import date
from typing import Any

from petcover.identity import Principal
from petcover.models.catalog import ChannelCreate, ContractCreate
from petcover.ports import Ports
from petcover.seed.products import SEED_PRODUCTS
from petcover.services import catalog, channels, credentials

STAFF = Principal("ops", "setup", ("admin",))


def publish_seed_products(p: Ports) -> None:
    for spec in SEED_PRODUCTS:
        catalog.create_product(p, STAFF, spec)
        catalog.publish_product(p, STAFF, spec.code, None)


def channel_with_contracts(
    p: Ports,
    channel_id: str = "shop-a",
    products: tuple[str, ...] = ("pet-health", "return-shipping", "account-security"),
    permissions: tuple[str, ...] = (
        "quote",
        "underwrite",
        "query",
        "endorse",
        "renew",
        "cancel",
        "claim",
        "book",
    ),
    callback_url: str = "http://127.0.0.1:9/hooks",
    rate_limit: int = 1000,
) -> tuple[str, str]:
    channels.add_channel(
        p,
        STAFF,
        ChannelCreate(id=channel_id, name=channel_id.title(), callback_url=callback_url, rate_limit=rate_limit),
    )
    for code in products:
        catalog.create_contract(
            p,
            STAFF,
            channel_id,
            ContractCreate(
                product_code=code,
                premium_multiplier="1.0",
                commission_pct="10",
                permissions=list(permissions),
                effective_from=date(2020, 1, 1),
            ),
        )
    issued = credentials.issue(p, "channel", channel_id)
    return issued.key_id, issued.secret


def catalogue(p: Ports, channels: tuple[str, ...] = ("shop-a",)) -> dict[str, Any]:
    publish_seed_products(p)
    return {c: channel_with_contracts(p, c) for c in channels}
