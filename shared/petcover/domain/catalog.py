"""Insurance catalogue: products, plans, benefits and the rules the engines apply.

Pure data models (pydantic v2). Ops submit a ``ProductSpec``; the catalogue service stores it
as an immutable ``ProductVersion``. The rating, underwriting and refund engines read only these
models and ``InsuredFacts``, so they stay free of I/O.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, field_validator, model_validator

from petcover.domain.commodities import Category, Sku
from petcover.domain.money import DecimalRules
from petcover.errors import NotFound
from petcover.models.base import Model

# Product codes appear in URLs and keys, hence the strict slug.
ProductCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{3,40}$")]
# Plan and benefit codes only need to be stable identifiers inside one product.
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Money = Annotated[Decimal, DecimalRules(2, max_digits=14, low="ge0")]
PositiveMoney = Annotated[Decimal, DecimalRules(2, max_digits=14, low="gt0")]
Factor = Annotated[Decimal, DecimalRules(4, max_digits=8, low="gt0")]
# A 6-digit Chinese administrative division code (province 2, city 2, district 2).
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^\d{1,6}$")]
Species = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]

BenefitKind = Literal["service_online", "service_offline", "reimbursement"]
BenefitScope = Literal["national", "local"]
BreedSize = Literal["small", "medium", "large"]
ProductKind = Literal["pet_health", "return_shipping", "account_security"]
ProductStatus = Literal["draft", "published", "delisted"]
RefundKind = Literal["pro_rata", "none", "none_after_shipped", "full"]
Dimension = Literal["species", "age_band", "breed_size", "region"]

DIMENSIONS: tuple[Dimension, ...] = ("species", "age_band", "breed_size", "region")
BREED_SIZES: tuple[BreedSize, ...] = ("small", "medium", "large")


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


class Benefit(_Input):
    code: Code
    name: Name
    kind: BenefitKind
    service_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    quota: Annotated[int, Field(ge=1)] | None = None  # uses per term; None = unlimited
    amount_limit: PositiveMoney | None = None
    waiting_period_days: Annotated[int, Field(ge=0, le=365)] = 0
    # A delivery benefit may name the commodities it covers: then a booking lists its items.
    commodity_categories: list[Category] = Field(default_factory=list)
    commodity_skus: list[Sku] = Field(default_factory=list)
    item_allowance: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        None, description="Units of any one covered SKU per policy term; none: no limit."
    )
    # Who may serve it: national benefits only national-scope providers, local ones prefer the region's.
    scope: BenefitScope = "local"

    @model_validator(mode="after")
    def _reimbursement_has_limit(self) -> Benefit:
        """A reimbursement benefit needs an amount_limit."""
        # A reimbursement without a money cap would be unbounded exposure.
        if self.kind == "reimbursement" and self.amount_limit is None:
            raise ValueError(f"benefit {self.code}: a reimbursement benefit needs an amount_limit")
        return self


class Plan(_Input):
    code: Code
    name: Name
    sum_insured: PositiveMoney
    term_days: Annotated[int, Field(ge=1, le=1100)]
    base_premium: Money
    benefits: list[Benefit] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_benefits(self) -> Plan:
        """A plan's benefit codes are unique."""
        codes = [b.code for b in self.benefits]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"plan {self.code}: duplicate benefit codes: {', '.join(dupes)}")
        for b in self.benefits:
            if b.amount_limit is not None and b.amount_limit > self.sum_insured:
                raise ValueError(
                    f"plan {self.code}: benefit {b.code} limit {b.amount_limit} exceeds the sum insured "
                    f"{self.sum_insured}"
                )
        return self

    def benefit(self, code: str) -> Benefit:
        for b in self.benefits:
            if b.code == code:
                return b
        raise NotFound(f"Benefit {code} is not part of plan {self.code}.", code="BENEFIT_NOT_FOUND")


class AgeBand(_Input):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]
    min_months: Annotated[int, Field(ge=0, le=480)]
    max_months: Annotated[int, Field(ge=0, le=480)]  # inclusive

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        """An age band's min_months is not above its max_months."""
        if self.min_months > self.max_months:
            raise ValueError(f"age band {self.name}: min_months is above max_months")
        return self

    def contains(self, age_months: int) -> bool:
        return self.min_months <= age_months <= self.max_months


