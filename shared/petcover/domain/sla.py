"""SLA of work orders: configuration, due times, breaches, nightly summary and timeliness reports.

Pure: callers pass the clock (``now``) and the data; nothing here reads storage or the
environment. All datetimes must be timezone-aware.

A work order moves through nodes::

    offline (clinic):  assigned -> accepted -> appointment_confirmed -> served -> completed
    online (shipping): assigned -> accepted -> shipped -> completed
    any time:          exception_raised -> exception_handled

An SLA limit names the node that must happen *next* and how long after entering the current
node it is due (e.g. ``accepted`` within 30 minutes of ``assigned``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from petcover.errors import InvalidInput

ASSIGNED = "assigned"
ACCEPTED = "accepted"
APPOINTMENT_CONFIRMED = "appointment_confirmed"
SHIPPED = "shipped"
SERVED = "served"
COMPLETED = "completed"
EXCEPTION_RAISED = "exception_raised"
EXCEPTION_HANDLED = "exception_handled"

NODES: tuple[str, ...] = (
    ASSIGNED,
    ACCEPTED,
    APPOINTMENT_CONFIRMED,
    SHIPPED,
    SERVED,
    COMPLETED,
    EXCEPTION_RAISED,
    EXCEPTION_HANDLED,
)

# Nodes a limit can target: a node that follows another one.
LimitNode = Literal["accepted", "appointment_confirmed", "shipped", "served", "completed", "exception_handled"]

ANY_SERVICE = "*"
MAX_LIMIT_MINUTES = 30 * 24 * 60  # a limit longer than 30 days is a typo, not an SLA


def next_node(current: str, *, online: bool) -> str | None:
    """The node that must happen after ``current``; None at the end of the flow."""
    if current not in NODES:
        raise ValueError(f"unknown work-order node {current!r}")
    if current == ACCEPTED:
        return SHIPPED if online else APPOINTMENT_CONFIRMED
    return {
        ASSIGNED: ACCEPTED,
        APPOINTMENT_CONFIRMED: SERVED,
        SERVED: COMPLETED,
        SHIPPED: COMPLETED,
        EXCEPTION_RAISED: EXCEPTION_HANDLED,
    }.get(current)


# ---------------------------------------------------------------------------------------------
# Configuration


class SlaLimit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    node: LimitNode
    service_type: Annotated[str, Field(min_length=1, max_length=64)] = ANY_SERVICE
    minutes: Annotated[int, Field(strict=True, gt=0, le=MAX_LIMIT_MINUTES)]


class SlaConfig(BaseModel):
    """One versioned SLA configuration.

    Build it from untrusted input with ``parse_sla_config`` (raises ``InvalidInput``);
    direct construction raises pydantic's ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[int, Field(strict=True, ge=1)]
    limits: Annotated[list[SlaLimit], Field(min_length=1)]
    remote_extra_pct: Annotated[int, Field(strict=True, ge=0, le=100)] = 20
    core_stricter_pct: Annotated[int, Field(strict=True, ge=0, le=50)] = 10
    remote_regions: list[Annotated[str, Field(min_length=1, max_length=32)]] = []

    @field_validator("limits")
    @classmethod
    def _no_duplicate_limits(cls, limits: list[SlaLimit]) -> list[SlaLimit]:
        seen: dict[tuple[str, str], int] = {}
        for i, limit in enumerate(limits):
            key = (limit.node, limit.service_type)
            if key in seen:
                raise ValueError(
                    f"duplicate limit for node '{limit.node}' and service type "
                    f"'{limit.service_type}' (items {seen[key]} and {i})"
                )
            seen[key] = i
        return limits

    @field_validator("remote_regions")
    @classmethod
    def _normalise_regions(cls, regions: list[str]) -> list[str]:
        cleaned = [r.strip().upper() for r in regions]
        if any(not r for r in cleaned):
            raise ValueError("region prefixes must not be blank")
        return sorted(set(cleaned))

    def limit_minutes(self, node: str, service_type: str) -> int | None:
        """The configured minutes for ``node``: an exact service type wins over ``*``."""
        fallback = None
        for limit in self.limits:
            if limit.node != node:
                continue
            if limit.service_type == service_type:
                return limit.minutes
            if limit.service_type == ANY_SERVICE:
                fallback = limit.minutes
        return fallback

    def is_remote(self, region: str) -> bool:
        code = region.strip().upper()
        return bool(code) and any(code.startswith(prefix) for prefix in self.remote_regions)


def parse_sla_config(data: Mapping[str, Any]) -> SlaConfig:
    """Validate untrusted input; refusals carry one ``{"field", "message"}`` per problem."""
    try:
        return SlaConfig.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]) or "config", "message": err["msg"]}
            for err in exc.errors(include_url=False)
        ]
        raise InvalidInput("The SLA configuration is invalid.", details=details) from None


