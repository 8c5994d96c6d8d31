"""The minute check: alert once for every open work order past due at its current node.

The timeline keeps open work orders in a due-time index; the check reads what fell due since
its last run, records one breach item per breach (the daily report counts them) and alerts
through ``alerts.raise_alert`` with a dedupe key, so a check that runs twice (or two checks
that overlap) alerts once per breach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from petcover.domain import calendar, sla
from petcover.domain.chat import ChatTarget
from petcover.errors import StaleWrite
from petcover.observability import logger
from petcover.ports import Ports, Put, Update
from petcover.repositories import overview
from petcover.repositories import quality as quality_keys
from petcover.repositories import sla as keys
from petcover.repositories import timeline as timeline_keys
from petcover.repositories.base import paginate
from petcover.services import alerts
from petcover.services.sla import messages
from petcover.services.sla.chat_targets import ChatLookup, is_routed, provider_chat_target, text_mentions
from petcover.services.sla.times import iso

# The minute check reads what fell due since its last run, minus an overlap for late index
# writes and back-dated nodes; after an outage it catches up at most this far back.
CHECK_OVERLAP = timedelta(minutes=10)
CHECK_MAX_LOOKBACK = timedelta(hours=24)
CHECK_PAGE = 500
# The counts a run returns and keeps with its checkpoint, in this order.
COUNTS = ("due", "breaches", "recorded", "alerted", "duplicates", "unrouted", "failed")


class SlaCheckIncomplete(RuntimeError):
    """Some breaches could not be recorded or alerted; the checkpoint stays so the next run retries."""


class _Targets:
    """Each provider's chat target, looked up once per run; a failed lookup alerts the ops group."""

    def __init__(self, p: Ports, chat: ChatLookup) -> None:
        self.p = p
        self.chat = chat
        self.known: dict[str, ChatTarget | None] = {}

    def __call__(self, provider_id: str) -> ChatTarget | None:
        if provider_id not in self.known:
            try:
                self.known[provider_id] = self.chat(self.p, provider_id)
            except Exception:
                logger.exception("provider chat lookup failed; alerting the ops group", extra={"provider": provider_id})
                self.known[provider_id] = None
        return self.known[provider_id]


def _since(p: Ports, now: datetime) -> datetime:
    state = p.store.get(*keys.CHECK_KEY)
    since = now - CHECK_MAX_LOOKBACK
    if state is not None and state.get("ref"):
        since = max(since, datetime.fromisoformat(str(state["ref"])) - CHECK_OVERLAP)
    return since


def _due_between(p: Ports, since: datetime, until: datetime) -> Iterator[tuple[sla.OpenWorkOrder, str, datetime]]:
    """Open orders whose due time is in [since, until] from the timeline's due index (gsi3)."""
    for item in paginate(
        p.store, timeline_keys.DUE_PK, index="gsi3", sk_gte=iso(since), sk_lte=iso(until), limit=CHECK_PAGE
    ):
        try:
            wo = timeline_keys.load_open(item)
            due = timeline_keys.due_time(item)
            late = timeline_keys.next_node(item) or sla.next_node(wo.node, online=wo.online) or ""
        except (ValidationError, ValueError, KeyError):
            # One unreadable item must not stop every other alert.
            logger.exception("unreadable open work order in the due index", extra={"pk": item.get("pk")})
            continue
        if due is not None:  # always: the index holds only items with a due time
            yield wo, late, due


def breach_dedupe_key(wo: sla.OpenWorkOrder) -> str:
    return f"sla#{wo.order_id}#{wo.node}#{wo.entered_at.isoformat()}"


def _record_breach(p: Ports, breach: sla.SlaBreach) -> bool:
    """One item per breach (the daily report counts them); False when it was already recorded.

    While the work order still waits at the breached node, the same transaction marks its open
    item breached and moves the overview's open-breach gauge, which the node that ends the wait
    moves back (``services.timeline``). Recorded after the order moved on, only the day counts it.
    """
    item = keys.breach_item(breach)
    day = overview.day_add(calendar.day_of(breach.detected_at), {"sla_breaches": 1})
    quality = quality_keys.counter_op(breach.provider_id, calendar.month_of(breach.due_at), "breaches")
    still_open = Update(
        *timeline_keys.open_key(breach.order_id),
        set={"breached": item["sk"]},
        expect=[
            ("gsi3sk", "=", timeline_keys.due_sk(breach.due_at, breach.order_id)),
            ("breached", "not_exists", None),
        ],
    )
    try:
        opens = overview.gauge_add({"open_breaches": 1})
        p.store.transact([Put(item, if_absent=True), still_open, opens, day, quality])
        return True
    except StaleWrite:
        pass
    try:
        p.store.transact([Put(item, if_absent=True), day, quality])
        return True
    except StaleWrite:
        return False


def _alert_breach(
    p: Ports, wo: sla.OpenWorkOrder, late: str, due: datetime, now: datetime, target: ChatTarget | None
) -> bool:
    title, text = messages.breach_alert(wo, late, due, now, text_mentions(target))
    if target is None:
        text = f"[provider {wo.provider_id}] {text}"
    return alerts.raise_alert(p, target=target, text=text, title=title, dedupe_key=breach_dedupe_key(wo))


def _breach(
    p: Ports, wo: sla.OpenWorkOrder, late: str, due: datetime, now: datetime, targets: _Targets
) -> tuple[bool, str]:
    """Record and alert one breach: (newly recorded, outcome: alerted / duplicates / unrouted).

    Breaches waiting for ``exception_handled`` go to the ops group: ops handles exceptions.
    """
    breach = sla.SlaBreach(
        order_id=wo.order_id,
        provider_id=wo.provider_id,
        service_type=wo.service_type,
        node=late,
        entered_at=wo.entered_at,
        due_at=due,
        limit=due - wo.entered_at,
        detected_at=now,
        region=wo.region,
    )
    recorded = _record_breach(p, breach)
    target = None if late == sla.EXCEPTION_HANDLED else targets(wo.provider_id)
    if not is_routed(target):
        logger.warning("sla breach has nowhere to go (no provider group, no OPS_CHAT_URL)")
        return recorded, "unrouted"
    return recorded, "alerted" if _alert_breach(p, wo, late, due, now, target) else "duplicates"


def check_breaches(p: Ports, *, chat: ChatLookup = provider_chat_target) -> dict[str, int]:
    """Alert once for every open work order past due at its current node.

    Reads only what fell due since the last run (the due-time index, never a scan).
    """
    now = p.now().astimezone(UTC)
    targets = _Targets(p, chat)
    result = dict.fromkeys(COUNTS, 0)
    for wo, late, due in _due_between(p, _since(p, now), now):
        result["due"] += 1
        if not late or not sla.is_breached(due, now):
            continue  # exactly at the due time is on time
        result["breaches"] += 1
        try:
            recorded, outcome = _breach(p, wo, late, due, now, targets)
        except Exception:
            result["failed"] += 1
            logger.exception("sla breach not alerted", extra={"order_id": wo.order_id, "node": late})
            continue
        result["recorded"] += recorded
        result[outcome] += 1

    if result["failed"]:
        # Keep the checkpoint: the next run reads these again (the dedupe keys stop repeats).
        raise SlaCheckIncomplete(f"{result['failed']} of {result['breaches']} breaches failed; see the log")
    with contextlib.suppress(StaleWrite):  # an overlapping run already moved the checkpoint further
        p.store.put(keys.check_state_item(iso(now), result), expect=[("ref", "<?", iso(now))])
    return result