class PricingRules(_Input):
    age_bands: list[AgeBand] = Field(default_factory=list)
    # dimension -> value -> multiplier; a missing dimension or value means factor 1.
    factors: dict[Dimension, dict[str, Factor]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> PricingRules:
        """Age band names are unique and the bands do not overlap."""
        bands = sorted(self.age_bands, key=lambda b: b.min_months)
        names = [b.name for b in bands]
        if len(set(names)) != len(names):
            raise ValueError("age band names must be unique")
        for prev, nxt in pairwise(bands):
            if nxt.min_months <= prev.max_months:
                raise ValueError(f"age bands {prev.name} and {nxt.name} overlap")
        # Unknown keys would silently never match: refuse them so ops see the typo.
        for key in self.factors.get("age_band", {}):
            if key not in names:
                raise ValueError(f"age_band factor {key!r} names no age band")
        for key in self.factors.get("breed_size", {}):
            if key not in BREED_SIZES:
                raise ValueError(f"breed_size factor {key!r} must be one of {', '.join(BREED_SIZES)}")
        for key in self.factors.get("region", {}):
            if not key.isdigit() or not 1 <= len(key) <= 6:
                raise ValueError(f"region factor {key!r} must be a 1-6 digit region code prefix")
        species = self.factors.get("species", {})
        if any(k != k.strip().lower() or not k for k in species):
            raise ValueError("species factor keys must be lower-case, e.g. 'dog'")
        return self

    def age_band_for(self, age_months: int) -> AgeBand | None:
        return next((b for b in self.age_bands if b.contains(age_months)), None)


class UnderwritingRules(_Input):
    species: list[Species] = Field(default_factory=list)  # empty = any species
    min_age_months: Annotated[int, Field(ge=0, le=480)] | None = None
    max_age_months: Annotated[int, Field(ge=0, le=480)] | None = None
    regions: list[RegionPrefix] = Field(default_factory=list)  # code prefixes; empty = anywhere
    max_active_policies_per_insured: Annotated[int, Field(ge=1)] | None = None
    waiting_period_days: Annotated[int, Field(ge=0, le=365)] = 0

    @model_validator(mode="after")
    def _ordered(self) -> UnderwritingRules:
        """min_age_months is not above max_age_months."""
        lo, hi = self.min_age_months, self.max_age_months
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("min_age_months is above max_age_months")
        return self


class RefundRule(_Input):
    kind: RefundKind
    fee_pct: Annotated[Decimal, DecimalRules(2, max_digits=5, low="ge0", high=100)] = Decimal(0)


class ProductSpec(_Input):
    """What ops submit to create or modify a product."""

    code: ProductCode
    name: Name
    kind: ProductKind
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    plans: list[Plan] = Field(min_length=1)
    pricing: PricingRules = Field(default_factory=PricingRules)
    underwriting: UnderwritingRules = Field(default_factory=UnderwritingRules)
    refund: RefundRule
    free: StrictBool = False  # free cover: the quoted premium is forced to 0 whatever the plan says
    # The insurer carrying the product: when it has bound providers, only those serve its benefits.
    insurer_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None

    @model_validator(mode="after")
    def _unique_plans(self) -> ProductSpec:
        """Plan codes are unique within the product."""
        codes = [p.code for p in self.plans]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate plan codes: {', '.join(dupes)}")
        return self

    def plan(self, code: str) -> Plan:
        for p in self.plans:
            if p.code == code:
                return p
        plans = ", ".join(p.code for p in self.plans)
        raise NotFound(
            f"Plan {code} does not exist in product {self.code}; plans: {plans}.",
            code="PLAN_NOT_FOUND",
        )


class ProductVersion(ProductSpec):
    """One immutable, numbered version of a product as stored by the catalogue."""

    version: Annotated[int, Field(ge=1)]
    status: ProductStatus = "draft"
    created_at: datetime | None = None
    published_at: datetime | None = None

    @classmethod
    def from_spec(
        cls,
        spec: ProductSpec,
        *,
        version: int,
        status: ProductStatus = "draft",
        created_at: datetime | None = None,
        published_at: datetime | None = None,
    ) -> ProductVersion:
        return cls.model_validate(
            {
                **spec.model_dump(),
                "version": version,
                "status": status,
                "created_at": created_at,
                "published_at": published_at,
            }
        )

    def spec(self) -> ProductSpec:
        return ProductSpec.model_validate(self.model_dump(exclude={"version", "status", "created_at", "published_at"}))


def _blank_allowed(schema: dict[str, Any]) -> None:
    """The schema of an optional enum that also takes a blank string as "not given"."""
    schema.setdefault("anyOf", []).append({"type": "string", "pattern": r"^\s*$"})


class InsuredFacts(_Input):
    """The insured object. Which facts matter depends on the product kind: a pet (species, age,
    breed size, region), an account, or a shipment/order. Engines treat missing facts gracefully."""

    insured_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    species: Annotated[Species | None, Field(json_schema_extra=_blank_allowed)] = None
    breed_size: BreedSize | None = None
    age_months: Annotated[int, Field(ge=0, le=480)] | None = None
    region: RegionCode | None = None
    pet_name: Name | None = None
    holder_name: Name | None = None

    @field_validator("species", mode="before")
    @classmethod
    def _blank_species_is_none(cls, v: object) -> object:
        """A blank species (empty or only spaces) counts as not given."""
        return None if isinstance(v, str) and not v.strip() else v
