"""What the portal derives on its own: the actions a work order allows, percentiles, anonymous ranks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from petcover.domain.quality import MonthCounters
from petcover.models.fulfilment import Address, Appointment, Pet, Step, WorkOrder
from petcover.services.portal.performance import node_durations, percentile, ranking
from petcover.services.portal.work_orders import actions_for

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def order(status: str, mode: str = "offline", timed: bool = False) -> WorkOrder:
    return WorkOrder(
        appointment_id="AP1",
        status=status,  # type: ignore[arg-type]
        service_type="checkup",
        mode=mode,  # type: ignore[arg-type]
        pet=Pet(pet_id="p", name="Bobo"),
        address=Address(
            contact_name="Li", phone="13800000000", line="1 Road", province="310000", city="310100", district="310115"
        ),
        appointment_time=T0 if timed else None,
        created_at=T0,
        updated_at=T0,
        version=1,
    )


@pytest.mark.parametrize(
    ("status", "mode", "timed", "actions"),
    [
        ("booking", "offline", False, ["accept", "decline", "raise_exception"]),
        ("booked", "offline", False, ["confirm_time", "raise_exception"]),
        ("booked", "offline", True, ["confirm_time", "check_in", "raise_exception"]),
        ("booked", "online", False, ["ship", "raise_exception"]),
        ("fulfilling", "offline", True, ["deliver", "raise_exception"]),
        ("fulfilling", "online", False, ["track", "raise_exception"]),
        ("fulfilled", "offline", True, []),
        ("cancelled", "online", False, []),
        ("pending", "online", False, []),
    ],
)
def test_a_work_order_offers_the_actions_of_its_state_and_mode(status, mode, timed, actions):
    assert actions_for(order(status, mode, timed)) == actions


def test_percentiles_use_the_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5.0, 9.0)


def test_node_durations_run_from_assignment_acceptance_and_service_start():
    def step(minutes: int, action: str, state: str) -> Step:
        return Step(at=T0 + timedelta(minutes=minutes), action=action, by="x", state=state)  # type: ignore[arg-type]

    doc = Appointment.model_construct(
        created_at=T0,
        steps=[
            step(0, "book", "pending"),
            step(5, "dispatch", "booking"),
            step(20, "accept", "booked"),
            step(50, "confirm_time", "booked"),
            step(200, "check_in", "fulfilling"),
            step(260, "deliver", "fulfilled"),
        ],
    )
    assert node_durations(doc) == {"accepted": 15, "appointment_confirmed": 30, "served": 180, "completed": 60}


def test_the_ranking_names_only_the_caller_and_numbers_its_peers():
    def month(pid: str, done: int, on_time: int) -> MonthCounters:
        return MonthCounters(provider_id=pid, month="2026-11", done={"accepted": done}, on_time={"accepted": on_time})

    rank = ranking(
        {
            "clinic-a": month("clinic-a", 10, 8),
            "clinic-b": month("clinic-b", 10, 10),
            "clinic-c": month("clinic-c", 0, 0),
        },
        "clinic-a",
    )
    assert (rank.rank, rank.of) == (2, 3)
    assert [(p.label, p.on_time_rate) for p in rank.peers] == [("peer 1", 1.0), ("you", 0.8), ("peer 2", None)]
    assert "clinic-b" not in rank.model_dump_json()
