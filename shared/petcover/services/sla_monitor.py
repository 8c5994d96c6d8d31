"""SLA monitoring: configuration, the minute check, work-order exceptions, the nightly summary, reports.

The rules are in ``petcover.domain.sla``; the timeline (``services.timeline``) keeps the nodes
and the open work orders with their due time. This module reads them and writes:

  SLACONFIG / CURRENT                 the live SlaConfig (data = its JSON, ``version``)
  SLACONFIG / V#{n:05d}               every stored version with who, when and why
  SLACHECK / STATE                    the minute check's checkpoint (``ref`` = last run, UTC ISO)
  WO#{order} / BREACH#{entered}#{node}  one per breach (gsi2 SLABREACHDAY#{local due day}, for reports)
  WO#{order} / EXC#{raised_at}        exceptions raised by providers and handled by ops
  SLAREPORT#{kind} / {id}             report index: daily and summary by local date, snapshots by
                                      date and time (2026-11-22T1430); the files live in the document
                                      bucket under reports/{kind}/...

Alerts go through ``alerts.raise_alert`` with a dedupe key, so a check that runs twice (or two
checks that overlap) alerts once per breach.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from petcover.config import get_settings
from petcover.domain import chart, sla
from petcover.domain.chat import ChatTarget
from petcover.errors import Conflict, IllegalTransition, InvalidInput, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.sla import (
    CurrentNode,
    EffectiveLimit,
    ExceptionHandled,
    ExceptionRaise,
    ReportEntry,
    ReportFile,
    ReportFormat,
    ReportKind,
    ReportList,
    ReportQuery,
    SlaConfigSaved,
    SlaConfigUpdate,
    SlaConfigVersion,
    SlaConfigView,
    WorkOrderException,
    WorkOrderTimeline,
)
from petcover.observability import logger
from petcover.ports import BlobStore, Item, Ports, Put
from petcover.services import alerts, audit, locks, timeline

CONFIG_PK = "SLACONFIG"
CURRENT_SK = "CURRENT"
CHECK_KEY = ("SLACHECK", "STATE")
DUE_PK = "DUE"  # gsi3 partition the timeline keeps for open orders with a due time
WORK_ORDER_LOCK = "FUL"  # fulfilment's per-order lock module: a work order's nodes are recorded under it

# The minute check reads what fell due since its last run, minus an overlap for late index
# writes and back-dated nodes; after an outage it catches up at most this far back.
CHECK_OVERLAP = timedelta(minutes=10)
CHECK_MAX_LOOKBACK = timedelta(hours=24)
CHECK_PAGE = 500

TREND_DAYS = 14
SNAPSHOT_TTL = timedelta(days=90)
CHAT_TEXT_LIMIT = 3800  # below alerts.MAX_TEXT_CHARS, leaving room for the "more" note
SUPPORTED_CHAT = ("dingtalk", "slack")  # formats domain.chat renders; others fall back to ops

ChatLookup = Callable[[Ports, str], ChatTarget | None]


class SlaCheckIncomplete(RuntimeError):
    """Some breaches could not be recorded or alerted; the checkpoint stays so the next run retries."""


def business_tz() -> tzinfo:
    return ZoneInfo(get_settings().timezone)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _blobs(p: Ports) -> BlobStore:
    if p.blobs is None:
        raise RuntimeError("SLA reports need a blob store (the document bucket)")
    return p.blobs


def _all(fetch: Callable[[str | None], Any]) -> Iterator[Item]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        cursor = page.cursor
        if not cursor:
            return


# ---------------------------------------------------------------- configuration

REGION_PREFIX = re.compile(r"^\d{2}(?:\d{2}(?:\d{2})?)?$")
SERVICE_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The node a limit counts from (and whether that flow is online), to show effective limits.
_COUNTS_FROM: dict[str, tuple[str, bool]] = {
    sla.ACCEPTED: (sla.ASSIGNED, False),
    sla.APPOINTMENT_CONFIRMED: (sla.ACCEPTED, False),
    sla.SHIPPED: (sla.ACCEPTED, True),
    sla.SERVED: (sla.APPOINTMENT_CONFIRMED, False),
    sla.COMPLETED: (sla.SERVED, False),
    sla.EXCEPTION_HANDLED: (sla.EXCEPTION_RAISED, False),
}


def region_prefix(code: str) -> str | None:
    """A GB/T 2260 code or prefix as the prefix ``is_remote`` matches: '540000' -> '54',
    '650100' -> '6501', '650102' and '6501' unchanged; None when it is not one."""
    c = code.strip()
    if not REGION_PREFIX.match(c):
        return None
    if len(c) == 6 and c.endswith("0000"):
        return c[:2]
    if len(c) == 6 and c.endswith("00"):
        return c[:4]
    return c


def validate_config(body: SlaConfigUpdate, version: int) -> sla.SlaConfig:
    """The domain's rules plus the platform's: known service-type shape, real region codes."""
    errors: list[dict[str, str]] = []
    for i, limit in enumerate(body.limits):
        if limit.service_type != sla.ANY_SERVICE and not SERVICE_TYPE.match(limit.service_type):
            errors.append(
                {
                    "field": f"limits.{i}.service_type",
                    "message": f"'{limit.service_type}' is not a service type (lowercase letters, digits, _) or '*'",
                }
            )
    prefixes: list[str] = []
    for i, code in enumerate(body.remote_regions):
        prefix = region_prefix(code)
        if prefix is None:
            errors.append(
                {
                    "field": f"remote_regions.{i}",
                    "message": f"'{code}' is not a region code or prefix (2, 4 or 6 digits, GB/T 2260)",
                }
            )
        else:
            prefixes.append(prefix)
    try:
        config = sla.parse_sla_config(
            {
                "version": version,
                "limits": [limit.model_dump() for limit in body.limits],
                "remote_extra_pct": body.remote_extra_pct,
                "core_stricter_pct": body.core_stricter_pct,
                "remote_regions": prefixes,
            }
        )
    except InvalidInput as exc:
        errors.extend(exc.details or [])
        config = None
    if errors or config is None:
        raise InvalidInput("The SLA configuration is invalid.", code="INVALID_SLA_CONFIG", details=errors)
    return config


def _same_rules(a: sla.SlaConfig, b: sla.SlaConfig) -> bool:
    def canon(c: sla.SlaConfig) -> dict[str, Any]:
        data = c.model_dump(mode="json", exclude={"version"})
        data["limits"] = sorted(data["limits"], key=lambda lim: (lim["node"], lim["service_type"]))
        return data

    return canon(a) == canon(b)


def _version_sk(version: int) -> str:
    return f"V#{version:05d}"


def _current(p: Ports) -> tuple[sla.SlaConfig, Item | None]:
    item = p.store.get(CONFIG_PK, CURRENT_SK)
    if item is None:
        return sla.DEFAULT_SLA, None
    return sla.parse_sla_config(json.loads(item["data"])), item


def _builtin_version() -> SlaConfigVersion:
    return SlaConfigVersion(
        version=sla.DEFAULT_SLA.version, at="", by="system", reason="built-in default", config=sla.DEFAULT_SLA
    )


def _load_version(p: Ports, version: int) -> SlaConfigVersion | None:
    item = p.store.get(CONFIG_PK, _version_sk(version))
    return SlaConfigVersion.model_validate_json(item["data"]) if item else None


def _adjusted_seconds(config: sla.SlaConfig, limit: sla.SlaLimit, *, remote: bool, core: bool) -> int:
    current, online = _COUNTS_FROM[limit.node]
    probe = config.model_copy(update={"remote_regions": ["~REMOTE"]})  # a region that is surely remote
    found = sla.limit_for(
        probe,
        current,
        limit.service_type,
        region="~REMOTE" if remote else "",
        core_provider=core,
        online=online,
    )
    return int(found[1].total_seconds()) if found else 0


def effective_limits(config: sla.SlaConfig) -> list[EffectiveLimit]:
    """Each limit in seconds, plain and with the remote / core adjustments (and both)."""
    return [
        EffectiveLimit(
            node=limit.node,
            service_type=limit.service_type,
            base_seconds=_adjusted_seconds(config, limit, remote=False, core=False),
            remote_seconds=_adjusted_seconds(config, limit, remote=True, core=False),
            core_seconds=_adjusted_seconds(config, limit, remote=False, core=True),
            remote_core_seconds=_adjusted_seconds(config, limit, remote=True, core=True),
        )
        for limit in config.limits
    ]


def get_config(p: Ports, versions: int = 20) -> SlaConfigView:
    config, item = _current(p)
    page = p.store.query(CONFIG_PK, sk_prefix="V#", descending=True, limit=versions)
    stored = [SlaConfigVersion.model_validate_json(i["data"]) for i in page.items]
    latest = next((v for v in stored if v.version == config.version), None)
    return SlaConfigView(
        current=config,
        is_default=item is None,
        updated_at=latest.at if latest else None,
        updated_by=latest.by if latest else None,
        effective=effective_limits(config),
        versions=stored,
    )


def put_config(p: Ports, who: Principal | str, body: SlaConfigUpdate) -> SlaConfigSaved:
    """Store a new version and make it current, in one transaction; audited."""
    current, item = _current(p)
    if body.expected_version is not None and body.expected_version != current.version:
        raise Conflict(
            f"The SLA configuration is at version {current.version}, not {body.expected_version}; "
            "reload it and apply your change again.",
            code="SLA_CONFIG_CHANGED",
            details={"current_version": current.version},
        )
    version = current.version + 1
    config = validate_config(body, version)
    if _same_rules(config, current):
        existing = _load_version(p, current.version) if item is not None else None
        return SlaConfigSaved(changed=False, version=existing or _builtin_version())

    actor = audit.actor_name(who)
    now = _iso(p.now())
    record = SlaConfigVersion(version=version, at=now, by=actor, reason=body.reason, config=config)
    current_item: Item = {
        "pk": CONFIG_PK,
        "sk": CURRENT_SK,
        "kind": "sla_config",
        "version": version,
        "owner": actor,
        "data": config.model_dump_json(),
    }
    try:
        p.store.transact(
            [
                Put(
                    {
                        "pk": CONFIG_PK,
                        "sk": _version_sk(version),
                        "kind": "sla_config_version",
                        "version": version,
                        "data": record.model_dump_json(),
                    },
                    if_absent=True,
                ),
                Put(current_item, if_absent=True)
                if item is None
                else Put(current_item, expect=[("version", "=", current.version)]),
            ]
        )
    except StaleWrite:
        raise Conflict(
            "The SLA configuration was changed by someone else meanwhile; reload it and try again.",
            code="SLA_CONFIG_CHANGED",
        ) from None
    audit.record(
        p,
        who,
        "sla_config",
        "current",
        "updated",
        before=current.model_dump(mode="json"),
        after=config.model_dump(mode="json"),
        request_id=f"sla-config-v{version}",
        reason=body.reason,
    )
    logger.info("sla config updated", extra={"version": version, "actor": actor})
    return SlaConfigSaved(changed=True, version=record)


# ---------------------------------------------------------------- chat targets


def provider_chat_target(p: Ports, provider_id: str) -> ChatTarget | None:
    """The provider's alert group from its live configuration; None: send to the ops group.

    The first contact with a chat kind we can format (DingTalk robot or Slack-compatible) picks
    the group; every contact on that same webhook is mentioned. WeCom and Feishu robots speak
    other formats, so their providers' alerts go to the ops group.
    """
    from petcover.services import partners

    cfg = partners.active_provider_config(p, provider_id)
    if cfg is None:
        return None
    usable = [c for c in cfg.contacts if c.channel in SUPPORTED_CHAT]
    if not usable:
        return None
    first = usable[0]
    mention = list(dict.fromkeys(c.mention for c in usable if c.webhook_url == first.webhook_url and c.mention))
    return ChatTarget(kind=first.channel, url=first.webhook_url, mention=mention)  # type: ignore[arg-type]


def _text_mentions(target: ChatTarget | None) -> list[str]:
    # DingTalk shows an @mobile only when it is in the text (atMobiles makes it notify);
    # Slack's renderer already puts <@user> in front of the text.
    return list(target.mention) if target is not None and target.kind == "dingtalk" else []


def _routed(target: ChatTarget | None) -> bool:
    return target is not None or alerts.ops_target() is not None


# ---------------------------------------------------------------- the minute check


def _due_between(p: Ports, since: datetime, until: datetime) -> Iterator[tuple[sla.OpenWorkOrder, str, datetime]]:
    """Open orders whose due time is in [since, until] from the timeline's due index (gsi3)."""
    for item in _all(
        lambda c: p.store.query(
            DUE_PK, index="gsi3", sk_gte=_iso(since), sk_lte=_iso(until), limit=CHECK_PAGE, cursor=c
        )
    ):
        try:
            wo = sla.OpenWorkOrder.model_validate_json(item["data"])
            due = datetime.fromisoformat(str(item["gsi3sk"]).split("#", 1)[0])
            late = str(item.get("ref") or "") or sla.next_node(wo.node, online=wo.online) or ""
        except (ValidationError, ValueError, KeyError):
            # One unreadable item must not stop every other alert.
            logger.exception("unreadable open work order in the due index", extra={"pk": item.get("pk")})
            continue
        yield wo, late, due


