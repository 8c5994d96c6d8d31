"""SLA of work orders: nodes, configuration, due times and breaches (reports: ``sla_reports``).

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

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError, field_validator

from petcover.errors import InvalidInput
from petcover.models.base import Model

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


class SlaLimit(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    node: LimitNode
    service_type: Annotated[str, Field(min_length=1, max_length=64)] = ANY_SERVICE
    minutes: Annotated[int, Field(strict=True, gt=0, le=MAX_LIMIT_MINUTES)]


class SlaConfig(Model):
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


def require_aware(value: datetime, name: str) -> None:
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
    require_aware(entered_at, "entered_at")
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


class OpenWorkOrder(Model):
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


class SlaBreach(Model):
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


def order_limit(config: SlaConfig, order: OpenWorkOrder) -> tuple[str, timedelta] | None:
    """The node ``order`` waits for and its adjusted limit (``limit_for`` with the order's inputs)."""
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
    require_aware(now, "now")
    found = []
    for order in orders:
        limit = order_limit(config, order)
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


class NodeEvent(Model):
    model_config = ConfigDict(frozen=True)

    order_id: str
    provider_id: str
    region: str
    service_type: str
    node: str
    at: AwareDatetime
