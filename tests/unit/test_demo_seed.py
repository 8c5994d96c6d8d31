from __future__ import annotations

from datetime import timedelta

from petcover.identity import Principal
from petcover.models.fulfilment import Address, BookingRequest, Pet, ShipRequest
from petcover.services import demo as demo_data
from petcover.services import policies, quota
from petcover.services.dispatch import assignment as dispatch
from petcover.services.fulfilment import booking, closing, quota_deduction, work_orders
from petcover.services.partners import directory

ADDRESS = Address(contact_name="Li Lei", phone="13800000000", line="1 Century Ave", province="310000", city="310100")


def test_demo_seed_is_repeatable_and_gives_a_dispatchable_provider(fake_ports):
    first = demo_data.seed(fake_ports, sink_url="http://127.0.0.1:4599")
    second = demo_data.seed(fake_ports, sink_url="http://127.0.0.1:4599")
    assert first["provider"]["id"] == second["provider"]["id"]
    assert first["channel"]["key_id"] != second["channel"]["key_id"]  # a fresh key each run, old one revoked
    assert first["policy"] == second["policy"]  # still bookable: kept
    # the webhook secret is shown once, so each run hands out a fresh one the sink's webhooks verify with
    assert (
        first["channel"]["webhook_secret"] and second["channel"]["webhook_secret"] != first["channel"]["webhook_secret"]
    )
    cfg = directory.active_provider_config(fake_ports, first["provider"]["id"])
    assert cfg is not None and cfg.covers("310115") and cfg.offers("medicine_delivery")


def _benefit(p, number: str, code: str):
    return next(b for b in policies.get_for(p, Principal("channel", "demo-shop"), number).benefits if b.code == code)


def test_the_readme_walkthrough_books_dispatches_fulfils_and_moves_the_quota_on_seeded_data(fake_ports):
    """No product to create first: the seeded policy is past its waiting period, the clinic takes the order."""
    p = fake_ports
    demo = demo_data.seed(p, sink_url="http://127.0.0.1:4599")
    number, pet = demo["policy"]["number"], demo["policy"]["pet_id"]
    shop, clinic = Principal("channel", "demo-shop"), Principal("provider", demo["provider"]["id"])
    assert _benefit(p, number, "medicine-delivery").available == 6

    req = BookingRequest(benefit_code="medicine-delivery", pet=Pet(pet_id=pet, name="Bobo"), address=ADDRESS)
    aid = booking.book_appointment(p, shop, number, req).appointment_id
    (msg,) = p.publisher.drain("dispatch")
    rec = dispatch.dispatch_one(p, msg)
    assert rec.decision is not None and rec.decision.provider_id == demo["provider"]["id"]
    assert [w.appointment_id for w in work_orders.list_work_orders(p, clinic).items] == [aid]
    work_orders.accept(p, clinic, aid)
    work_orders.ship(p, clinic, aid, ShipRequest(carrier="SF", tracking_number="SF1234567"))
    assert closing.confirm_receipt(p, shop, aid).status == "fulfilled"
    (deduction,) = p.publisher.drain(quota.QUOTA_QUEUE)
    quota_deduction.deduct_quota(p, deduction, receive_count=1)
    b = _benefit(p, number, "medicine-delivery")
    assert (b.used, b.held, b.available) == (1, 0, 5)

    # a second `make run` keeps the policy while it can still book; once a benefit is used up it sells the next
    assert demo_data.seed(p, sink_url="http://127.0.0.1:4599")["policy"]["number"] == number
    checkup = BookingRequest(
        benefit_code="annual-checkup",
        pet=Pet(pet_id=pet, name="Bobo"),
        address=ADDRESS,
        preferred_time=p.now() + timedelta(days=3),
    )
    booking.book_appointment(p, shop, number, checkup)
    again = demo_data.seed(p, sink_url="http://127.0.0.1:4599")["policy"]
    assert again["number"] != number and again["pet_id"] == "demo-pet-2"
    assert _benefit(p, again["number"], "annual-checkup").available == 1