def breach_dedupe_key(wo: sla.OpenWorkOrder) -> str:
    return f"sla#{wo.order_id}#{wo.node}#{wo.entered_at.isoformat()}"


def _record_breach(p: Ports, breach: sla.SlaBreach, tz: tzinfo) -> bool:
    """One item per breach (the daily report counts them); False when it was already recorded."""
    try:
        p.store.put(
            {
                "pk": f"WO#{breach.order_id}",
                "sk": f"BREACH#{breach.entered_at.isoformat()}#{breach.node}",
                "kind": "sla_breach",
                "gsi2pk": f"SLABREACHDAY#{breach.due_at.astimezone(tz).date().isoformat()}",
                "gsi2sk": f"{breach.provider_id}#{_iso(breach.due_at)}#{breach.order_id}",
                "data": breach.model_dump_json(),
            },
            if_absent=True,
        )
        return True
    except StaleWrite:
        return False


def _alert_breach(
    p: Ports, wo: sla.OpenWorkOrder, late: str, due: datetime, now: datetime, target: ChatTarget | None
) -> bool:
    limit = due - wo.entered_at
    text = sla.alert_text(wo.order_id, wo.service_type, late, now - wo.entered_at, limit, _text_mentions(target))
    if target is None:
        text = f"[provider {wo.provider_id}] {text}"
    return alerts.raise_alert(p, target=target, text=text, dedupe_key=breach_dedupe_key(wo))


