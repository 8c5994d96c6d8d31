"""The commodity domain: medicines, supplements and supplies, what a benefit covers, and stock rules.

Pure rules. A commodity (SKU) has immutable versions; a price change is a new version with an
effective time, and an order keeps the version it was priced with. A medicine-delivery benefit
may name the categories or SKUs it covers and a per-item allowance (units of one SKU per policy
term). Stock is kept per provider, warehouse region (a province code) and SKU: ``on_hand``
units, of which ``reserved`` are promised to dispatched orders; ``available = on_hand - reserved``
never goes below zero (the conditional writes enforce it, these rules explain it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from petcover.domain.money import DecimalRules
from petcover.errors import BusinessRuleViolation, InvalidInput
from petcover.models.base import Model

Category = Literal["medicine", "supplement", "supply"]
CATEGORIES: tuple[Category, ...] = ("medicine", "supplement", "supply")
CommodityStatus = Literal["draft", "published", "withdrawn"]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]
# A warehouse region is a province code: the first two digits and four zeros (e.g. 310000).
WarehouseRegion = Annotated[str, StringConstraints(pattern=r"^\d{2}0000$")]
MoveKind = Literal["publish", "reserve", "release", "ship"]
MAX_ITEMS_PER_ORDER = 20  # each item is a few writes of the order's one transaction (at most 100)
MAX_QUANTITY = 99
Language = Literal["zh-CN", "en"]


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class CommoditySpec(_Input):
    """What ops submit: a new commodity (version 1) or a new version of one (a price change)."""

    sku: Sku
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    category: Category
    specification: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="e.g. '10 mg x 30 tablets'"
    )
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = Field(
        description="The unit a quantity counts, e.g. box, bottle, bag."
    )
    prescription_only: bool = False
    species: list[
        Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    ] = Field(default_factory=list, description="The species it suits; empty: any.")
    list_price: Annotated[Decimal, DecimalRules(2, max_digits=12, low="gt0")]
    effective_at: AwareDatetime | None = Field(
        None, description="When this version's price takes effect; now when omitted."
    )


class CommodityVersion(Model):
    sku: str
    version: int
    name: str
    category: Category
    specification: str
    unit: str
    prescription_only: bool
    species: list[str]
    list_price: Decimal
    effective_at: datetime
    created_at: datetime
    created_by: str


class CommodityHead(Model):
    sku: str
    name: str
    category: Category
    status: CommodityStatus
    latest_version: int
    updated_at: datetime
    status_reason: str | None = None


class OrderItem(_Input):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    prescription_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = (
        Field(None, description="The prescription this item is dispensed against (prescription-only items).")
    )


class PricedItem(Model):
    """An order's item as booked: the commodity version it was priced with."""

    sku: str
    name: str
    category: Category
    unit: str
    quantity: int
    version: int
    unit_price: Decimal
    prescription_ref: str | None = None


class ShippedItem(_Input):
    sku: Sku
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


@dataclass(frozen=True)
class Coverage:
    """What a benefit covers: categories and/or SKUs, and units of one SKU allowed per term."""

    categories: Sequence[str]
    skus: Sequence[str]
    allowance: int | None

    @property
    def names_items(self) -> bool:
        return bool(self.categories or self.skus)


def version_in_effect(versions: Sequence[CommodityVersion], at: datetime) -> CommodityVersion | None:
    """The latest version whose effective time has come."""
    live = [v for v in versions if v.effective_at <= at]
    return max(live, key=lambda v: v.version) if live else None


