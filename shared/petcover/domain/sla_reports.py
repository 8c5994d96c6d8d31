"""SLA reports from work-order data: the nightly summary, daily timeliness and in-flight snapshots.

Pure, like ``petcover.domain.sla`` (nodes, limits, breaches), whose models these read.
All datetimes must be timezone-aware.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from pydantic import AwareDatetime

from petcover.domain import i18n
from petcover.domain.sla import (
    ACCEPTED,
    ASSIGNED,
    COMPLETED,
    DEFAULT_SLA,
    NODES,
    NodeEvent,
    OpenWorkOrder,
    SlaBreach,
    SlaConfig,
    format_duration,
    order_limit,
    require_aware,
)
from petcover.models.base import Model

# ---------------------------------------------------------------------------------------------
# Nightly summary


class SummaryLine(Model):
    order_id: str
    service_type: str
    node: str
    owner: str
    created_at: AwareDatetime
    entered_at: AwareDatetime
    waiting: timedelta  # time in the current node
    age: timedelta  # time since the order was created


class ProviderSummary(Model):
    provider_id: str
    total: int
    by_node: dict[str, int]
    orders: list[SummaryLine]  # longest waiting first


class Summary(Model):
    generated_at: AwareDatetime
    total: int
    by_node: dict[str, int]
    providers: list[ProviderSummary]  # by provider id

    def provider(self, provider_id: str) -> ProviderSummary | None:
        return next((p for p in self.providers if p.provider_id == provider_id), None)


def _node_counts(nodes: Iterable[str]) -> dict[str, int]:
    counts = Counter(nodes)
    # Flow order reads better than alphabetical; unknown nodes go last.
    ordered = {n: counts[n] for n in NODES if counts[n]}
    ordered.update({n: c for n, c in sorted(counts.items()) if n not in ordered})
    return ordered


def build_summary(orders: Iterable[OpenWorkOrder], now: datetime) -> Summary:
    require_aware(now, "now")
    per_provider: dict[str, list[OpenWorkOrder]] = defaultdict(list)
    for order in orders:
        per_provider[order.provider_id].append(order)
    providers = []
    for provider_id in sorted(per_provider):
        items = sorted(per_provider[provider_id], key=lambda o: (o.entered_at, o.order_id))
        providers.append(
            ProviderSummary(
                provider_id=provider_id,
                total=len(items),
                by_node=_node_counts(o.node for o in items),
                orders=[
                    SummaryLine(
                        order_id=o.order_id,
                        service_type=o.service_type,
                        node=o.node,
                        owner=o.owner,
                        created_at=o.created_at,
                        entered_at=o.entered_at,
                        waiting=now - o.entered_at,
                        age=now - o.created_at,
                    )
                    for o in items
                ],
            )
        )
    all_nodes = [line.node for p in providers for line in p.orders]
    return Summary(
        generated_at=now,
        total=len(all_nodes),
        by_node=_node_counts(all_nodes),
        providers=providers,
    )


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{node} {n}" for node, n in counts.items())


def summary_text(summary: Summary, provider_id: str | None = None, lang: str = "en") -> str:
    """Chat/e-mail text: everything (ops), or one provider's own orders (``provider_id``), in ``lang``."""
    stamp = summary.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    who = i18n.text("summary.for", lang, provider=provider_id) if provider_id is not None else ""
    if provider_id is not None:
        selected = [p for p in summary.providers if p.provider_id == provider_id]
        if not selected:
            return i18n.text("summary.none", lang, who=who, stamp=stamp)
        head = i18n.text("summary.head", lang, who=who, stamp=stamp, total=selected[0].total)
    else:
        selected = summary.providers
        if not summary.total:
            return i18n.text("summary.none", lang, who=who, stamp=stamp)
        total = f"{summary.total} ({_counts_text(summary.by_node)})"
        head = i18n.text("summary.head", lang, who=who, stamp=stamp, total=total)
    lines = [head]
    for p in selected:
        lines.append(
            i18n.text("summary.provider", lang, provider=p.provider_id, total=p.total, counts=_counts_text(p.by_node))
        )
        for o in p.orders:
            owner = i18n.text("summary.owner", lang, owner=o.owner) if o.owner else ""
            lines.append(
                i18n.text(
                    "summary.order",
                    lang,
                    order=o.order_id,
                    service=o.service_type,
                    node=o.node,
                    waiting=format_duration(o.waiting),
                    age=format_duration(o.age),
                    owner=owner,
                )
            )
    return "\n".join(lines)