def check_breaches(p: Ports, *, chat: ChatLookup = provider_chat_target) -> dict[str, int]:
    """Alert once for every open work order past due at its current node.

    Reads only what fell due since the last run (the due-time index, never a scan). Breaches
    waiting for ``exception_handled`` go to the ops group: ops handles exceptions.
    """
    now = p.now().astimezone(UTC)
    tz = business_tz()
    state = p.store.get(*CHECK_KEY)
    since = now - CHECK_MAX_LOOKBACK
    if state is not None and state.get("ref"):
        since = max(since, datetime.fromisoformat(str(state["ref"])) - CHECK_OVERLAP)

    targets: dict[str, ChatTarget | None] = {}

    def target_of(provider_id: str) -> ChatTarget | None:
        if provider_id not in targets:
            try:
                targets[provider_id] = chat(p, provider_id)
            except Exception:
                logger.exception("provider chat lookup failed; alerting the ops group", extra={"provider": provider_id})
                targets[provider_id] = None
        return targets[provider_id]

    result = {"due": 0, "breaches": 0, "recorded": 0, "alerted": 0, "duplicates": 0, "unrouted": 0, "failed": 0}
    for wo, late, due in _due_between(p, since, now):
        result["due"] += 1
        if not late or not sla.is_breached(due, now):
            continue  # exactly at the due time is on time
        result["breaches"] += 1
        try:
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
            result["recorded"] += _record_breach(p, breach, tz)
            target = None if late == sla.EXCEPTION_HANDLED else target_of(wo.provider_id)
            if not _routed(target):
                result["unrouted"] += 1
                logger.warning("sla breach has nowhere to go (no provider group, no OPS_CHAT_URL)")
                continue
            if _alert_breach(p, wo, late, due, now, target):
                result["alerted"] += 1
            else:
                result["duplicates"] += 1
        except Exception:
            result["failed"] += 1
            logger.exception("sla breach not alerted", extra={"order_id": wo.order_id, "node": late})

    if result["failed"]:
        # Keep the checkpoint: the next run reads these again (the dedupe keys stop repeats).
        raise SlaCheckIncomplete(f"{result['failed']} of {result['breaches']} breaches failed; see the log")
    with contextlib.suppress(StaleWrite):  # an overlapping run already moved the checkpoint further
        p.store.put(
            {
                "pk": CHECK_KEY[0],
                "sk": CHECK_KEY[1],
                "kind": "sla_check",
                "ref": _iso(now),
                "data": json.dumps(result),
            },
            expect=[("ref", "<?", _iso(now))],
        )
    return result


