from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from petcover.domain.sla import (
    DEFAULT_SLA,
    NodeEvent,
    OpenWorkOrder,
    SlaBreach,
    SlaConfig,
    SlaLimit,
    alert_text,
    detect_breaches,
    due_at,
    format_duration,
    is_breached,
    limit_for,
    next_node,
    parse_sla_config,
)
from petcover.domain.sla_reports import (
    build_summary,
    daily_report,
    inflight_snapshot,
    percentile,
    report_csv,
    summary_csv,
    summary_text,
)
from petcover.errors import InvalidInput

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
PLAIN: dict[str, Any] = {"region": "CN-SH", "core_provider": False, "online": False}


def order(
    order_id: str,
    provider_id: str,
    node: str,
    entered_at: datetime,
    *,
    service_type: str = "checkup",
    owner: str = "",
    created_at: datetime | None = None,
    online: bool = False,
) -> OpenWorkOrder:
    return OpenWorkOrder(
        order_id=order_id,
        provider_id=provider_id,
        service_type=service_type,
        node=node,
        entered_at=entered_at,
        created_at=created_at or entered_at,
        owner=owner,
        online=online,
    )


# --- flow and due times ------------------------------------------------------------------------


def test_next_node_follows_offline_and_online_flows() -> None:
    assert next_node("assigned", online=False) == "accepted"
    assert next_node("accepted", online=False) == "appointment_confirmed"
    assert next_node("accepted", online=True) == "shipped"
    assert next_node("appointment_confirmed", online=False) == "served"
    assert next_node("shipped", online=True) == "completed"
    assert next_node("exception_raised", online=False) == "exception_handled"
    assert next_node("completed", online=False) is None
    with pytest.raises(ValueError):
        next_node("teleported", online=False)


def test_default_limits() -> None:
    assert due_at(DEFAULT_SLA, "assigned", "checkup", T0, **PLAIN) == ("accepted", T0 + timedelta(minutes=30))
    assert due_at(DEFAULT_SLA, "accepted", "checkup", T0, **PLAIN) == (
        "appointment_confirmed",
        T0 + timedelta(minutes=60),
    )
    online = {**PLAIN, "online": True}
    assert due_at(DEFAULT_SLA, "accepted", "medicine", T0, **online) == (
        "shipped",
        T0 + timedelta(minutes=120),
    )
    assert due_at(DEFAULT_SLA, "exception_raised", "checkup", T0, **PLAIN) == (
        "exception_handled",
        T0 + timedelta(minutes=15),
    )


def test_no_limit_means_none() -> None:
    # served / completed limits are optional and not in the default.
    assert due_at(DEFAULT_SLA, "appointment_confirmed", "checkup", T0, **PLAIN) is None
    assert due_at(DEFAULT_SLA, "completed", "checkup", T0, **PLAIN) is None


def test_service_specific_limit_wins_over_wildcard() -> None:
    config = SlaConfig(
        version=2,
        limits=[
            SlaLimit(node="accepted", minutes=30),
            SlaLimit(node="accepted", service_type="vaccine", minutes=10),
        ],
    )
    assert due_at(config, "assigned", "vaccine", T0, **PLAIN) == ("accepted", T0 + timedelta(minutes=10))
    assert due_at(config, "assigned", "checkup", T0, **PLAIN) == ("accepted", T0 + timedelta(minutes=30))


def test_remote_and_core_adjustments() -> None:
    config = SlaConfig(version=1, limits=DEFAULT_SLA.limits, remote_regions=["cn-xz", "CN-QH"])

    def limit(region: str, core: bool) -> timedelta:
        found = limit_for(config, "assigned", "checkup", region=region, core_provider=core, online=False)
        assert found is not None
        return found[1]

    assert limit("CN-SH", False) == timedelta(minutes=30)
    assert limit("CN-XZ-LHASA", False) == timedelta(minutes=36)  # +20%
    assert limit("cn-qh", False) == timedelta(minutes=36)  # prefix match ignores case
    assert limit("CN-SH", True) == timedelta(minutes=27)  # -10%
    assert limit("CN-XZ", True) == timedelta(seconds=1944)  # 30m * 1.2 * 0.9 = 32m 24s


