"""SLA monitoring with fake ports on a controlled clock: the minute check, configuration, exceptions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from petcover.config import reset_settings
from petcover.domain import sla
from petcover.domain.chat import ChatTarget
from petcover.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from petcover.identity import Principal
from petcover.models.partners import AlertContact, ProviderConfig
from petcover.models.sla import ExceptionHandled, ExceptionRaise, SlaConfigUpdate
from petcover.repositories import sla as sla_keys
from petcover.services import audit, timeline
from petcover.services.partners import directory
from petcover.services.sla import chat_targets, check, exceptions, work_orders
from petcover.services.sla import config as sla_config
from tests.support.blobs import FakeBlobs
from tests.support.chat import OPS_URL, lookup
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
STAFF = Principal("ops", "rita", ("ops",))
PROV_A = ChatTarget(kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=a", mention=["13800000000"])
PROV_B = ChatTarget(kind="slack", url="https://hooks.slack.test/services/b", mention=["U0B"])


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", OPS_URL)
    monkeypatch.setenv("PLATFORM_LANGUAGE", "en")  # these tests read the English messages
    monkeypatch.setenv("BUSINESS_TIMEZONE", "Asia/Shanghai")
    reset_settings()
    fake_ports.clock = Clock(T0)
    fake_ports.blobs = FakeBlobs()
    yield fake_ports
    reset_settings()


CHAT = lookup({"prov-a": PROV_A, "prov-b": PROV_B})


def record(p, order_id: str, node: str, at: datetime, *, provider: str = "prov-a", **kw: Any):
    args: dict[str, Any] = {"service_type": "vaccination", "region": "310115", "online": False, "owner": "lily"}
    args.update(kw)
    return timeline.record(p, order_id=order_id, provider_id=provider, node=node, at=at, **args)


def alerts_sent(p) -> list[dict[str, Any]]:
    return list(p.publisher.sent.get("alert", []))


def check_at(p, at: datetime, chat=CHAT) -> dict[str, int]:
    p.clock.set(at)
    return check.check_breaches(p, chat=chat)


# ---------------------------------------------------------------- the minute check


def test_no_alert_exactly_at_the_due_time_and_one_a_second_later(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    due = T0 + timedelta(minutes=30)  # DEFAULT_SLA: accepted within 30 minutes of assigned

    result = check_at(p, due)
    assert result["breaches"] == 0 and alerts_sent(p) == []

    result = check_at(p, due + timedelta(seconds=1))
    assert result["breaches"] == 1 and result["alerted"] == 1
    [msg] = alerts_sent(p)
    assert msg["target"]["url"] == PROV_A.url and msg["target"]["kind"] == "dingtalk"
    assert msg["dedupe_key"] == f"sla#WO-1#assigned#{T0.isoformat()}"
    assert msg["text"] == (
        "SLA breach: work order WO-1 (vaccination) has waited 30m 1s for 'accepted' (limit 30m, 1s over). @13800000000"
        "\n\nOpen the work order: /console/work-orders/WO-1"
    )
    assert msg["title"] == "SLA breach: work order WO-1"  # titled: DingTalk's markdown type


def test_one_alert_per_breach_when_the_check_runs_again_and_later(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    late = T0 + timedelta(minutes=31)
    check_at(p, late)
    again = check_at(p, late)  # the same minute twice (a retried schedule)
    later = check_at(p, late + timedelta(minutes=5))  # still open and late
    assert again["duplicates"] == 1 and later["alerted"] == 0
    assert len(alerts_sent(p)) == 1
    # The breach was recorded once, on the order's timeline.
    view = work_orders.work_order_timeline(p, "WO-1")
    assert [(b.node, b.due_at) for b in view.breaches] == [("accepted", T0 + timedelta(minutes=30))]


def test_overlapping_checks_alert_once(p):
    for i in range(5):
        record(p, f"WO-{i}", sla.ASSIGNED, T0)
    p.clock.set(T0 + timedelta(hours=1))
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        check.check_breaches(p, chat=CHAT)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m["dedupe_key"].split("#")[1] for m in alerts_sent(p)) == [f"WO-{i}" for i in range(5)]


def test_moving_to_the_next_node_starts_a_new_clock_and_a_new_alert(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    check_at(p, T0 + timedelta(minutes=31))
    accepted_at = T0 + timedelta(minutes=40)
    record(p, "WO-1", sla.ACCEPTED, accepted_at)
    assert check_at(p, accepted_at + timedelta(minutes=60))["breaches"] == 0  # offline: confirm within 60 min
    check_at(p, accepted_at + timedelta(minutes=60, seconds=1))
    texts = [m["text"] for m in alerts_sent(p)]
    assert len(texts) == 2 and "for 'appointment_confirmed' (limit 1h," in texts[1]


def test_completed_orders_are_never_alerted(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    record(p, "WO-1", sla.COMPLETED, T0 + timedelta(minutes=10))
    assert check_at(p, T0 + timedelta(hours=2))["due"] == 0
    assert alerts_sent(p) == []


def test_remote_regions_get_20_percent_more_time(p):
    sla_config.put_config(p, STAFF, SlaConfigUpdate(limits=list(sla.DEFAULT_SLA.limits), remote_regions=["540000"]))
    record(p, "WO-R", sla.ASSIGNED, T0, region="540102")  # Lhasa: 36 minutes instead of 30
    assert check_at(p, T0 + timedelta(minutes=36))["breaches"] == 0
    assert check_at(p, T0 + timedelta(minutes=36, seconds=1))["breaches"] == 1


def test_core_providers_are_held_10_percent_stricter(p):
    record(p, "WO-C", sla.ASSIGNED, T0, core_provider=True)  # 27 minutes instead of 30
    assert check_at(p, T0 + timedelta(minutes=27))["breaches"] == 0
    check_at(p, T0 + timedelta(minutes=27, seconds=1))
    [msg] = alerts_sent(p)
    assert "(limit 27m, 1s over)" in msg["text"]


def test_remote_and_core_adjustments_multiply(p):
    sla_config.put_config(p, STAFF, SlaConfigUpdate(limits=list(sla.DEFAULT_SLA.limits), remote_regions=["65"]))
    record(p, "WO-RC", sla.ASSIGNED, T0, region="650102", core_provider=True)  # 30 x 1.2 x 0.9 = 32m 24s
    assert check_at(p, T0 + timedelta(minutes=32, seconds=24))["breaches"] == 0
    check_at(p, T0 + timedelta(minutes=32, seconds=25))
    [msg] = alerts_sent(p)
    assert "(limit 32m 24s, 1s over)" in msg["text"]


def test_provider_without_chat_group_falls_back_to_the_ops_group(p):
    record(p, "WO-X", sla.ASSIGNED, T0, provider="prov-x")
    check_at(p, T0 + timedelta(minutes=31))
    [msg] = alerts_sent(p)
    assert msg["target"] is None  # the ops group (OPS_CHAT_URL), resolved when sending
    assert msg["text"].startswith("[provider prov-x] SLA breach: work order WO-X")


def test_slack_mentions_are_left_to_the_renderer(p):
    record(p, "WO-B", sla.ASSIGNED, T0, provider="prov-b")
    check_at(p, T0 + timedelta(minutes=31))
    [msg] = alerts_sent(p)
    assert msg["target"]["kind"] == "slack" and msg["target"]["mention"] == ["U0B"]
    assert "@" not in msg["text"]  # the Slack renderer puts <@U0B> in front


def test_unhandled_exception_breach_goes_to_ops(p):
    record(p, "WO-E", sla.EXCEPTION_RAISED, T0)
    check_at(p, T0 + timedelta(minutes=15, seconds=1))
    [msg] = alerts_sent(p)
    assert msg["target"] is None and "for 'exception_handled' (limit 15m" in msg["text"]


def test_a_lookup_failure_still_alerts_ops(p):
    def broken(_p, _provider):
        raise RuntimeError("partner store down")

    record(p, "WO-1", sla.ASSIGNED, T0)
    check_at(p, T0 + timedelta(minutes=31), chat=broken)
    [msg] = alerts_sent(p)
    assert msg["target"] is None


def test_a_failed_alert_keeps_the_checkpoint_and_the_next_run_sends_it(p, monkeypatch):
    record(p, "WO-1", sla.ASSIGNED, T0)
    check_at(p, T0 + timedelta(minutes=1))  # checkpoint at T0+1m
    real_send = p.publisher.send

    def down(queue, bodies, **kw):
        raise RuntimeError("sqs down")

    monkeypatch.setattr(p.publisher, "send", down)
    with pytest.raises(check.SlaCheckIncomplete):
        check_at(p, T0 + timedelta(minutes=31))
    assert p.store.get(*sla_keys.CHECK_KEY)["ref"] == (T0 + timedelta(minutes=1)).isoformat()
    monkeypatch.setattr(p.publisher, "send", real_send)
    # Two hours later the order is far outside the overlap, but the checkpoint did not move.
    result = check_at(p, T0 + timedelta(hours=2))
    assert result["alerted"] == 1 and len(alerts_sent(p)) == 1


def test_the_check_reads_only_what_fell_due_since_its_last_run(p):
    record(p, "WO-OLD", sla.ASSIGNED, T0)
    check_at(p, T0 + timedelta(minutes=31))
    assert check_at(p, T0 + timedelta(hours=2))["duplicates"] == 1  # within the overlap: read, not re-sent
    record(p, "WO-NEW", sla.ASSIGNED, T0 + timedelta(hours=3))
    result = check_at(p, T0 + timedelta(hours=3, minutes=31))
    # WO-OLD fell due 3 hours ago, before the last run's overlap: it is not read again.
    assert result["due"] == 1 and result["alerted"] == 1
    assert [m["dedupe_key"].split("#")[1] for m in alerts_sent(p)] == ["WO-OLD", "WO-NEW"]


def test_the_first_run_catches_up_at_most_a_day(p):
    record(p, "WO-ANCIENT", sla.ASSIGNED, T0 - timedelta(days=2))
    record(p, "WO-RECENT", sla.ASSIGNED, T0 - timedelta(hours=5))
    result = check_at(p, T0)
    assert result["breaches"] == 1
    assert alerts_sent(p)[0]["dedupe_key"].startswith("sla#WO-RECENT#")


# ---------------------------------------------------------------- provider chat targets


def provider_config(*contacts: tuple[str, str, str]) -> ProviderConfig:
    return ProviderConfig(
        provider_id="prov-a",
        name="Happy Paws",
        version=1,
        services=[],
        regions=[],
        daily_capacity=10,
        contacts=[
            AlertContact(name=f"c{i}", channel=k, webhook_url=u, mention=m) for i, (k, u, m) in enumerate(contacts)
        ],
    )


def test_provider_chat_target_uses_the_first_supported_group_and_mentions_its_people(p, monkeypatch):
    ding = "https://oapi.dingtalk.com/robot/send?access_token=x"
    cfg = provider_config(
        ("feishu", "https://open.feishu.cn/hook/1", "ou_1"),
        ("dingtalk", ding, "13800000001"),
        ("slack", "https://hooks.slack.test/2", "U2"),
        ("dingtalk", ding, "13800000002"),
    )
    monkeypatch.setattr(directory, "active_provider_config", lambda _p, pid: cfg if pid == "prov-a" else None)
    target = chat_targets.provider_chat_target(p, "prov-a")
    assert target is not None and target.sealed_secret is None  # the robot has no secret set
    assert (target.kind, target.url, target.mention) == ("dingtalk", ding, ["13800000001", "13800000002"])
    assert chat_targets.provider_chat_target(p, "prov-unknown") is None


def test_providers_with_only_unsupported_chats_go_to_ops(p, monkeypatch):
    cfg = provider_config(
        ("wecom", "https://qyapi.weixin.qq.com/x", "138"), ("feishu", "https://open.feishu.cn/y", "o")
    )
    monkeypatch.setattr(directory, "active_provider_config", lambda _p, pid: cfg)
    assert chat_targets.provider_chat_target(p, "prov-a") is None


# ---------------------------------------------------------------- configuration


def update(**kw: Any) -> SlaConfigUpdate:
    data: dict[str, Any] = {"limits": [{"node": "accepted", "minutes": 20}, {"node": "shipped", "minutes": 90}]}
    data.update(kw)
    return SlaConfigUpdate.model_validate(data)


def test_config_versions_are_stored_current_is_read_by_the_timeline_and_audited(p):
    view = sla_config.get_config(p)
    assert view.is_default and view.current == sla.DEFAULT_SLA and view.versions == []

    saved = sla_config.put_config(p, STAFF, update(remote_regions=["540000", "6501"], reason="tighter"))
    assert saved.changed and saved.version.version == 2 and saved.version.by == "ops:rita"
    assert p.store.get("SLACONFIG", "V#00002") is not None
    current = timeline.current_config(p)
    assert current.version == 2 and current.limit_minutes("accepted", "x") == 20
    assert current.remote_regions == ["54", "6501"]

    p.clock.set(T0 + timedelta(minutes=1))
    sla_config.put_config(p, STAFF, update(limits=[{"node": "accepted", "minutes": 25}], expected_version=2))
    view = sla_config.get_config(p)
    assert not view.is_default and view.current.version == 3 and view.updated_by == "ops:rita"
    assert [v.version for v in view.versions] == [3, 2]
    trail = audit.by_entity(p, "sla_config", "current")
    assert [r.after["version"] for r in trail] == [3, 2] and trail[1].reason == "tighter"
    assert trail[0].before["limits"][0]["minutes"] == 20


def test_a_new_limit_applies_to_nodes_entered_after_it(p):
    sla_config.put_config(p, STAFF, update())
    record(p, "WO-1", sla.ASSIGNED, T0)
    assert check_at(p, T0 + timedelta(minutes=20))["breaches"] == 0
    assert check_at(p, T0 + timedelta(minutes=20, seconds=1))["breaches"] == 1


def test_the_same_rules_again_make_no_new_version(p):
    first = sla_config.put_config(p, STAFF, update())
    again = sla_config.put_config(p, STAFF, update(limits=list(reversed(update().limits))))
    assert not again.changed and again.version == first.version
    assert sla_config.get_config(p).current.version == 2


def test_a_stale_expected_version_is_refused(p):
    sla_config.put_config(p, STAFF, update())
    with pytest.raises(Conflict) as exc:
        sla_config.put_config(p, STAFF, update(remote_extra_pct=30, expected_version=1))
    assert exc.value.code == "SLA_CONFIG_CHANGED" and exc.value.details == {"current_version": 2}


def test_a_concurrent_writer_loses_cleanly(p, monkeypatch):
    real_current = sla_config._current

    def racing(ports):
        found = real_current(ports)
        monkeypatch.setattr(sla_config, "_current", real_current)
        sla_config.put_config(ports, STAFF, update(remote_extra_pct=40))  # lands in between
        return found

    monkeypatch.setattr(sla_config, "_current", racing)
    with pytest.raises(Conflict) as exc:
        sla_config.put_config(p, STAFF, update(remote_extra_pct=30))
    assert exc.value.code == "SLA_CONFIG_CHANGED"
    assert timeline.current_config(p).remote_extra_pct == 40


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (update(remote_regions=["tibet"]), "remote_regions.0"),
        (update(remote_regions=["5401023"]), "remote_regions.0"),
        (update(limits=[{"node": "accepted", "service_type": "Vaccination!", "minutes": 5}]), "limits.0.service_type"),
        (update(limits=[{"node": "accepted", "minutes": 5}, {"node": "accepted", "minutes": 6}]), "limits"),
    ],
)
def test_nonsense_is_refused_with_field_errors(p, body, field):
    with pytest.raises(InvalidInput) as exc:
        sla_config.put_config(p, STAFF, body)
    assert exc.value.code == "INVALID_SLA_CONFIG"
    assert field in [d["field"] for d in exc.value.details]
    assert timeline.current_config(p) == sla.DEFAULT_SLA


@pytest.mark.parametrize(
    "data",
    [
        {"limits": []},
        {"limits": [{"node": "accepted", "minutes": 0}]},
        {"limits": [{"node": "accepted", "minutes": 60 * 24 * 31}]},
        {"limits": [{"node": "assigned", "minutes": 5}]},
        {"limits": [{"node": "accepted", "minutes": 5}], "remote_extra_pct": 150},
        {"limits": [{"node": "accepted", "minutes": 5}], "core_stricter_pct": 80},
        {"limits": [{"node": "accepted", "minutes": "5"}]},
    ],
)
def test_the_body_model_refuses_out_of_range_values(data):
    with pytest.raises(ValueError):
        SlaConfigUpdate.model_validate(data)


def test_effective_limits_show_the_adjustments(p):
    config = sla_config.validate_config(update(limits=[{"node": "accepted", "minutes": 30}]), 2)
    [row] = sla_config.effective_limits(config)
    assert (row.base_seconds, row.remote_seconds, row.core_seconds, row.remote_core_seconds) == (1800, 2160, 1620, 1944)


# ---------------------------------------------------------------- timeline and exceptions


PROVIDER_A = Principal("provider", "prov-a")


def test_timeline_shows_nodes_the_due_time_and_breaches(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    record(p, "WO-1", sla.ACCEPTED, T0 + timedelta(minutes=45))
    p.clock.set(T0 + timedelta(minutes=50))
    view = work_orders.work_order_timeline(p, "WO-1")
    assert [n.node for n in view.nodes] == ["assigned", "accepted"] and view.open
    assert view.current is not None and view.current.next_node == "appointment_confirmed"
    assert view.current.due_at == T0 + timedelta(minutes=105)
    assert view.current.remaining_seconds == 55 * 60 and not view.current.overdue
    with pytest.raises(NotFound):
        work_orders.work_order_timeline(p, "WO-NONE")


def test_provider_raises_and_ops_handles_an_exception(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    record(p, "WO-1", sla.ACCEPTED, T0 + timedelta(minutes=5))
    p.clock.set(T0 + timedelta(minutes=10))
    raised = exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="pet owner unreachable"))
    assert raised.state == "open" and raised.node_before == "accepted"
    [ops_msg] = alerts_sent(p)
    assert ops_msg["target"] is None and "exception raised at 'accepted': pet owner unreachable" in ops_msg["text"]
    with pytest.raises(IllegalTransition) as exc:
        exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="again"))
    assert exc.value.code == "EXCEPTION_ALREADY_RAISED"

    p.clock.set(T0 + timedelta(minutes=20))
    handled = exceptions.handle_exception(p, STAFF, "WO-1", ExceptionHandled(resolution="called the owner"))
    assert handled.state == "handled" and handled.handled_by == "ops:rita"
    view = work_orders.work_order_timeline(p, "WO-1")
    assert [n.node for n in view.nodes][-2:] == ["exception_raised", "exception_handled"]
    assert [e.state for e in view.exceptions] == ["handled"]
    with pytest.raises(IllegalTransition) as exc:
        exceptions.handle_exception(p, STAFF, "WO-1", ExceptionHandled(resolution="twice"))
    assert exc.value.code == "NO_OPEN_EXCEPTION"
    actions = [r.action for r in audit.by_entity(p, "work_order", "WO-1")]
    assert actions == ["exception_handled", "exception_raised"]


def test_an_exception_handled_in_time_is_not_alerted(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    p.clock.set(T0 + timedelta(minutes=1))
    exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="stock out"))
    p.clock.set(T0 + timedelta(minutes=16))  # exactly the 15-minute limit
    exceptions.handle_exception(p, STAFF, "WO-1", ExceptionHandled(resolution="rerouted"))
    check_at(p, T0 + timedelta(hours=1))
    assert [m["text"] for m in alerts_sent(p) if "SLA breach" in m["text"]] == []


def test_another_providers_order_is_not_found_and_closed_orders_refuse(p):
    record(p, "WO-1", sla.ASSIGNED, T0)
    with pytest.raises(NotFound):
        exceptions.raise_exception(p, Principal("provider", "prov-b"), "WO-1", ExceptionRaise(reason="x"))
    record(p, "WO-1", sla.COMPLETED, T0 + timedelta(minutes=5))
    with pytest.raises(IllegalTransition) as exc:
        exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="x"))
    assert exc.value.code == "WORK_ORDER_CLOSED"
    with pytest.raises(NotFound):  # closed, and not theirs: still not found
        exceptions.raise_exception(p, Principal("provider", "prov-b"), "WO-1", ExceptionRaise(reason="x"))
    with pytest.raises(NotFound):
        exceptions.handle_exception(p, STAFF, "WO-NONE", ExceptionHandled(resolution="x"))


def test_exceptions_wait_for_the_orders_fulfilment_lock(p, monkeypatch):
    from petcover.services import locks
    from petcover.services.fulfilment import transitions

    assert exceptions.WORK_ORDER_LOCK == transitions.MODULE
    monkeypatch.setattr(locks, "sleep", lambda _s: None)
    record(p, "WO-1", sla.ASSIGNED, T0)
    held = locks.acquire(p, "WO-1", transitions.MODULE)  # fulfilment is changing the order right now
    with pytest.raises(Conflict) as exc:
        exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="x"))
    assert exc.value.code == "ORDER_LOCKED"
    assert [n.node for n in work_orders.work_order_timeline(p, "WO-1").nodes] == ["assigned"]
    locks.release(p, held)
    exceptions.raise_exception(p, PROVIDER_A, "WO-1", ExceptionRaise(reason="x"))
    lock = locks.current(p, "WO-1", transitions.MODULE)
    assert lock is not None and lock["expires_at"] <= int(T0.timestamp())  # released


def test_one_unreadable_due_item_does_not_stop_the_other_alerts(p):
    p.store.put(
        {
            "pk": "WO#BROKEN",
            "sk": "OPEN",
            "gsi3pk": "DUE",
            "gsi3sk": f"{(T0 + timedelta(minutes=1)).isoformat()}#BROKEN",
            "data": "{not json",
        }
    )
    record(p, "WO-1", sla.ASSIGNED, T0)
    result = check_at(p, T0 + timedelta(minutes=31))
    assert result["alerted"] == 1 and [m["dedupe_key"].split("#")[1] for m in alerts_sent(p)] == ["WO-1"]