# ---------------------------------------------------------------- timeline and exceptions


def _order_items(p: Ports, order_id: str) -> list[Item]:
    return list(_all(lambda c: p.store.query(f"WO#{order_id}", limit=200, cursor=c)))


def _exception(item: Item) -> WorkOrderException:
    return WorkOrderException.model_validate_json(item["data"])


def work_order_timeline(p: Ports, order_id: str) -> WorkOrderTimeline:
    items = _order_items(p, order_id)
    nodes = sorted(
        (sla.NodeEvent.model_validate_json(i["data"]) for i in items if str(i["sk"]).startswith("NODE#")),
        key=lambda e: e.at,
    )
    open_item = next((i for i in items if i["sk"] == "OPEN"), None)
    if not nodes and open_item is None:
        raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")
    current = None
    if open_item is not None:
        wo = sla.OpenWorkOrder.model_validate_json(open_item["data"])
        provider_id, service_type, region = wo.provider_id, wo.service_type, wo.region
        due = datetime.fromisoformat(str(open_item["gsi3sk"]).split("#", 1)[0]) if open_item.get("gsi3sk") else None
        now = p.now()
        current = CurrentNode(
            node=wo.node,
            entered_at=wo.entered_at,
            next_node=str(open_item.get("ref") or "") or sla.next_node(wo.node, online=wo.online),
            due_at=due,
            overdue=sla.is_breached(due, now) if due else False,
            remaining_seconds=int((due - now).total_seconds()) if due else None,
        )
    else:
        last = nodes[-1]
        provider_id, service_type, region = last.provider_id, last.service_type, last.region
    return WorkOrderTimeline(
        order_id=order_id,
        provider_id=provider_id,
        service_type=service_type,
        region=region,
        open=open_item is not None,
        current=current,
        nodes=nodes,
        breaches=sorted(
            (sla.SlaBreach.model_validate_json(i["data"]) for i in items if str(i["sk"]).startswith("BREACH#")),
            key=lambda b: b.due_at,
        ),
        exceptions=[_exception(i) for i in items if str(i["sk"]).startswith("EXC#")],
    )


def _open_order(p: Ports, order_id: str) -> sla.OpenWorkOrder:
    item = p.store.get(f"WO#{order_id}", "OPEN")
    if item is not None:
        return sla.OpenWorkOrder.model_validate_json(item["data"])
    if p.store.query(f"WO#{order_id}", sk_prefix="NODE#", limit=1).items:
        raise IllegalTransition(
            f"Work order {order_id} is already closed; exceptions can no longer be raised or handled.",
            code="WORK_ORDER_CLOSED",
        )
    raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")


