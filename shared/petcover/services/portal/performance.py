"""A provider's own performance in the portal: timeliness, dispatch share, feedback, assessment.

Durations come from the timelines of the provider's recent work orders (one page of its work-order
index); on-time and breach figures from this month's quality counters, which the assessment reads
too. Peers appear only as "peer N", ordered by on-time rate: no other provider is named.
"""

from __future__ import annotations

from datetime import datetime

from petcover.domain import calendar
from petcover.domain.dispatch import scope_of
from petcover.domain.quality import TIMED_NODES, MonthCounters
from petcover.identity import Principal
from petcover.models.fulfilment import Appointment
from petcover.models.portal import (
    DispatchShare,
    Feedback,
    NodeTimes,
    PeerRank,
    PeerRate,
    PortalAssessment,
    ShareLine,
    Timeliness,
)
from petcover.models.quality import Complaint, Rating
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.repositories import quality as quality_keys
from petcover.services.dispatch import counters, rules
from petcover.services.quality import feedback

RECENT_ORDERS = 100  # the work orders durations and feedback are read from (one index page)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return round(ordered[rank - 1], 1)


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 60 if a and b and b >= a else None


def node_durations(doc: Appointment) -> dict[str, float]:
    """Minutes each node took on one work order: from assignment, acceptance or service start."""
    first: dict[str, datetime] = {}
    assigned = doc.created_at
    for s in doc.steps:
        if s.state == "booking" and "accept" not in first:
            assigned = s.at
        if s.action in ("accept", "confirm_time", "ship", "check_in"):
            first.setdefault(s.action, s.at)
        if s.state == "fulfilled":
            first.setdefault("fulfilled", s.at)
    accepted = first.get("accept")
    started = first.get("check_in") or first.get("ship")
    pairs = {
        "accepted": (assigned, accepted),
        "appointment_confirmed": (accepted, first.get("confirm_time")),
        "shipped": (accepted, first.get("ship")),
        "served": (accepted, first.get("check_in")),
        "completed": (started, first.get("fulfilled")),
    }
    return {node: m for node, (a, b) in pairs.items() if (m := _minutes(a, b)) is not None}


def _recent(p: Ports, provider_id: str) -> list[Appointment]:
    page = records.work_orders_page(p, provider_id, limit=RECENT_ORDERS, cursor=None)
    docs = (records.appointment_from_item(i) for i in page.items)
    return [d for d in docs if d.provider_id == provider_id]


def _rate(c: MonthCounters | None) -> float | None:
    if c is None:
        return None
    done = sum(c.done.values())
    return round(sum(c.on_time.values()) / done, 4) if done else None


def ranking(month: dict[str, MonthCounters], provider_id: str) -> PeerRank:
    """The provider's place by on-time rate among this month's providers; the others unnamed."""
    rated = sorted(((_rate(c), pid) for pid, c in month.items()), key=lambda t: (t[0] is None, -(t[0] or 0), t[1]))
    peers, rank, n = [], None, 0
    for i, (rate, pid) in enumerate(rated, start=1):
        if pid == provider_id:
            rank = i if rate is not None else None
            peers.append(PeerRate(label="you", on_time_rate=rate))
        else:
            n += 1
            peers.append(PeerRate(label=f"peer {n}", on_time_rate=rate))
    return PeerRank(rank=rank, of=len(rated), peers=peers)


def timeliness(p: Ports, who: Principal) -> Timeliness:
    month = calendar.month_of(p.now())
    all_counters = quality_keys.month_counters(p.store, month)
    mine = all_counters.get(who.id)
    docs = _recent(p, who.id)
    durations: dict[str, list[float]] = {}
    for doc in docs:
        for node, minutes in node_durations(doc).items():
            durations.setdefault(node, []).append(minutes)
    nodes = []
    for node in TIMED_NODES:
        done = mine.done.get(node, 0) if mine else 0
        on_time = mine.on_time.get(node, 0) if mine else 0
        values = durations.get(node, [])
        nodes.append(
            NodeTimes(
                node=node,
                sample=len(values),
                p50_minutes=percentile(values, 0.5),
                p90_minutes=percentile(values, 0.9),
                done=done,
                on_time=on_time,
                breach_rate=round((done - on_time) / done, 4) if done else None,
            )
        )
    total_done = sum(n.done for n in nodes)
    breaches = mine.breaches if mine else 0
    return Timeliness(
        month=month,
        sample_orders=len(docs),
        nodes=nodes,
        breaches=breaches,
        breach_rate=round(sum(n.done - n.on_time for n in nodes) / total_done, 4) if total_done else None,
        ranking=ranking(all_counters, who.id),
    )


def dispatch_share(p: Ports, who: Principal) -> DispatchShare:
    """Today's share of each region+service type rule the provider is in, against its target."""
    day = counters.business_date(p)
    rs = rules.in_effect(p)
    lines = []
    for rule in rs.rules if rs else []:
        mine = next((s for s in rule.providers if s.provider_id == who.id), None)
        if mine is None:
            continue
        scope = scope_of(rule.region_code, rule.service_type)
        for c in counters.shares_now(p, rule, day, scope):
            if c.provider_id == who.id:
                lines.append(
                    ShareLine(
                        region_code=rule.region_code,
                        service_type=rule.service_type,
                        target_pct=c.target_pct,
                        actual_pct=round(c.actual_pct, 2),
                        assigned_today=c.assigned_today,
                        daily_capacity=mine.daily_capacity,
                    )
                )
    return DispatchShare(
        business_date=day,
        rule_version=rs.version if rs else None,
        assessment=rs.assessment if rs else None,
        lines=lines,
    )


def feedback_of(p: Ports, who: Principal) -> Feedback:
    month = calendar.month_of(p.now())
    mine = quality_keys.month_counters(p.store, month).get(who.id)
    ratings: list[Rating] = []
    complaints: list[Complaint] = []
    for doc in _recent(p, who.id):
        if doc.status == "fulfilled" and (r := feedback.get_rating(p, doc.appointment_id)) is not None:
            ratings.append(r)
        complaints.extend(c for c in feedback.complaints(p, doc.appointment_id).items if c.provider_id == who.id)
    return Feedback(
        month=month,
        average_rating=round(mine.rating_sum / mine.rating_count, 2) if mine and mine.rating_count else None,
        rating_count=mine.rating_count if mine else 0,
        complaint_count=mine.complaints if mine else 0,
        ratings=ratings,
        complaints=complaints,
    )


def latest_assessment(p: Ports, who: Principal, month: str | None = None) -> PortalAssessment:
    """The provider's assessment of ``month`` (the previous month by default) and this month so far."""
    now = p.now()
    current = quality_keys.month_counters(p.store, calendar.month_of(now)).get(who.id)
    wanted = month or calendar.previous_month(now)
    found = next((a for a in quality_keys.assessments(p.store, wanted) if a.provider_id == who.id), None)
    return PortalAssessment(month=wanted if found else None, assessment=found, current=current)
