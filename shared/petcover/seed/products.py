"""Seed catalogue: three products modelled with the same schema as anything ops create."""

from __future__ import annotations

from decimal import Decimal as D

from petcover.domain.catalog import (
    AgeBand,
    Benefit,
    Plan,
    PricingRules,
    ProductSpec,
    RefundRule,
    UnderwritingRules,
)


def _pet_services(treatment_limit: D) -> list[Benefit]:
    return [
        Benefit(
            code="annual-checkup",
            name="Yearly check-up at a partner clinic",
            kind="service_offline",
            service_type="checkup",
            quota=1,
        ),
        Benefit(
            code="medicine-delivery",
            name="Prescription medicine delivered to your door",
            kind="service_online",
            service_type="medicine_delivery",
            quota=6,
        ),
        Benefit(
            code="treatment",
            name="Reimbursement of vet treatment for illness or accident",
            kind="reimbursement",
            service_type="treatment",
            amount_limit=treatment_limit,
        ),
    ]


PET_HEALTH = ProductSpec(
    code="pet-health",
    name="Pet Health Cover",
    kind="pet_health",
    description=(
        "Yearly health cover for dogs and cats: a check-up at a partner clinic, six medicine "
        "deliveries and reimbursement of vet treatment up to the plan limit."
    ),
    plans=[
        Plan(
            code="basic",
            name="Basic",
            sum_insured=D("5000.00"),
            term_days=365,
            base_premium=D("399.00"),
            benefits=_pet_services(D("5000.00")),
        ),
        Plan(
            code="plus",
            name="Plus",
            sum_insured=D("20000.00"),
            term_days=365,
            base_premium=D("899.00"),
            benefits=_pet_services(D("20000.00")),
        ),
    ],
    pricing=PricingRules(
        age_bands=[
            AgeBand(name="young", min_months=0, max_months=11),
            AgeBand(name="adult", min_months=12, max_months=83),
            AgeBand(name="senior", min_months=84, max_months=143),
            AgeBand(name="geriatric", min_months=144, max_months=480),
        ],
        factors={
            "species": {"dog": D("1.0"), "cat": D("0.9")},
            "age_band": {"young": D("1.1"), "adult": D("1.0"), "senior": D("1.35"), "geriatric": D("1.7")},
            "breed_size": {"small": D("0.9"), "medium": D("1.0"), "large": D("1.25")},
            # Vet costs follow city price levels; a district code can refine its city.
            "region": {"11": D("1.15"), "31": D("1.2"), "44": D("1.05"), "4403": D("1.15")},
        },
    ),
    underwriting=UnderwritingRules(
        species=["dog", "cat"],
        min_age_months=2,
        max_age_months=180,
        max_active_policies_per_insured=1,
        waiting_period_days=15,
    ),
    refund=RefundRule(kind="pro_rata", fee_pct=D("5")),
)

RETURN_SHIPPING = ProductSpec(
    code="return-shipping",
    name="Return Shipping Cover",
    kind="return_shipping",
    description="Pays the return freight of an online order, up to 25 CNY, if the buyer sends it back.",
    plans=[
        Plan(
            code="standard",
            name="Standard",
            sum_insured=D("25.00"),
            term_days=90,
            base_premium=D("1.50"),
            benefits=[
                Benefit(
                    code="return-freight",
                    name="Return freight reimbursement",
                    kind="reimbursement",
                    service_type="return_freight",
                    amount_limit=D("25.00"),
                )
            ],
        )
    ],
    # Insured = the order: one active cover per order, no pet facts needed.
    underwriting=UnderwritingRules(max_active_policies_per_insured=1),
    refund=RefundRule(kind="none_after_shipped"),
)


def _account_recovery(limit: D) -> list[Benefit]:
    return [
        Benefit(
            code="account-recovery",
            name="Reimbursement of losses from a stolen account",
            kind="reimbursement",
            service_type="account_recovery",
            amount_limit=limit,
        )
    ]


ACCOUNT_SECURITY = ProductSpec(
    code="account-security",
    name="Account Security Cover",
    kind="account_security",
    description=("Free cover of losses after an account takeover; the upgrade plan raises the limit, also free."),
    plans=[
        Plan(
            code="basic",
            name="Basic",
            sum_insured=D("1000.00"),
            term_days=365,
            base_premium=D("0"),
            benefits=_account_recovery(D("1000.00")),
        ),
        Plan(
            code="upgrade",
            name="Upgrade",
            sum_insured=D("5000.00"),
            term_days=365,
            base_premium=D("0"),
            benefits=_account_recovery(D("5000.00")),
        ),
    ],
    # Insured = the account; the upgrade is an endorsement of the one active policy.
    underwriting=UnderwritingRules(max_active_policies_per_insured=1),
    refund=RefundRule(kind="none"),
    free=True,
)

SEED_PRODUCTS: list[ProductSpec] = [PET_HEALTH, RETURN_SHIPPING, ACCOUNT_SECURITY]
"""The products a fresh environment starts with (loaded as version 1, published):

- ``pet-health``: dog/cat health cover, plans ``basic`` and ``plus``, priced by species, age band,
  breed size and region; pro-rata refund with a 5 % fee; 15-day waiting period.
- ``return-shipping``: 1.50 CNY per order for up to 25 CNY of return freight over 90 days; no
  refund once the parcel has shipped.
- ``account-security``: free cover of account-takeover losses, ``basic`` (1000) and ``upgrade``
  (5000); nothing to refund.
"""