def _advance(p: Ports, wo: sla.OpenWorkOrder, node: str, at: datetime) -> None:
    timeline.record(
        p,
        order_id=wo.order_id,
        provider_id=wo.provider_id,
        node=node,
        service_type=wo.service_type,
        region=wo.region,
        online=wo.online,
        core_provider=wo.core_provider,
        owner=wo.owner,
        at=at,
    )


def raise_exception(p: Ports, who: Principal, order_id: str, body: ExceptionRaise) -> WorkOrderException:
    """A provider reports a problem with its work order: the order enters ``exception_raised``
    (ops must handle it within the SLA) and the ops group hears about it at once.

    Runs under the order's fulfilment lock, so the node never interleaves with fulfilment's."""
    with locks.held(p, order_id, WORK_ORDER_LOCK):
        record, wo = _raise(p, who, order_id, body)
    try:
        alerts.raise_alert(
            p,
            target=None,
            text=(
                f"Work order {order_id} ({wo.service_type}, provider {wo.provider_id}): exception raised at "
                f"'{wo.node}': {body.reason}"
            ),
            dedupe_key=f"woexc#{order_id}#{record.raised_at}",
        )
    except Exception:
        # Recorded anyway: the minute check alerts ops if it is not handled in time.
        logger.exception("exception alert not queued", extra={"order_id": order_id})
    return record


def _raise(
    p: Ports, who: Principal, order_id: str, body: ExceptionRaise
) -> tuple[WorkOrderException, sla.OpenWorkOrder]:
    try:
        wo = _open_order(p, order_id)
    except IllegalTransition:
        if who.kind == "provider" and not _belongs_to(p, order_id, who.id):
            raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND") from None
        raise
    if who.kind == "provider" and wo.provider_id != who.id:
        raise NotFound(f"There is no work order {order_id}.", code="WORK_ORDER_NOT_FOUND")
    if wo.node == sla.EXCEPTION_RAISED:
        raise IllegalTransition(
            f"Work order {order_id} already has an open exception; ops is handling it.",
            code="EXCEPTION_ALREADY_RAISED",
        )
    now = p.now()
    record = WorkOrderException(
        order_id=order_id,
        state="open",
        raised_at=_iso(now),
        raised_by=audit.actor_name(who),
        reason=body.reason,
        node_before=wo.node,
    )
    p.store.put(
        {
            "pk": f"WO#{order_id}",
            "sk": f"EXC#{record.raised_at}",
            "kind": "wo_exception",
            "state": "open",
            "data": record.model_dump_json(),
        },
        if_absent=True,
    )
    _advance(p, wo, sla.EXCEPTION_RAISED, now)
    audit.record(p, who, "work_order", order_id, "exception_raised", after=record.model_dump(mode="json"))
    return record, wo


def _belongs_to(p: Ports, order_id: str, provider_id: str) -> bool:
    page = p.store.query(f"WO#{order_id}", sk_prefix="NODE#", limit=1)
    return any(sla.NodeEvent.model_validate_json(i["data"]).provider_id == provider_id for i in page.items)


def handle_exception(p: Ports, who: Principal | str, order_id: str, body: ExceptionHandled) -> WorkOrderException:
    """Ops closes the open exception: the order enters ``exception_handled`` (under the order's lock)."""
    with locks.held(p, order_id, WORK_ORDER_LOCK):
        return _handle(p, who, order_id, body)


def _handle(p: Ports, who: Principal | str, order_id: str, body: ExceptionHandled) -> WorkOrderException:
    wo = _open_order(p, order_id)
    if wo.node != sla.EXCEPTION_RAISED:
        raise IllegalTransition(
            f"Work order {order_id} has no open exception (it is at '{wo.node}').", code="NO_OPEN_EXCEPTION"
        )
    now = p.now()
    actor = audit.actor_name(who)
    open_items = [
        i
        for i in _all(lambda c: p.store.query(f"WO#{order_id}", sk_prefix="EXC#", cursor=c))
        if i.get("state") == "open"
    ]
    handled: list[WorkOrderException] = []
    for item in open_items:
        done = _exception(item).model_copy(
            update={"state": "handled", "handled_at": _iso(now), "handled_by": actor, "resolution": body.resolution}
        )
        try:
            p.store.update(
                item["pk"],
                item["sk"],
                set={"state": "handled", "data": done.model_dump_json()},
                expect=[("state", "=", "open")],
                must_exist=True,
            )
        except StaleWrite:
            raise Conflict(
                f"The exception of work order {order_id} was handled by someone else just now.",
                code="EXCEPTION_ALREADY_HANDLED",
            ) from None
        handled.append(done)
    if not handled:  # raised without its record (an interrupted raise): keep a record of the handling
        done = WorkOrderException(
            order_id=order_id,
            state="handled",
            raised_at=_iso(wo.entered_at),
            raised_by="unknown",
            reason="(not recorded)",
            node_before=sla.EXCEPTION_RAISED,
            handled_at=_iso(now),
            handled_by=actor,
            resolution=body.resolution,
        )
        p.store.put(
            {
                "pk": f"WO#{order_id}",
                "sk": f"EXC#{done.raised_at}",
                "kind": "wo_exception",
                "state": "handled",
                "data": done.model_dump_json(),
            }
        )
        handled.append(done)
    _advance(p, wo, sla.EXCEPTION_HANDLED, now)
    latest = max(handled, key=lambda e: e.raised_at)
    audit.record(p, who, "work_order", order_id, "exception_handled", after=latest.model_dump(mode="json"))
    return latest