def test_adjustment_rounds_to_whole_seconds() -> None:
    config = SlaConfig(
        version=1,
        limits=[SlaLimit(node="accepted", minutes=1)],
        remote_extra_pct=1,
        core_stricter_pct=1,
        remote_regions=["R"],
    )
    # 60 s * 1.01 * 0.99 = 59.994 s -> 60 s
    assert due_at(config, "assigned", "x", T0, region="R1", core_provider=True, online=False) == (
        "accepted",
        T0 + timedelta(seconds=60),
    )
    config = config.model_copy(update={"remote_extra_pct": 50, "core_stricter_pct": 50})
    # 60 * 1.5 * 0.5 = 45 s exactly
    assert due_at(config, "assigned", "x", T0, region="R1", core_provider=True, online=False) == (
        "accepted",
        T0 + timedelta(seconds=45),
    )


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(DEFAULT_SLA, "assigned", "checkup", datetime(2024, 5, 1, 9), **PLAIN)


def test_breach_is_strictly_after_due() -> None:
    found = due_at(DEFAULT_SLA, "assigned", "checkup", T0, **PLAIN)
    assert found is not None
    due = found[1]
    assert not is_breached(due, due - timedelta(seconds=1))
    assert not is_breached(due, due)  # exactly at the boundary: on time
    assert is_breached(due, due + timedelta(seconds=1))


def test_detect_breaches_with_controlled_clock() -> None:
    orders = [
        order("WO-1", "P1", "assigned", T0),
        order("WO-2", "P1", "exception_raised", T0),
        order("WO-3", "P2", "appointment_confirmed", T0),  # no limit configured
    ]
    assert detect_breaches(orders, T0 + timedelta(minutes=15)) == []
    late = detect_breaches(orders, T0 + timedelta(minutes=15, seconds=1))
    assert [(b.order_id, b.node) for b in late] == [("WO-2", "exception_handled")]
    late = detect_breaches(orders, T0 + timedelta(minutes=31))
    assert [(b.order_id, b.node) for b in late] == [("WO-1", "accepted"), ("WO-2", "exception_handled")]
    assert late[0].limit == timedelta(minutes=30)
    assert late[0].elapsed == timedelta(minutes=31)
    assert late[0].due_at == T0 + timedelta(minutes=30)


def test_alert_text() -> None:
    text = alert_text(
        "WO-7",
        "checkup",
        "accepted",
        elapsed=timedelta(minutes=35, seconds=12),
        limit=timedelta(minutes=30),
        mention=["alice", "@bob", " "],
    )
    assert text == (
        "SLA breach: work order WO-7 (checkup) has waited 35m 12s for 'accepted' (limit 30m, 5m 12s over). @alice @bob"
    )
    assert alert_text("WO-8", "x", "shipped", timedelta(hours=2, minutes=5), timedelta(hours=2), []).endswith(
        "(limit 2h, 5m over)."
    )


def test_format_duration() -> None:
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(days=1, hours=2, seconds=3)) == "1d 2h 3s"
    assert format_duration(timedelta(minutes=-5)) == "-5m"


# --- configuration validation -------------------------------------------------------------------


def fields_of(err: InvalidInput) -> dict[str, str]:
    return {d["field"]: d["message"] for d in err.details}