DEFAULT_SLA = SlaConfig(
    version=1,
    limits=[
        SlaLimit(node=ACCEPTED, minutes=30),
        SlaLimit(node=APPOINTMENT_CONFIRMED, minutes=60),  # offline: the flow picks this node
        SlaLimit(node=SHIPPED, minutes=120),  # online
        SlaLimit(node=EXCEPTION_HANDLED, minutes=15),
    ],
)


# ---------------------------------------------------------------------------------------------
# Due times and breaches


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def limit_for(
    config: SlaConfig,
    current_node: str,
    service_type: str,
    *,
    region: str,
    core_provider: bool,
    online: bool,
) -> tuple[str, timedelta] | None:
    """The next required node and its adjusted limit, or None when no limit applies.

    Remote regions get ``remote_extra_pct`` more time, core providers ``core_stricter_pct``
    less; both may apply (multiplied). Rounded half-up to whole seconds, in integers so the
    result never depends on float rounding.
    """
    node = next_node(current_node, online=online)
    if node is None:
        return None
    minutes = config.limit_minutes(node, service_type)
    if minutes is None:
        return None
    scaled = minutes * 60 * 10_000  # seconds, times 100 * 100 for the two percentages
    if config.is_remote(region):
        scaled = scaled * (100 + config.remote_extra_pct) // 100
    if core_provider:
        scaled = scaled * (100 - config.core_stricter_pct) // 100
    seconds = (scaled + 5_000) // 10_000
    return node, timedelta(seconds=seconds)


def due_at(
    config: SlaConfig,
    current_node: str,
    service_type: str,
    entered_at: datetime,
    *,
    region: str,
    core_provider: bool,
    online: bool,
) -> tuple[str, datetime] | None:
    """The next required node and when it is due, counted from entering ``current_node``."""
    _require_aware(entered_at, "entered_at")
    found = limit_for(config, current_node, service_type, region=region, core_provider=core_provider, online=online)
    if found is None:
        return None
    node, limit = found
    return node, entered_at + limit


def is_breached(due: datetime, now: datetime) -> bool:
    """A breach is strictly after the due time: an order handled exactly at ``due`` is on time."""
    return now > due


def format_duration(value: timedelta) -> str:
    """Compact human duration: '2h 5m', '35m 12s', '0s'."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return sign + (" ".join(parts) or "0s")


def alert_text(
    order_id: str,
    service_type: str,
    node: str,
    elapsed: timedelta,
    limit: timedelta,
    mention: list[str],
) -> str:
    """One chat line for a breach: which order, what it waits for, how late, who must act."""
    over = elapsed - limit
    text = (
        f"SLA breach: work order {order_id} ({service_type}) has waited {format_duration(elapsed)} "
        f"for '{node}' (limit {format_duration(limit)}, {format_duration(over)} over)."
    )
    tags = [m if m.startswith(("@", "<")) else f"@{m}" for m in mention if m.strip()]
    return f"{text} {' '.join(tags)}" if tags else text


class OpenWorkOrder(BaseModel):
    """A work order not yet completed, as the SLA check and the nightly summary see it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    provider_id: str
    service_type: str
    node: str
    entered_at: AwareDatetime  # when the order entered ``node``
    created_at: AwareDatetime
    owner: str = ""  # who follows the order up (ops person), shown in summaries
    # Inputs of the due-time adjustment; default: not remote, not core, offline.
    region: str = ""
    core_provider: bool = False
    online: bool = False


