"""Keys and items of SLA monitoring: its configuration, the minute check, breaches, exceptions, reports.

  SLACONFIG / CURRENT                 the live SlaConfig (data = its JSON, ``version``)
  SLACONFIG / V#{n:05d}               every stored version with who, when and why
  SLACHECK / STATE                    the minute check's checkpoint (``ref`` = last run, UTC ISO)
  WO#{order} / BREACH#{entered}#{node}  one per breach (gsi2 SLABREACHDAY#{local due day}, for reports)
  WO#{order} / EXC#{raised_at}        exceptions raised by providers and handled by ops
  SLAREPORT#{kind} / {id}             report index: daily and summary by local date, snapshots by
                                      date and time (2026-11-22T1430); the files live in the document
                                      bucket under reports/{kind}/...

Breaches and exceptions live in the work order's partition (``repositories.timeline``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from petcover.domain import calendar, sla
from petcover.models.sla import ReportEntry, SlaConfigVersion, WorkOrderException
from petcover.ports import Item, Store
from petcover.repositories import timeline
from petcover.repositories.base import paginate

CONFIG_PK = "SLACONFIG"
CURRENT_SK = "CURRENT"
VERSION_PREFIX = "V#"
CHECK_KEY = ("SLACHECK", "STATE")
BREACH_PREFIX = "BREACH#"
EXCEPTION_PREFIX = "EXC#"
BREACH_PAGE = 500
ORDER_PAGE = 200


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# ---------------------------------------------------------------- configuration


def config_key() -> tuple[str, str]:
    return CONFIG_PK, CURRENT_SK


def config_version_key(version: int) -> tuple[str, str]:
    return CONFIG_PK, f"{VERSION_PREFIX}{version:05d}"


def load_config(item: Item) -> sla.SlaConfig:
    return sla.parse_sla_config(json.loads(item["data"]))


def load_config_version(item: Item) -> SlaConfigVersion:
    return SlaConfigVersion.model_validate_json(item["data"])


def config_version_item(record: SlaConfigVersion) -> Item:
    pk, sk = config_version_key(record.version)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "sla_config_version",
        "version": record.version,
        "data": record.model_dump_json(),
    }


def current_config_item(config: sla.SlaConfig, actor: str) -> Item:
    pk, sk = config_key()
    return {
        "pk": pk,
        "sk": sk,
        "kind": "sla_config",
        "version": config.version,
        "owner": actor,
        "data": config.model_dump_json(),
    }


# ---------------------------------------------------------------- the minute check


def check_state_item(ref: str, result: dict[str, int]) -> Item:
    return {"pk": CHECK_KEY[0], "sk": CHECK_KEY[1], "kind": "sla_check", "ref": ref, "data": json.dumps(result)}


# ---------------------------------------------------------------- breaches


def breach_day_pk(day: date) -> str:
    """The gsi2 partition of the breaches that fell due on ``day`` (local date)."""
    return f"SLABREACHDAY#{day.isoformat()}"


def breach_item(breach: sla.SlaBreach) -> Item:
    return {
        "pk": timeline.work_order_pk(breach.order_id),
        "sk": f"{BREACH_PREFIX}{breach.entered_at.isoformat()}#{breach.node}",
        "kind": "sla_breach",
        "gsi2pk": breach_day_pk(calendar.day_of(breach.due_at)),
        "gsi2sk": f"{breach.provider_id}#{_iso(breach.due_at)}#{breach.order_id}",
        "data": breach.model_dump_json(),
    }


def load_breach(item: Item) -> sla.SlaBreach:
    return sla.SlaBreach.model_validate_json(item["data"])


def day_breaches(store: Store, day: date) -> list[sla.SlaBreach]:
    """Every breach that fell due on the local ``day``."""
    return [load_breach(i) for i in paginate(store, breach_day_pk(day), index="gsi2", limit=BREACH_PAGE)]


# ---------------------------------------------------------------- exceptions


def exception_item(record: WorkOrderException) -> Item:
    return {
        "pk": timeline.work_order_pk(record.order_id),
        "sk": f"{EXCEPTION_PREFIX}{record.raised_at}",
        "kind": "wo_exception",
        "state": record.state,
        "data": record.model_dump_json(),
    }


def load_exception(item: Item) -> WorkOrderException:
    return WorkOrderException.model_validate_json(item["data"])


def exception_items(store: Store, order_id: str) -> Iterator[Item]:
    return paginate(store, timeline.work_order_pk(order_id), sk_prefix=EXCEPTION_PREFIX)


# ---------------------------------------------------------------- one work order, whole


@dataclass(frozen=True)
class WorkOrderRecord:
    """Every item of one work order's partition, read back as models."""

    nodes: list[sla.NodeEvent]  # in time order
    open: Item | None  # the open work order (gsi3 due time and ``ref``); None once closed
    breaches: list[sla.SlaBreach]  # by due time
    exceptions: list[WorkOrderException]  # by raise time (their sort keys)


def work_order_record(store: Store, order_id: str) -> WorkOrderRecord:
    items = list(paginate(store, timeline.work_order_pk(order_id), limit=ORDER_PAGE))

    def starting(prefix: str) -> list[Item]:
        return [i for i in items if str(i["sk"]).startswith(prefix)]

    return WorkOrderRecord(
        nodes=sorted((timeline.load_node(i) for i in starting(timeline.NODE_PREFIX)), key=lambda e: e.at),
        open=next((i for i in items if i["sk"] == timeline.OPEN_SK), None),
        breaches=sorted((load_breach(i) for i in starting(BREACH_PREFIX)), key=lambda b: b.due_at),
        exceptions=[load_exception(i) for i in starting(EXCEPTION_PREFIX)],
    )


# ---------------------------------------------------------------- report index


class StoredReport(ReportEntry):
    """A report's index entry as stored: the listed entry plus its files' keys and chart legend."""

    keys: dict[str, str]
    legend: dict[str, str] | None = None

    def entry(self) -> ReportEntry:
        return ReportEntry.model_validate(self.model_dump(include=set(ReportEntry.model_fields)))


def report_pk(kind: str) -> str:
    return f"SLAREPORT#{kind}"


def report_item(report: StoredReport, expires_at: int | None = None) -> Item:
    item: Item = {"pk": report_pk(report.kind), "sk": report.id, "kind": "sla_report", "data": report.model_dump_json()}
    if expires_at is not None:
        item["expires_at"] = expires_at
    return item


def load_report(item: Item) -> StoredReport:
    return StoredReport.model_validate_json(item["data"])