def test_parse_valid_config() -> None:
    config = parse_sla_config(
        {
            "version": 3,
            "limits": [
                {"node": "accepted", "minutes": 20},
                {"node": "shipped", "service_type": "food", "minutes": 90},
            ],
            "remote_regions": [" cn-xz ", "CN-XZ"],
        }
    )
    assert config.remote_extra_pct == 20
    assert config.core_stricter_pct == 10
    assert config.remote_regions == ["CN-XZ"]
    assert config.limit_minutes("shipped", "food") == 90
    assert config.limit_minutes("shipped", "toys") is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"limits": [{"node": "accepted", "minutes": 0}]}, "limits.0.minutes"),
        ({"limits": [{"node": "accepted", "minutes": -5}]}, "limits.0.minutes"),
        ({"limits": [{"node": "accepted", "minutes": 30.5}]}, "limits.0.minutes"),
        ({"limits": [{"node": "assigned", "minutes": 30}]}, "limits.0.node"),
        ({"limits": []}, "limits"),
        ({"remote_extra_pct": 101}, "remote_extra_pct"),
        ({"remote_extra_pct": -1}, "remote_extra_pct"),
        ({"core_stricter_pct": 51}, "core_stricter_pct"),
        ({"version": 0}, "version"),
        ({"remote_regions": [""]}, "remote_regions.0"),
        ({"remote_regions": ["  "]}, "remote_regions"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_config_refusals_name_the_field(patch: dict[str, Any], field: str) -> None:
    data: dict[str, Any] = {"version": 1, "limits": [{"node": "accepted", "minutes": 30}], **patch}
    with pytest.raises(InvalidInput) as err:
        parse_sla_config(data)
    assert err.value.status == 400
    assert err.value.code == "INVALID_INPUT"
    assert field in fields_of(err.value)


def test_duplicate_limits_are_refused() -> None:
    data = {
        "version": 1,
        "limits": [
            {"node": "accepted", "minutes": 30},
            {"node": "shipped", "minutes": 60},
            {"node": "accepted", "service_type": "*", "minutes": 45},
        ],
    }
    with pytest.raises(InvalidInput) as err:
        parse_sla_config(data)
    message = fields_of(err.value)["limits"]
    assert "duplicate limit for node 'accepted' and service type '*' (items 0 and 2)" in message


def test_several_problems_reported_together() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_sla_config({"version": 1, "limits": [{"node": "accepted", "minutes": 0}], "core_stricter_pct": 99})
    assert set(fields_of(err.value)) == {"limits.0.minutes", "core_stricter_pct"}


def test_direct_construction_still_validates() -> None:
    with pytest.raises(ValidationError):
        SlaLimit(node="accepted", minutes=0)


# --- nightly summary ----------------------------------------------------------------------------

NIGHT = datetime(2024, 5, 1, 22, 0, tzinfo=UTC)


def summary_orders() -> list[OpenWorkOrder]:
    return [
        order("WO-1", "P2", "assigned", NIGHT - timedelta(minutes=20), owner="alice"),
        order(
            "WO-2",
            "P1",
            "accepted",
            NIGHT - timedelta(hours=2, minutes=5),
            created_at=NIGHT - timedelta(days=1, hours=3),
            owner="bob",
        ),
        order("WO-3", "P1", "assigned", NIGHT - timedelta(minutes=45), service_type="vaccine"),
    ]


def test_build_summary_groups_by_provider() -> None:
    summary = build_summary(summary_orders(), NIGHT)
    assert summary.total == 3
    assert summary.by_node == {"assigned": 2, "accepted": 1}
    assert [p.provider_id for p in summary.providers] == ["P1", "P2"]
    p1 = summary.provider("P1")
    assert p1 is not None
    assert p1.total == 2
    assert p1.by_node == {"assigned": 1, "accepted": 1}
    # longest waiting first, with waiting and age from the controlled clock
    assert [(o.order_id, o.waiting, o.age) for o in p1.orders] == [
        ("WO-2", timedelta(hours=2, minutes=5), timedelta(days=1, hours=3)),
        ("WO-3", timedelta(minutes=45), timedelta(minutes=45)),
    ]
    assert summary.provider("P9") is None


def test_summary_text_overall_and_per_provider() -> None:
    summary = build_summary(summary_orders(), NIGHT)
    assert summary_text(summary) == "\n".join(
        [
            "Open work orders at 2024-05-01 22:00 UTC: 3 (assigned 2, accepted 1).",
            "P1: 2 open (assigned 1, accepted 1)",
            "- WO-2 checkup: at accepted for 2h 5m, open 1d 3h, owner bob",
            "- WO-3 vaccine: at assigned for 45m, open 45m",
            "P2: 1 open (assigned 1)",
            "- WO-1 checkup: at assigned for 20m, open 20m, owner alice",
        ]
    )
    text = summary_text(summary, "P2")
    assert text.splitlines()[0] == "Open work orders for P2 at 2024-05-01 22:00 UTC: 1."
    assert "WO-2" not in text and "WO-1" in text
    assert summary_text(summary, "P9") == "Open work orders for P9 at 2024-05-01 22:00 UTC: none."
    assert summary_text(build_summary([], NIGHT)) == "Open work orders at 2024-05-01 22:00 UTC: none."


def test_summary_csv() -> None:
    orders = [*summary_orders(), order("WO-4", "P3", "shipped", NIGHT - timedelta(minutes=1), owner="=cmd()")]
    rows = list(csv.DictReader(io.StringIO(summary_csv(build_summary(orders, NIGHT)))))
    assert [r["order_id"] for r in rows] == ["WO-2", "WO-3", "WO-1", "WO-4"]
    assert rows[0] == {
        "provider_id": "P1",
        "order_id": "WO-2",
        "service_type": "checkup",
        "node": "accepted",
        "owner": "bob",
        "created_at": "2024-04-30T19:00:00+00:00",
        "entered_at": "2024-05-01T19:55:00+00:00",
        "waiting_minutes": "125",
        "age_minutes": "1620",
    }
    assert rows[3]["owner"] == "'=cmd()"  # no formula injection in spreadsheets


# --- reports ------------------------------------------------------------------------------------


def test_percentile_nearest_rank() -> None:
    data = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(data, 50) == 35.0
    assert percentile(data, 90) == 50.0
    assert percentile(data, 30) == 20.0  # ceil(1.5) = 2nd
    assert percentile(data, 40) == 20.0  # exactly 2nd
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 11)), 50) == 5
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(data, 0)