# ---------------------------------------------------------------- report index and files


class StoredReport(ReportEntry):
    keys: dict[str, str]
    legend: dict[str, str] | None = None


def _report_pk(kind: str) -> str:
    return f"SLAREPORT#{kind}"


def _put_report(p: Ports, report: StoredReport, expires_at: int | None = None) -> None:
    item: Item = {
        "pk": _report_pk(report.kind),
        "sk": report.id,
        "kind": "sla_report",
        "data": report.model_dump_json(),
    }
    if expires_at is not None:
        item["expires_at"] = expires_at
    p.store.put(item)


def _entry(report: StoredReport) -> ReportEntry:
    return ReportEntry.model_validate(report.model_dump(include=set(ReportEntry.model_fields)))


def list_reports(p: Ports, q: ReportQuery) -> ReportList:
    page = p.store.query(
        _report_pk(q.kind),
        sk_prefix=q.date,
        descending=q.date is None,
        limit=q.limit,
        cursor=q.cursor,
    )
    return ReportList(
        items=[_entry(StoredReport.model_validate_json(i["data"])) for i in page.items], cursor=page.cursor
    )


REPORT_ID = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{4})?$")
CONTENT_TYPES: dict[str, str] = {"csv": "text/csv", "json": "application/json", "png": "image/png"}


def get_report(p: Ports, kind: str, report_id: str, fmt: str) -> ReportFile:
    errors = []
    if kind not in ("daily", "snapshot", "summary"):
        errors.append({"field": "kind", "message": "must be daily, snapshot or summary"})
    if not REPORT_ID.match(report_id):
        errors.append({"field": "date", "message": "must be YYYY-MM-DD (snapshots: YYYY-MM-DDTHHMM)"})
    if fmt not in CONTENT_TYPES:
        errors.append({"field": "format", "message": "must be csv, json or png"})
    if errors:
        raise InvalidInput("Some path parameters are invalid.", code="VALIDATION_FAILED", details=errors)
    item = p.store.get(_report_pk(kind), report_id, consistent=False)
    if item is None:
        raise NotFound(f"There is no {kind} report {report_id}.", code="REPORT_NOT_FOUND")
    report = StoredReport.model_validate_json(item["data"])
    key = report.keys.get(fmt)
    if key is None:
        raise NotFound(
            f"The {kind} report {report_id} has no {fmt} file.",
            code="REPORT_FORMAT_NOT_AVAILABLE",
            details={"formats": report.formats},
        )
    content = _blobs(p).get_bytes(key)
    if content is None:
        raise NotFound(f"The {fmt} file of the {kind} report {report_id} is missing.", code="REPORT_FILE_MISSING")
    out_format: ReportFormat = fmt  # type: ignore[assignment]
    out_kind: ReportKind = kind  # type: ignore[assignment]
    if fmt == "png":
        return ReportFile(
            kind=out_kind,
            id=report_id,
            format=out_format,
            content_type=CONTENT_TYPES[fmt],
            key=key,
            base64=base64.b64encode(content).decode("ascii"),
            legend=report.legend,
        )
    return ReportFile(
        kind=out_kind,
        id=report_id,
        format=out_format,
        content_type=CONTENT_TYPES[fmt],
        key=key,
        text=content.decode("utf-8"),
    )


# ---------------------------------------------------------------- nightly summary