def _refuse(code: str, message: str, sku: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(message, code=code, details={"sku": sku})


def _check_one(
    item: OrderItem,
    head: CommodityHead | None,
    version: CommodityVersion | None,
    cover: Coverage,
    species: str | None,
    benefit_code: str,
) -> PricedItem:
    if head is None:
        raise _refuse("COMMODITY_NOT_FOUND", f"Commodity {item.sku} does not exist.", item.sku)
    if head.status == "withdrawn":
        raise _refuse(
            "COMMODITY_WITHDRAWN", f"Commodity {item.sku} has been withdrawn; it cannot be ordered.", item.sku
        )
    if head.status != "published" or version is None:
        raise _refuse("COMMODITY_NOT_PUBLISHED", f"Commodity {item.sku} is not on sale yet.", item.sku)
    if item.sku not in cover.skus and version.category not in cover.categories:
        raise _refuse(
            "ITEM_NOT_COVERED",
            f"Benefit {benefit_code} does not cover {item.sku} ({version.category}).",
            item.sku,
        )
    if cover.allowance is not None and item.quantity > cover.allowance:
        raise _refuse(
            "ALLOWANCE_EXCEEDED",
            f"Benefit {benefit_code} allows {cover.allowance} units of {item.sku} per term; {item.quantity} asked.",
            item.sku,
        )
    if version.prescription_only and not item.prescription_ref:
        raise InvalidInput(
            f"{item.sku} is prescription-only: give the item's prescription_ref.",
            code="PRESCRIPTION_REQUIRED",
            details=[{"field": f"items.{item.sku}.prescription_ref", "message": "required"}],
        )
    if species and version.species and species not in version.species:
        raise _refuse("COMMODITY_NOT_FOR_SPECIES", f"{item.sku} is not for a {species}.", item.sku)
    return PricedItem(
        sku=item.sku,
        name=version.name,
        category=version.category,
        unit=version.unit,
        quantity=item.quantity,
        version=version.version,
        unit_price=version.list_price,
        prescription_ref=item.prescription_ref,
    )


def check_items(
    benefit_code: str,
    cover: Coverage,
    items: Sequence[OrderItem],
    found: Mapping[str, tuple[CommodityHead | None, CommodityVersion | None]],
    species: str | None,
) -> list[PricedItem]:
    """The order's items priced, or why the booking is refused (first problem found)."""
    if not cover.names_items:
        if items:
            raise InvalidInput(
                f"Benefit {benefit_code} is a service without items; do not send items.", code="ITEMS_NOT_ACCEPTED"
            )
        return []
    if not items:
        raise InvalidInput(
            f"Benefit {benefit_code} delivers commodities: list the items (sku and quantity).",
            code="ITEMS_REQUIRED",
            details=[{"field": "items", "message": "at least one item"}],
        )
    skus = [i.sku for i in items]
    if len(set(skus)) != len(skus):
        raise InvalidInput("Each SKU may appear once in an order.", code="DUPLICATE_ITEM")
    return [_check_one(i, *found.get(i.sku, (None, None)), cover, species, benefit_code) for i in items]


def order_total(items: Sequence[PricedItem], shipped: Mapping[str, int] | None = None) -> Decimal:
    """What the items cost at their booked prices (all of them, or the shipped quantities)."""
    total = sum(
        (i.unit_price * (shipped.get(i.sku, 0) if shipped is not None else i.quantity) for i in items), Decimal(0)
    )
    return total.quantize(Decimal("0.01"))


def shipped_quantities(items: Sequence[PricedItem], shipped: Sequence[ShippedItem] | None) -> dict[str, int]:
    """sku -> units shipped; every item in full when ``shipped`` is omitted. Never more than ordered."""
    ordered = {i.sku: i.quantity for i in items}
    if shipped is None:
        return ordered
    out = dict.fromkeys(ordered, 0)
    for s in shipped:
        if s.sku not in ordered:
            raise InvalidInput(f"{s.sku} is not an item of this order.", code="ITEM_NOT_IN_ORDER")
        if s.quantity > ordered[s.sku]:
            raise InvalidInput(
                f"{s.quantity} units of {s.sku} shipped, but {ordered[s.sku]} were ordered.", code="OVER_SHIPPED"
            )
        out[s.sku] = s.quantity
    if sum(out.values()) == 0:
        raise InvalidInput("Nothing would be shipped; decline the order instead.", code="NOTHING_SHIPPED")
    return out


def is_partial(items: Sequence[PricedItem], shipped: Mapping[str, int]) -> bool:
    return any(shipped.get(i.sku, 0) < i.quantity for i in items)


def warehouse_region(province: str) -> str:
    """The warehouse region serving an address: its province."""
    return f"{province[:2]}0000"


# ---------------------------------------------------------------- low stock


def low_stock_crossing(available: int, threshold: int, flagged: bool) -> Literal["down", "up"] | None:
    """``down``: stock just fell below the threshold (alert once); ``up``: it recovered (re-arm)."""
    if available < threshold and not flagged:
        return "down"
    if available >= threshold and flagged:
        return "up"
    return None


LOW_STOCK_TEXT: dict[Language, str] = {
    "zh-CN": "库存不足：服务商 {provider} 在区域 {region} 的 {sku}（{name}）可用库存 {available}，"
    "低于阈值 {threshold}，请及时补货。",
    "en": "Low stock: provider {provider} has {available} of {sku} ({name}) available in region {region}, "
    "below the threshold of {threshold}; please restock.",
}


def low_stock_text(
    lang: Language, *, provider: str, region: str, sku: str, name: str, available: int, threshold: int
) -> str:
    return LOW_STOCK_TEXT[lang].format(
        provider=provider, region=region, sku=sku, name=name or sku, available=available, threshold=threshold
    )