DAY = date(2024, 5, 1)
SH = ZoneInfo("Asia/Shanghai")


def ev(order_id: str, provider_id: str, node: str, at: datetime, region: str = "CN-SH") -> NodeEvent:
    return NodeEvent(
        order_id=order_id, provider_id=provider_id, region=region, service_type="checkup", node=node, at=at
    )


def local(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=SH)


def report_events() -> list[NodeEvent]:
    events = []
    # P1: five orders accepted after 10, 20, 30, 40, 50 minutes; two completed.
    for i, minutes in enumerate([10, 20, 30, 40, 50]):
        events.append(ev(f"A{i}", "P1", "assigned", local(9)))
        events.append(ev(f"A{i}", "P1", "accepted", local(9) + timedelta(minutes=minutes)))
    events.append(ev("A0", "P1", "completed", local(12, 10)))  # 3h after accept
    events.append(ev("A1", "P1", "completed", local(10, 20)))  # 1h after accept
    # P2: one order, accepted in 5 minutes; re-assigned earlier: the last assignment counts.
    events.append(ev("B0", "P2", "assigned", local(8), region="CN-XZ"))
    events.append(ev("B0", "P2", "assigned", local(9), region="CN-XZ"))
    events.append(ev("B0", "P2", "accepted", local(9, 5), region="CN-XZ"))
    # P3: assigned the day before, accepted today 00:30 local (= 16:30 UTC the day before).
    events.append(ev("C0", "P3", "assigned", datetime(2024, 4, 30, 23, 0, tzinfo=SH)))
    events.append(ev("C0", "P3", "accepted", local(0, 30)))
    # Other day: ignored.
    events.append(ev("D0", "P4", "accepted", local(0, 30, day=2)))
    return events


def breach(order_id: str, provider_id: str, due: datetime) -> SlaBreach:
    return SlaBreach(
        order_id=order_id,
        provider_id=provider_id,
        service_type="checkup",
        node="accepted",
        entered_at=due - timedelta(minutes=30),
        due_at=due,
        limit=timedelta(minutes=30),
        detected_at=due + timedelta(minutes=1),
    )