def fit_chat(text: str, more: str, limit: int = CHAT_TEXT_LIMIT) -> str:
    """Cut a long chat text at a line boundary and say where the rest is."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - len(more) - 40:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, f"... {len(lines) - len(kept)} more lines. {more}"])


def nightly_summary(p: Ports, *, chat: ChatLookup = provider_chat_target) -> dict[str, Any]:
    """Every open work order, per provider and overall: to each provider's group and the ops
    group, and kept as reports/summary/{date}.csv (+ .json) with an index item."""
    tz = business_tz()
    now = p.now()
    local = now.astimezone(tz)
    day = local.date().isoformat()
    summary = sla.build_summary(timeline.open_orders(p), local)

    blobs = _blobs(p)
    keys = {"csv": f"reports/summary/{day}.csv", "json": f"reports/summary/{day}.json"}
    blobs.put_bytes(keys["csv"], sla.summary_csv(summary).encode("utf-8"), "text/csv; charset=utf-8")
    blobs.put_bytes(keys["json"], summary.model_dump_json().encode("utf-8"), "application/json")
    _put_report(
        p,
        StoredReport(
            kind="summary",
            id=day,
            day=local.date(),
            generated_at=_iso(now),
            formats=["csv", "json"],
            stats={"total": summary.total, "providers": len(summary.providers), "by_node": summary.by_node},
            keys=keys,
        ),
    )

    more = f"Full list: GET /ops/sla/reports/summary/{day}/csv"
    sent = {"provider_groups": 0, "ops": 0, "duplicates": 0, "no_group": 0}
    for provider in summary.providers:
        try:
            target = chat(p, provider.provider_id)
        except Exception:
            logger.exception("provider chat lookup failed", extra={"provider": provider.provider_id})
            target = None
        if target is None:
            sent["no_group"] += 1  # the ops group's summary lists this provider's orders anyway
            continue
        text = fit_chat(sla.summary_text(summary, provider.provider_id), more="Ask ops for the full list.")
        if alerts.raise_alert(p, target=target, text=text, dedupe_key=f"slasummary#{day}#{provider.provider_id}"):
            sent["provider_groups"] += 1
        else:
            sent["duplicates"] += 1
    if alerts.raise_alert(
        p, target=None, text=fit_chat(sla.summary_text(summary), more), dedupe_key=f"slasummary#{day}#ops"
    ):
        sent["ops"] += 1
    return {"day": day, "open": summary.total, "providers": len(summary.providers), **sent}


# ---------------------------------------------------------------- in-flight snapshot


def take_snapshot(p: Ports) -> dict[str, Any]:
    """Counts of work in flight and time left before the next due, every half hour."""
    tz = business_tz()
    now = p.now()
    local = now.astimezone(tz)
    report_id = local.strftime("%Y-%m-%dT%H%M")
    snap = sla.inflight_snapshot(timeline.open_orders(p), now, timeline.current_config(p))
    key = f"reports/snapshot/{local:%Y-%m-%d}/{local:%H%M}.json"
    _blobs(p).put_bytes(key, snap.model_dump_json().encode("utf-8"), "application/json")
    stats = {
        "total": snap.total,
        "buckets": snap.buckets,
        "by_node": snap.by_node,
        "providers": len(snap.by_provider),
        "overdue": len(snap.overdue_orders),
    }
    _put_report(
        p,
        StoredReport(
            kind="snapshot",
            id=report_id,
            day=local.date(),
            generated_at=_iso(now),
            formats=["json"],
            stats=stats,
            keys={"json": key},
        ),
        expires_at=int((now + SNAPSHOT_TTL).timestamp()),
    )
    return {"id": report_id, **stats}


# ---------------------------------------------------------------- daily timeliness report


def _day_events(p: Ports, day: date, tz: tzinfo) -> list[sla.NodeEvent]:
    """Events of the local day plus the history the response/processing samples need.

    The timeline files events under the date of their own timestamp, so the local day spans
    the partitions of the day before, the day and the day after. An order accepted or completed
    that day whose earlier nodes are older than that is read in full (one query per such order).
    """
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    seen: set[tuple[str, str, str]] = set()
    by_order: dict[str, list[sla.NodeEvent]] = {}
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        for ev in timeline.day_events(p, d.isoformat()):
            marker = (ev.order_id, ev.node, ev.at.isoformat())
            if marker not in seen:
                seen.add(marker)
                by_order.setdefault(ev.order_id, []).append(ev)
    out: list[sla.NodeEvent] = []
    for order_id, evs in by_order.items():
        nodes = {e.node for e in evs}
        in_day = {e.node for e in evs if start <= e.at < end}
        needs_history = (sla.ACCEPTED in in_day and sla.ASSIGNED not in nodes) or (
            sla.COMPLETED in in_day and sla.ACCEPTED not in nodes
        )
        out.extend(timeline.nodes(p, order_id) if needs_history else evs)
    return out


def _day_breaches(p: Ports, day: date) -> list[sla.SlaBreach]:
    return [
        sla.SlaBreach.model_validate_json(i["data"])
        for i in _all(lambda c: p.store.query(f"SLABREACHDAY#{day.isoformat()}", index="gsi2", limit=500, cursor=c))
    ]


def _regroup(
    events: Iterable[sla.NodeEvent], breaches: Iterable[sla.SlaBreach], key: Callable[[str], str], by_region: bool
) -> tuple[list[sla.NodeEvent], list[sla.SlaBreach]]:
    def name(provider_id: str, region: str) -> str:
        return key(region or "unknown") if by_region else key(provider_id)

    return (
        [e.model_copy(update={"provider_id": name(e.provider_id, e.region)}) for e in events],
        [b.model_copy(update={"provider_id": name(b.provider_id, b.region)}) for b in breaches],
    )


def daily_csv(
    providers: list[sla.ProviderDayStats], regions: list[sla.ProviderDayStats], overall: list[sla.ProviderDayStats]
) -> str:
    """The domain's report CSV with a scope column: provider rows, then region rows, then overall."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_written = False
    for scope, rows in (("provider", providers), ("region", regions), ("overall", overall)):
        parsed = list(csv.reader(io.StringIO(sla.report_csv(rows))))
        header, body = parsed[0], parsed[1:]
        if not header_written:
            writer.writerow(["scope", *header])
            header_written = True
        who = header.index("provider_id")
        for row in body:
            if scope != "provider":
                row[who] = ""  # region rows carry the region in the region column; overall none
            if scope == "overall":
                row[header.index("region")] = ""
            writer.writerow([scope, *row])
    return out.getvalue()


