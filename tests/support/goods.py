"""A commodity world: a product whose medicine delivery names what it covers, SKUs, stocked pharmacies.

Works on any ports (memory store or moto). Bookings go through the real booking service and
dispatch through the real dispatch consumer's service, with the real fulfilment assignment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from petcover.domain.catalog import InsuredFacts, ProductSpec
from petcover.domain.commodities import CommoditySpec, OrderItem
from petcover.identity import Principal
from petcover.models.catalog import ContractCreate
from petcover.models.commodities import CommodityStatusRequest, StockPublish
from petcover.models.fulfilment import BookingRequest, Pet
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import commodities as goods_records
from petcover.seed.products import PET_HEALTH
from petcover.services import catalog, policies
from petcover.services.commodities import catalog as commodity_catalog
from petcover.services.commodities import stock
from petcover.services.dispatch import assignment
from petcover.services.fulfilment import booking
from tests.support.bookings import SHOP, address, setup_world
from tests.support.clock import Clock
from tests.support.dispatch import publish, rule
from tests.support.providers import onboard_provider

PRODUCT = "pet-meds"
BENEFIT = "medicine-delivery"
ALLOWANCE = 10
OPS = Principal("ops", "gina", ("ops",))
STAFF = Principal("ops", "setup", ("admin",))
REGION = "310000"


def meds_product(quota: int = 6) -> ProductSpec:
    """pet-health with a medicine delivery covering medicines and supplements, 10 units a SKU a term."""
    spec = PET_HEALTH.model_dump(mode="json")
    spec["code"] = PRODUCT
    spec["name"] = "Pet Meds Cover"
    spec["underwriting"]["waiting_period_days"] = 0
    spec["underwriting"]["max_active_policies_per_insured"] = None
    for plan in spec["plans"]:
        for b in plan["benefits"]:
            b["waiting_period_days"] = 0
            if b["code"] == BENEFIT:
                b.update(quota=quota, commodity_categories=["medicine", "supplement"], item_allowance=ALLOWANCE)
    return ProductSpec.model_validate(spec)


def add_commodity(
    p: Ports,
    sku: str,
    *,
    category: str = "medicine",
    price: str = "25.00",
    prescription: bool = False,
    publish_it: bool = True,
    species: tuple[str, ...] = (),
) -> None:
    spec = CommoditySpec(
        sku=sku,
        name=f"Item {sku}",
        category=category,  # type: ignore[arg-type]
        specification="10 mg x 30 tablets",
        unit="box",
        prescription_only=prescription,
        species=list(species),
        list_price=Decimal(price),
    )
    commodity_catalog.save_version(p, OPS, spec)
    if publish_it:
        commodity_catalog.set_status(p, OPS, sku, CommodityStatusRequest(status="published", reason="on sale now"))


def put_stock(p: Ports, provider_id: str, sku: str, on_hand: int, *, region: str = REGION, threshold: int = 2) -> Any:
    req = StockPublish.model_validate(
        {"items": [{"sku": sku, "region": region, "on_hand": on_hand, "low_threshold": threshold}]}
    )
    return stock.publish_stock(p, Principal("provider", provider_id), req)


def stock_of(p: Ports, provider_id: str, sku: str, region: str = REGION) -> dict[str, int]:
    item = p.store.get(*goods_records.stock_key(provider_id, region, sku)) or {}
    return {k: int(item.get(k, 0)) for k in ("on_hand", "reserved", "available")}


def meds_policy(p: Ports, clock: Clock, pet: str | None = None) -> tuple[str, str]:
    """(policy number, pet id) of a pet-meds policy issued a day ago."""
    pet = pet or f"pet-{uuid.uuid4().hex[:8]}"
    saved = clock.now
    clock.now = saved - timedelta(days=1)
    try:
        pol = policies.underwrite(
            p,
            SHOP,
            UnderwriteRequest(
                product_code=PRODUCT,
                plan_code="basic",
                insured=InsuredFacts(insured_id=pet, species="dog", breed_size="small", age_months=30, region="310115"),
                channel_order_id=f"o-{uuid.uuid4().hex[:10]}",
                holder=Holder(name="Li Lei"),
            ),
        )
    finally:
        clock.now = saved
    return pol.number, pet


def order(pet: str, *items: tuple[str, int], **over: Any) -> BookingRequest:
    return BookingRequest(
        benefit_code=BENEFIT,
        pet=Pet(pet_id=pet, name="Bobo"),
        address=address(),
        items=[OrderItem(sku=s, quantity=q, **over) for s, q in items],
    )


@dataclass
class MedsWorld:
    clock: Clock
    pharmacies: list[str]


def meds_world(p: Ports, pharmacies: int = 2, quota: int = 6) -> MedsWorld:
    """The fulfilment world plus the pet-meds product (contracted to shop-a) and stocked-nothing pharmacies."""
    clock, _ = setup_world(p)
    saved = clock.now
    clock.now = saved - timedelta(days=10)
    spec = meds_product(quota)
    catalog.create_product(p, STAFF, spec)
    catalog.publish_product(p, STAFF, PRODUCT, None)
    catalog.create_contract(
        p,
        STAFF,
        "shop-a",
        ContractCreate(
            product_code=PRODUCT,
            premium_multiplier=Decimal("1.0"),
            commission_pct=Decimal("10"),
            permissions=["quote", "underwrite", "query", "cancel", "book"],
            effective_from=(clock.now - timedelta(days=1)).date(),
        ),
    )
    clock.now = saved
    assignment.clear_caches()
    ids = [onboard_provider(p, f"Pharmacy {i}", services=("medicine_delivery",)) for i in range(pharmacies)]
    share = 100 // pharmacies
    publish(p, rule(dict.fromkeys(ids, share) | {ids[0]: 100 - share * (pharmacies - 1)}, service="medicine_delivery"))
    return MedsWorld(clock, ids)


def book_and_dispatch(p: Ports, number: str, req: BookingRequest) -> tuple[str, Any]:
    """Book, then run the dispatch message the booking queued for it (the appointment id and the record)."""
    aid = booking.book_appointment(p, SHOP, number, req).appointment_id
    msg = booking.dispatch_message(booking.records.find_appointment(p, aid))  # type: ignore[arg-type]
    return aid, assignment.dispatch_one(p, msg)
