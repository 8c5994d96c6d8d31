"""Ops suspend, resume and close a partner account: dispatch stops and starts, open orders are listed
and can be moved, every change carries its reason in the audit trail."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from petcover.errors import Conflict, DomainError, IllegalTransition, NotFound
from petcover.identity import Principal
from petcover.models.dispatch import ManualAssignRequest
from petcover.models.fulfilment import CheckInRequest, ConfirmTimeRequest
from petcover.models.partners import StatusChange
from petcover.services import audit
from petcover.services.dispatch import assignment as dispatch
from petcover.services.dispatch import manual as ops_dispatch
from petcover.services.fulfilment import booking, views, work_orders
from petcover.services.partners import directory, status
from tests.support.blobs import FakeBlobs
from tests.support.bookings import OPS, SHOP, code_of, offline, setup_world
from tests.support.dispatch import publish, rule
from tests.support.policies import issue_policy
from tests.support.providers import onboard_provider


def _world(p: Any) -> tuple[Any, str, str]:
    clock, _ = setup_world(p)
    p.blobs = FakeBlobs()
    dispatch.clear_caches()
    a = onboard_provider(p, "Clinic A")
    b = onboard_provider(p, "Clinic B")
    publish(p, rule({a: 100, b: 0}))
    return clock, a, b


def _book(p: Any, clock: Any, n: int) -> str:
    number = issue_policy(p, clock, order=f"s-{n}", pet=f"pet-s{n}")
    aid = booking.book_appointment(p, SHOP, number, offline(clock, pet=f"pet-s{n}")).appointment_id
    for msg in p.publisher.drain("dispatch"):
        dispatch.dispatch_one(p, msg, rng=random.Random(n))
    return aid


def test_a_suspended_provider_gets_no_new_orders_and_its_open_orders_are_listed(fake_ports):
    p = fake_ports
    clock, a, b = _world(p)
    clinic = Principal("provider", a)
    waiting = _book(p, clock, 1)  # assigned, not accepted
    accepted = _book(p, clock, 2)
    work_orders.accept(p, clinic, accepted)
    under_way = _book(p, clock, 3)
    work_orders.accept(p, clinic, under_way)
    work_orders.confirm_time(p, clinic, under_way, ConfirmTimeRequest(appointment_time=clock.now + timedelta(hours=1)))
    work_orders.check_in(p, clinic, under_way, CheckInRequest(code=code_of(p, under_way)))
    assert {views.get_for_staff(p, x).appointment.provider_id for x in (waiting, accepted, under_way)} == {a}

    out = status.change_status(p, OPS, a, "suspend", StatusChange(reason="licence under review"))
    assert out.account.status == "suspended" and out.account.status_reason == "licence under review"
    listed = {o.appointment_id: (o.status, o.reassignable) for o in out.open_orders}
    assert listed == {waiting: ("booking", True), accepted: ("booked", True), under_way: ("fulfilling", False)}
    (entry,) = [r for r in audit.by_entity(p, "partner", a) if r.action == "suspend"]
    assert (entry.action, entry.reason, entry.actor) == ("suspend", "licence under review", "ops:alice")
    assert entry.before == {"status": "active"} and entry.after == {"status": "suspended"}

    # new orders skip it although the rule gives it every order (the cached candidate list still has it)
    fresh = _book(p, clock, 4)
    assert views.get_for_staff(p, fresh).appointment.provider_id == b
    assert ops_dispatch.explain(p, fresh).decision.excluded[a] == "no longer an active, reviewed provider"

    # ops move the waiting and the accepted orders; the one under way stays
    for aid in (waiting, accepted):
        ops_dispatch.manual_assign(p, OPS, aid, ManualAssignRequest(provider_id=b, reason="clinic A suspended"))
        doc = views.get_for_staff(p, aid).appointment
        assert doc.status == "booking" and doc.provider_id == b
    with pytest.raises(IllegalTransition):
        ops_dispatch.manual_assign(p, OPS, under_way, ManualAssignRequest(provider_id=b, reason="clinic A suspended"))
    assert [(o.appointment_id, o.reassignable) for o in status.open_orders(p, a).items] == [(under_way, False)]

    # resumed: a candidate again
    status.change_status(p, OPS, a, "resume", StatusChange(reason="licence renewed"))
    assert directory.account_active(p, a)
    assert views.get_for_staff(p, _book(p, clock, 5)).appointment.provider_id == a


def test_closing_is_final_and_every_refusal_says_why(fake_ports):
    p = fake_ports
    clock, a, _b = _world(p)
    clock.advance(seconds=1)
    status.change_status(p, OPS, a, "suspend", StatusChange(reason="complaints"))
    clock.advance(seconds=1)
    with pytest.raises(IllegalTransition) as err:
        status.change_status(p, OPS, a, "suspend", StatusChange(reason="again"))
    assert err.value.message == "Partner account already suspended."
    closed = status.change_status(p, OPS, a, "close", StatusChange(reason="agreement ended"))
    assert closed.account.status == "closed" and closed.open_orders == []
    with pytest.raises(IllegalTransition) as err:
        status.change_status(p, OPS, a, "resume", StatusChange(reason="by mistake"))
    assert err.value.message == "Partner account already closed, cannot resume."
    with pytest.raises(NotFound):
        status.change_status(p, OPS, "prv_nobody", "suspend", StatusChange(reason="x"))
    assert [r.action for r in audit.by_entity(p, "partner", a)][:2] == ["close", "suspend"]
    with pytest.raises(ValidationError):
        StatusChange.model_validate({"reason": "  "})
    with pytest.raises(ValidationError):
        StatusChange.model_validate({})


def test_two_ops_changing_one_account_at_once_one_wins(fake_ports):
    p = fake_ports
    _clock, a, _b = _world(p)
    barrier = threading.Barrier(8)
    out: list[str] = []
    lock = threading.Lock()

    def suspend(i: int) -> None:
        barrier.wait()
        try:
            status.change_status(p, Principal("ops", f"op-{i}", ("ops",)), a, "suspend", StatusChange(reason=f"r{i}"))
            result = "ok"
        except (Conflict, DomainError) as exc:
            result = exc.code
        with lock:
            out.append(result)

    threads = [threading.Thread(target=suspend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert out.count("ok") == 1, out
    assert set(out) <= {"ok", "ILLEGAL_TRANSITION", "PARTNER_CHANGED"}
    assert [r.action for r in audit.by_entity(p, "partner", a)].count("suspend") == 1