TREND_SERIES = ("breach_rate_pct", "response_p50_min", "response_p90_min", "processing_p90_h")


def _trend_point(overall: dict[str, Any]) -> dict[str, float | None]:
    def num(name: str) -> float | None:
        value = overall.get(name)
        return float(value) if value is not None else None

    rate = num("breach_rate")
    proc = num("processing_p90")
    return {
        "breach_rate_pct": round(rate * 100, 2) if rate is not None else None,
        "response_p50_min": num("response_p50"),
        "response_p90_min": num("response_p90"),
        "processing_p90_h": round(proc / 60, 2) if proc is not None else None,
    }


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def trend_png(points: list[tuple[str, dict[str, Any]]]) -> tuple[bytes, dict[str, str]]:
    """PNG of the overall figures over the given (day, overall stats) points, and its legend."""
    series = {name: [_trend_point(stats)[name] for _, stats in points] for name in TREND_SERIES}
    legend = {name: _hex(chart.SERIES_COLOURS[i % len(chart.SERIES_COLOURS)]) for i, name in enumerate(series)}
    return chart.line_chart_png(series, [d for d, _ in points]), legend


def daily_timeliness(p: Ports, day: date | None = None) -> dict[str, Any]:
    """Per provider and per region, the day before (local): response and processing p50/p90,
    breach rate and rank; CSV, JSON and a trend PNG over the last TREND_DAYS daily reports."""
    tz = business_tz()
    now = p.now()
    day = day or now.astimezone(tz).date() - timedelta(days=1)
    events = _day_events(p, day, tz)
    breaches = _day_breaches(p, day)

    providers = sla.daily_report(events, day, tz, breaches)
    region_events, region_breaches = _regroup(events, breaches, lambda r: r, by_region=True)
    regions = sla.daily_report(region_events, day, tz, region_breaches)
    all_events, all_breaches = _regroup(events, breaches, lambda _: "ALL", by_region=False)
    overall_rows = sla.daily_report(all_events, day, tz, all_breaches)
    overall = (
        overall_rows[0].model_dump(mode="json", exclude={"provider_id", "region", "rank", "day"})
        if overall_rows
        else {"orders": 0, "accepted": 0, "completed": 0, "breaches": 0, "breach_rate": 0.0}
    )

    earlier = p.store.query(
        _report_pk("daily"), sk_lte=(day - timedelta(days=1)).isoformat(), descending=True, limit=TREND_DAYS - 1
    )
    points = [
        (r.id, dict(r.stats.get("overall") or {}))
        for r in reversed([StoredReport.model_validate_json(i["data"]) for i in earlier.items])
    ]
    points.append((day.isoformat(), overall))
    png, legend = trend_png(points)

    d = day.isoformat()
    keys = {"csv": f"reports/daily/{d}.csv", "json": f"reports/daily/{d}.json", "png": f"reports/daily/{d}.png"}
    document = {
        "day": d,
        "timezone": str(tz),
        "generated_at": _iso(now),
        "overall": overall,
        "providers": [r.model_dump(mode="json") for r in providers],
        "regions": [r.model_dump(mode="json") for r in regions],
    }
    blobs = _blobs(p)
    blobs.put_bytes(keys["csv"], daily_csv(providers, regions, overall_rows).encode("utf-8"), "text/csv; charset=utf-8")
    blobs.put_bytes(keys["json"], json.dumps(document, ensure_ascii=False).encode("utf-8"), "application/json")
    blobs.put_bytes(keys["png"], png, "image/png")
    ranking = [r.provider_id for r in providers]
    _put_report(
        p,
        StoredReport(
            kind="daily",
            id=d,
            day=day,
            generated_at=_iso(now),
            formats=["csv", "json", "png"],
            stats={
                "overall": overall,
                "providers": len(providers),
                "regions": len(regions),
                "best": ranking[:3],
                "worst": ranking[-3:][::-1] if len(ranking) > 3 else [],
                "trend_days": [pt[0] for pt in points],
            },
            keys=keys,
            legend=legend,
        ),
    )
    return {"day": d, "providers": len(providers), "regions": len(regions), **overall}


def day_from_event(event: dict[str, Any]) -> date | None:
    """A back-fill run may name the day: {"date": "2026-11-21"} (top level or in detail)."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    raw = event.get("date") or (detail or {}).get("date")
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput(f"'{raw}' is not a date (YYYY-MM-DD).", code="INVALID_DATE") from None