class SlaBreach(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    provider_id: str
    service_type: str
    node: str  # the node that is late
    entered_at: AwareDatetime
    due_at: AwareDatetime
    limit: timedelta
    detected_at: AwareDatetime
    region: str = ""

    @property
    def elapsed(self) -> timedelta:
        return self.detected_at - self.entered_at


def _order_due(config: SlaConfig, order: OpenWorkOrder) -> tuple[str, timedelta] | None:
    return limit_for(
        config,
        order.node,
        order.service_type,
        region=order.region,
        core_provider=order.core_provider,
        online=order.online,
    )


def detect_breaches(orders: Iterable[OpenWorkOrder], now: datetime, config: SlaConfig = DEFAULT_SLA) -> list[SlaBreach]:
    """Every open order past its due time at ``now``. Alert de-duplication is the caller's job."""
    _require_aware(now, "now")
    found = []
    for order in orders:
        limit = _order_due(config, order)
        if limit is None:
            continue
        node, span = limit
        due = order.entered_at + span
        if is_breached(due, now):
            found.append(
                SlaBreach(
                    order_id=order.order_id,
                    provider_id=order.provider_id,
                    service_type=order.service_type,
                    node=node,
                    entered_at=order.entered_at,
                    due_at=due,
                    limit=span,
                    detected_at=now,
                    region=order.region,
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# Nightly summary


class SummaryLine(BaseModel):
    order_id: str
    service_type: str
    node: str
    owner: str
    created_at: AwareDatetime
    entered_at: AwareDatetime
    waiting: timedelta  # time in the current node
    age: timedelta  # time since the order was created


class ProviderSummary(BaseModel):
    provider_id: str
    total: int
    by_node: dict[str, int]
    orders: list[SummaryLine]  # longest waiting first


class Summary(BaseModel):
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
    _require_aware(now, "now")
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


def summary_text(summary: Summary, provider_id: str | None = None) -> str:
    """Chat/e-mail text: everything (ops), or one provider's own orders (``provider_id``)."""
    stamp = summary.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    if provider_id is not None:
        selected = [p for p in summary.providers if p.provider_id == provider_id]
        if not selected:
            return f"Open work orders for {provider_id} at {stamp}: none."
        head = f"Open work orders for {provider_id} at {stamp}: {selected[0].total}."
    else:
        selected = summary.providers
        if not summary.total:
            return f"Open work orders at {stamp}: none."
        head = f"Open work orders at {stamp}: {summary.total} ({_counts_text(summary.by_node)})."
    lines = [head]
    for p in selected:
        lines.append(f"{p.provider_id}: {p.total} open ({_counts_text(p.by_node)})")
        for o in p.orders:
            owner = f", owner {o.owner}" if o.owner else ""
            lines.append(
                f"- {o.order_id} {o.service_type}: at {o.node} for {format_duration(o.waiting)}, "
                f"open {format_duration(o.age)}{owner}"
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


class NodeEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    provider_id: str
    region: str
    service_type: str
    node: str
    at: AwareDatetime


class ProviderDayStats(BaseModel):
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

    history: dict[tuple[str, str], list[NodeEvent]] = defaultdict(list)
    day_orders: dict[str, set[str]] = defaultdict(set)
    day_regions: dict[str, Counter[str]] = defaultdict(Counter)
    for ev in events:
        history[(ev.provider_id, ev.order_id)].append(ev)
        if on_day(ev.at):
            day_orders[ev.provider_id].add(ev.order_id)
            day_regions[ev.provider_id][ev.region] += 1

    day_breaches: dict[str, list[SlaBreach]] = defaultdict(list)
    for b in breaches:
        if on_day(b.due_at):
            day_breaches[b.provider_id].append(b)
            day_orders[b.provider_id].add(b.order_id)
            if b.region:
                day_regions[b.provider_id][b.region] += 1

    response: dict[str, list[float]] = defaultdict(list)
    processing: dict[str, list[float]] = defaultdict(list)
    accepted_n: Counter[str] = Counter()
    completed_n: Counter[str] = Counter()
    for (provider_id, _), evs in history.items():
        evs.sort(key=lambda e: e.at)
        accepted = next((e.at for e in evs if e.node == ACCEPTED), None)
        completed = next((e.at for e in evs if e.node == COMPLETED), None)
        if accepted is not None and on_day(accepted):
            accepted_n[provider_id] += 1
            assigned = [e.at for e in evs if e.node == ASSIGNED and e.at <= accepted]
            if assigned:
                response[provider_id].append(_span_minutes(assigned[-1], accepted))
        if completed is not None and on_day(completed):
            completed_n[provider_id] += 1
            if accepted is not None and accepted <= completed:
                processing[provider_id].append(_span_minutes(accepted, completed))

    rows = []
    for provider_id in sorted(day_orders):
        orders = len(day_orders[provider_id])
        breached = day_breaches[provider_id]
        regions = day_regions[provider_id]
        region = min(regions, key=lambda r: (-regions[r], r)) if regions else ""
        rows.append(
            ProviderDayStats(
                day=day,
                provider_id=provider_id,
                region=region,
                orders=orders,
                accepted=accepted_n[provider_id],
                completed=completed_n[provider_id],
                response_p50=percentile(response[provider_id], 50),
                response_p90=percentile(response[provider_id], 90),
                processing_p50=percentile(processing[provider_id], 50),
                processing_p90=percentile(processing[provider_id], 90),
                breaches=len(breached),
                breach_rate=round(len({b.order_id for b in breached}) / orders, 4) if orders else 0.0,
                rank=0,
            )
        )
    return _ranked(rows)


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


class Snapshot(BaseModel):
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
    _require_aware(now, "now")
    orders = list(open_orders)
    buckets = dict.fromkeys(BUCKETS, 0)
    overdue: list[tuple[datetime, str]] = []
    for order in orders:
        limit = _order_due(config, order)
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
