"""API shapes of the commodity domain: the catalogue (ops) and provider stock."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from petcover.domain.commodities import (
    Category,
    CommodityHead,
    CommoditySpec,
    CommodityVersion,
    Sku,
    WarehouseRegion,
)
from petcover.models.base import Model
from petcover.models.common import Reason

MAX_STOCK_ROWS = 200


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class CommodityStatusRequest(_In):
    status: Literal["published", "withdrawn"] = Field(
        description="published: orderable from its version in effect; withdrawn: refused in new bookings."
    )
    reason: Reason


class CommodityOut(Model):
    head: CommodityHead
    current: CommodityVersion | None = Field(description="The version in effect now (None before the first one).")
    versions: list[CommodityVersion] = Field(description="Newest first, future ones included.")


class CommodityList(Model):
    items: list[CommodityHead]
    cursor: str | None = None


class CommodityQuery(Model):
    category: Category | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 100
    cursor: str | None = None


class StockRow(_In):
    sku: Sku
    region: WarehouseRegion = Field(description="The warehouse region: a province code such as 310000.")
    on_hand: Annotated[int, Field(ge=0, le=1_000_000)] = Field(description="Units physically in that warehouse.")
    low_threshold: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="Alert the provider's chat group when available units fall below it (default: settings)."
    )


class StockPublish(_In):
    items: Annotated[list[StockRow], Field(min_length=1, max_length=MAX_STOCK_ROWS)] = Field(
        description="One row or up to 200: each is applied on its own, so one bad row never blocks the others."
    )
    reason: Reason = Field("stock count", description="Why the stock changed; kept with each move.")


class StockView(Model):
    sku: str
    region: str
    name: str
    on_hand: int
    reserved: int
    available: int
    low_threshold: int
    low: bool


class StockRowResult(Model):
    index: int
    sku: str
    region: str
    status: Literal["updated", "rejected"]
    stock: StockView | None = None
    error: dict[str, object] | None = None


class StockPublishResult(Model):
    updated: int
    rejected: int
    items: list[StockRowResult]


class StockList(Model):
    items: list[StockView]
    cursor: str | None = None


class StockQuery(Model):
    region: WarehouseRegion | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 100
    cursor: str | None = None


__all__ = ["CommoditySpec"]