def test_daily_report_times_breaches_and_ranking() -> None:
    breaches = [
        breach("A3", "P1", local(9, 30)),
        breach("A4", "P1", local(9, 30)),
        breach("A4", "P1", local(10, 20)),  # second breach of the same order
        breach("A0", "P1", local(9, 30, day=2)),  # another day: not counted
    ]
    rows = daily_report(report_events(), DAY, SH, breaches)
    by_id = {r.provider_id: r for r in rows}
    assert set(by_id) == {"P1", "P2", "P3"}

    p1 = by_id["P1"]
    assert (p1.orders, p1.accepted, p1.completed) == (5, 5, 2)
    assert (p1.response_p50, p1.response_p90) == (30.0, 50.0)
    assert (p1.processing_p50, p1.processing_p90) == (60.0, 180.0)
    assert p1.breaches == 3
    assert p1.breach_rate == 0.4  # 2 distinct breached orders of 5

    p2 = by_id["P2"]
    assert (p2.response_p50, p2.response_p90, p2.processing_p50) == (5.0, 5.0, None)
    assert p2.region == "CN-XZ"
    assert (p2.breaches, p2.breach_rate) == (0, 0.0)

    p3 = by_id["P3"]
    assert p3.response_p50 == 90.0  # 23:00 the day before -> 00:30 local

    # rank: lowest breach rate first, then lowest p90 response
    assert [(r.rank, r.provider_id) for r in rows] == [(1, "P2"), (2, "P3"), (3, "P1")]


def test_ranking_ties_share_a_rank() -> None:
    events = [
        ev("X", "P1", "assigned", local(9)),
        ev("X", "P1", "accepted", local(9, 10)),
        ev("Y", "P2", "assigned", local(9)),
        ev("Y", "P2", "accepted", local(9, 10)),
        ev("Z", "P3", "completed", local(11)),  # no response sample: last
    ]
    rows = daily_report(events, DAY, SH)
    assert [(r.rank, r.provider_id) for r in rows] == [(1, "P1"), (1, "P2"), (3, "P3")]


def test_report_csv() -> None:
    rows = daily_report(report_events(), DAY, SH)
    parsed = list(csv.DictReader(io.StringIO(report_csv(rows))))
    assert [r["provider_id"] for r in parsed] == [r.provider_id for r in rows]
    p2 = next(r for r in parsed if r["provider_id"] == "P2")
    assert p2["day"] == "2024-05-01"
    assert p2["response_p90_min"] == "5.0"
    assert p2["processing_p50_min"] == ""  # no sample: empty, not "None"
    assert p2["breach_rate"] == "0.0"


# --- in-flight snapshot -------------------------------------------------------------------------


def test_inflight_snapshot_buckets() -> None:
    now = T0
    orders = [
        # assigned: due 30 minutes after entering
        order("O1", "P1", "assigned", now - timedelta(minutes=31)),  # overdue by 1 min
        order("O2", "P1", "assigned", now - timedelta(minutes=30)),  # exactly due: not overdue
        order("O3", "P2", "assigned", now - timedelta(minutes=16)),  # 14 min left
        order("O4", "P2", "assigned", now - timedelta(minutes=15)),  # 15 min left
        order("O5", "P2", "accepted", now - timedelta(minutes=1)),  # 59 min left
        order("O6", "P3", "accepted", now, online=True),  # 120 min left
        order("O7", "P3", "appointment_confirmed", now - timedelta(days=3)),  # no limit
        order("O8", "P3", "exception_raised", now - timedelta(hours=1)),  # overdue by 45 min
    ]
    snap = inflight_snapshot(orders, now, DEFAULT_SLA)
    assert snap.total == 8
    assert snap.buckets == {"overdue": 2, "lt_15m": 2, "lt_60m": 2, "later": 1, "no_limit": 1}
    assert snap.overdue_orders == ["O8", "O1"]  # most overdue first
    assert snap.by_provider == {"P1": 2, "P2": 3, "P3": 3}
    assert snap.by_node == {"assigned": 4, "accepted": 2, "appointment_confirmed": 1, "exception_raised": 1}


def test_empty_snapshot_has_all_buckets() -> None:
    snap = inflight_snapshot([], T0)
    assert snap.total == 0
    assert snap.buckets == {"overdue": 0, "lt_15m": 0, "lt_60m": 0, "later": 0, "no_limit": 0}
