"""Provider service fees: a schedule per service type, versioned, each version with an effective date
and a fee per region (district, city or province code, or "*" for anywhere else)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from petcover.domain.money import DecimalRules
from petcover.models.base import Model

Region = Annotated[str, StringConstraints(pattern=r"^(\*|[0-9]{6})$")]


class FeeRate(Model):
    model_config = ConfigDict(extra="forbid")

    region: Region = Field(description='A district, city or province code (6 digits), or "*" for anywhere else.')
    fee: Annotated[Decimal, DecimalRules(2, max_digits=8, low="ge0")]


class FeeVersion(Model):
    version: int
    service_type: str
    effective_from: date = Field(description="Business day from which fulfilled orders earn these fees.")
    rates: list[FeeRate]
    created_by: str
    created_at: datetime
    reason: str


class FeeSchedule(Model):
    service_type: str
    versions: list[FeeVersion] = Field(default_factory=list)

    @property
    def latest(self) -> int:
        return max((v.version for v in self.versions), default=0)


def version_on(schedule: FeeSchedule | None, day: date, as_of: datetime | None = None) -> FeeVersion | None:
    """The version in force on ``day``: the one with the latest effective date not after it, among
    those published by ``as_of`` (what the fulfilment itself could see)."""
    if schedule is None:
        return None
    due = [v for v in schedule.versions if v.effective_from <= day and (as_of is None or v.created_at <= as_of)]
    return max(due, key=lambda v: (v.effective_from, v.version)) if due else None


def fee_for(version: FeeVersion | None, province: str, city: str, district: str | None) -> Decimal | None:
    """The most specific rate: district, then city, then province, then "*"; None when none covers it."""
    if version is None:
        return None
    rates = {r.region: r.fee for r in version.rates}
    for region in (district, city, province, "*"):
        if region and region in rates:
            return rates[region]
    return None