def _cell(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def summary_csv(summary: Summary) -> str:
    header = (
        "provider_id",
        "order_id",
        "service_type",
        "node",
        "owner",
        "created_at",
        "entered_at",
        "waiting_minutes",
        "age_minutes",
    )
    rows = (
        (
            p.provider_id,
            o.order_id,
            o.service_type,
            o.node,
            o.owner,
            o.created_at.isoformat(),
            o.entered_at.isoformat(),
            _minutes(o.waiting),
            _minutes(o.age),
        )
        for p in summary.providers
        for o in p.orders
    )
    return _csv(header, rows)


# ---------------------------------------------------------------------------------------------
# Timeliness reports


class ProviderDayStats(Model):
    day: date
    provider_id: str
    region: str  # the provider's most frequent region that day
    orders: int  # distinct orders with an event or a breach that day
    accepted: int
    completed: int
    response_p50: float | None  # minutes, assigned -> accepted, for orders accepted that day
    response_p90: float | None
    processing_p50: float | None  # minutes, accepted -> completed, for orders completed that day
    processing_p90: float | None
    breaches: int  # breaches due that day
    breach_rate: float  # distinct breached orders / orders
    rank: int  # 1 = best: lowest breach rate, then lowest p90 response


def percentile(values: Sequence[float], pct: int) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``pct``% of values <= it."""
    if not 0 < pct <= 100:
        raise ValueError("pct must be in 1..100")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))  # ceil without floats
    return ordered[rank - 1]


def _day_window(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    # Local midnight to next local midnight: 23 or 25 hours on DST change days.
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def _span_minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 2)


@dataclass
class _ProviderDay:
    """What one provider's row of the day is computed from."""

    orders: set[str] = field(default_factory=set)  # distinct orders with an event or a breach that day
    regions: Counter[str] = field(default_factory=Counter)
    breaches: list[SlaBreach] = field(default_factory=list)
    response: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)
    accepted: int = 0
    completed: int = 0

    def add_samples(self, events: list[NodeEvent], on_day: Callable[[datetime], bool]) -> None:
        """One order's samples, from its events in time order."""
        accepted = next((e.at for e in events if e.node == ACCEPTED), None)
        completed = next((e.at for e in events if e.node == COMPLETED), None)
        if accepted is not None and on_day(accepted):
            self.accepted += 1
            assigned = [e.at for e in events if e.node == ASSIGNED and e.at <= accepted]
            if assigned:
                self.response.append(_span_minutes(assigned[-1], accepted))
        if completed is not None and on_day(completed):
            self.completed += 1
            if accepted is not None and accepted <= completed:
                self.processing.append(_span_minutes(accepted, completed))

    def row(self, day: date, provider_id: str) -> ProviderDayStats:
        orders = len(self.orders)
        regions = self.regions
        return ProviderDayStats(
            day=day,
            provider_id=provider_id,
            region=min(regions, key=lambda r: (-regions[r], r)) if regions else "",
            orders=orders,
            accepted=self.accepted,
            completed=self.completed,
            response_p50=percentile(self.response, 50),
            response_p90=percentile(self.response, 90),
            processing_p50=percentile(self.processing, 50),
            processing_p90=percentile(self.processing, 90),
            breaches=len(self.breaches),
            breach_rate=round(len({b.order_id for b in self.breaches}) / orders, 4) if orders else 0.0,
            rank=0,
        )


