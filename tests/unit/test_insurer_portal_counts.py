"""The insurer portal's keys on the in-memory store: a claim is indexed under the insurer that
underwrote its policy (and only then), and the fulfilment rows count per product across shards."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from petcover.models.claims import Claim
from petcover.models.fulfilment import Address, Appointment, Pet
from petcover.repositories import claims as claim_repo
from petcover.repositories import insurers as insurer_repo
from petcover.services.fulfilment.transitions import insurer_counter_ops

AT = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 April in Shanghai: the April business month


def _claim(number: str, minute: int) -> Claim:
    at = AT.replace(minute=minute)
    return Claim(
        claim_number=number,
        policy_number="PC1",
        channel_id="shop-a",
        product_code="pet-health",
        product_kind="health",
        product_version=1,
        plan_code="basic",
        benefit_code="medical",
        status="submitted",
        version=1,
        opened_by="channel:shop-a",
        incident_date=at.date(),
        incident_type="illness",
        amount=Decimal("10.00"),
        submitted_at=at,
        updated_at=at,
    )


def test_claims_are_indexed_under_their_insurer_only_and_read_newest_first(fake_ports):
    store = fake_ports.store
    store.put(claim_repo.new_claim_item(_claim("CL1", 1), "ins-a"))
    store.put(claim_repo.new_claim_item(_claim("CL2", 2), "ins-b"))
    store.put(claim_repo.new_claim_item(_claim("CL3", 3), "ins-a"))
    store.put(claim_repo.new_claim_item(_claim("CL4", 4)))  # in-house: in no insurer's list
    claims, cursor = claim_repo.of_insurer(store, "ins-a", limit=10, cursor=None)
    assert [c.claim_number for c in claims] == ["CL3", "CL1"] and cursor is None
    assert [c.claim_number for c in claim_repo.of_insurer(store, "ins-b", limit=10, cursor=None)[0]] == ["CL2"]


def _appointment(underwriter: str | None, product: str | None = "pet-health") -> Appointment:
    return Appointment(
        appointment_id="A1",
        policy_number="PC1",
        channel_id="shop-a",
        benefit_code="annual-checkup",
        service_type="checkup",
        mode="offline",
        status="fulfilled",
        version=3,
        pet=Pet(pet_id="pet-1", name="Bobo"),
        address=Address(
            contact_name="Li Lei",
            phone="13800000000",
            line="1 Century Ave",
            province="310000",
            city="310100",
            district="310115",
        ),
        created_at=AT,
        updated_at=AT,
        product_code=product,
        underwriter_id=underwriter,
    )


def test_fulfilment_rows_sum_their_shards_per_product_in_the_business_month(fake_ports):
    store = fake_ports.store
    doc = _appointment("ins-a")
    for _ in range(20):  # more writes than shards: several land on one shard
        store.transact(insurer_counter_ops(doc, "bookings", AT))
    for _ in range(7):
        store.transact(insurer_counter_ops(doc, "fulfilled", AT))
    store.transact(insurer_counter_ops(_appointment("ins-a", "return-shipping"), "bookings", AT))
    store.transact(insurer_counter_ops(_appointment("ins-b"), "bookings", AT))
    assert insurer_repo.fulfilment_counts(store, "ins-a", "2026-04") == {
        "pet-health": {"bookings": 20, "fulfilled": 7},
        "return-shipping": {"bookings": 1, "fulfilled": 0},
    }
    assert insurer_repo.fulfilment_counts(store, "ins-a", "2026-03") == {}
    assert insurer_repo.fulfilment_counts(store, "ins-b", "2026-04") == {"pet-health": {"bookings": 1, "fulfilled": 0}}


def test_in_house_and_older_appointments_count_nowhere():
    assert insurer_counter_ops(_appointment(None), "bookings", AT) == []
    assert insurer_counter_ops(_appointment("ins-a", None), "fulfilled", AT) == []