def daily_report(
    events: Iterable[NodeEvent],
    day: date,
    tz: tzinfo,
    breaches: Iterable[SlaBreach] = (),
) -> list[ProviderDayStats]:
    """Per-provider timeliness for one local day, ranked (events may span other days).

    A response sample is an order accepted that day (from the last ``assigned`` before it);
    a processing sample is an order completed that day (from the first ``accepted``).
    Breaches count on the day they fell due.
    """
    start, end = _day_window(day, tz)

    def on_day(at: datetime) -> bool:
        return start <= at < end

    per_provider: dict[str, _ProviderDay] = defaultdict(_ProviderDay)
    history: dict[tuple[str, str], list[NodeEvent]] = defaultdict(list)
    for ev in events:
        history[(ev.provider_id, ev.order_id)].append(ev)
        if on_day(ev.at):
            per_provider[ev.provider_id].orders.add(ev.order_id)
            per_provider[ev.provider_id].regions[ev.region] += 1
    for b in breaches:
        if on_day(b.due_at):
            acc = per_provider[b.provider_id]
            acc.breaches.append(b)
            acc.orders.add(b.order_id)
            if b.region:
                acc.regions[b.region] += 1
    for (provider_id, _), evs in history.items():
        per_provider[provider_id].add_samples(sorted(evs, key=lambda e: e.at), on_day)
    # Only providers with an event or a breach that day get a row.
    return _ranked([acc.row(day, pid) for pid, acc in sorted(per_provider.items()) if acc.orders])


def _ranked(rows: list[ProviderDayStats]) -> list[ProviderDayStats]:
    # Competition ranking (1, 1, 3): equal rate and p90 share a rank; no p90 sorts last.
    def key(r: ProviderDayStats) -> tuple[float, float]:
        return (r.breach_rate, r.response_p90 if r.response_p90 is not None else float("inf"))

    ordered = sorted(rows, key=lambda r: (key(r), r.provider_id))
    result: list[ProviderDayStats] = []
    for i, row in enumerate(ordered):
        rank = result[-1].rank if result and key(ordered[i - 1]) == key(row) else i + 1
        result.append(row.model_copy(update={"rank": rank}))
    return result


def report_csv(rows: Iterable[ProviderDayStats]) -> str:
    header = (
        "day",
        "rank",
        "provider_id",
        "region",
        "orders",
        "accepted",
        "completed",
        "response_p50_min",
        "response_p90_min",
        "processing_p50_min",
        "processing_p90_min",
        "breaches",
        "breach_rate",
    )
    return _csv(
        header,
        (
            (
                r.day.isoformat(),
                r.rank,
                r.provider_id,
                r.region,
                r.orders,
                r.accepted,
                r.completed,
                r.response_p50,
                r.response_p90,
                r.processing_p50,
                r.processing_p90,
                r.breaches,
                r.breach_rate,
            )
            for r in rows
        ),
    )


# ---------------------------------------------------------------------------------------------
# In-flight snapshot

BUCKETS: tuple[str, ...] = ("overdue", "lt_15m", "lt_60m", "later", "no_limit")


class Snapshot(Model):
    at: AwareDatetime
    total: int
    by_node: dict[str, int]
    by_provider: dict[str, int]
    buckets: dict[str, int]  # every key of BUCKETS, zero included
    overdue_orders: list[str]  # most overdue first


def _bucket(remaining: timedelta) -> str:
    # Exactly at the due time is not overdue (same rule as is_breached).
    if remaining < timedelta(0):
        return "overdue"
    if remaining < timedelta(minutes=15):
        return "lt_15m"
    if remaining < timedelta(minutes=60):
        return "lt_60m"
    return "later"


def inflight_snapshot(open_orders: Iterable[OpenWorkOrder], now: datetime, config: SlaConfig = DEFAULT_SLA) -> Snapshot:
    """Counts of open orders per node and provider, and by time left before the next due."""
    require_aware(now, "now")
    orders = list(open_orders)
    buckets = dict.fromkeys(BUCKETS, 0)
    overdue: list[tuple[datetime, str]] = []
    for order in orders:
        limit = order_limit(config, order)
        if limit is None:
            buckets["no_limit"] += 1
            continue
        due = order.entered_at + limit[1]
        name = _bucket(due - now)
        buckets[name] += 1
        if name == "overdue":
            overdue.append((due, order.order_id))
    return Snapshot(
        at=now,
        total=len(orders),
        by_node=_node_counts(o.node for o in orders),
        by_provider=dict(sorted(Counter(o.provider_id for o in orders).items())),
        buckets=buckets,
        overdue_orders=[order_id for _, order_id in sorted(overdue)],
    )
