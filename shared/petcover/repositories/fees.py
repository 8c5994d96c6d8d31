"""Keys and items of the provider fee schedules.

FEESCHED#{service type} / SCHEDULE   the schedule with every version (one GetItem at fulfilment);
                                     version = the latest version number (publishes are conditional on it)
    gsi1 FEESCHEDS / {service type}  every schedule
FEESCHED#{service type} / V#{n}      each version as published (immutable)
FEEGAP#{work order} / GAP            a fulfilled order no schedule covered, reported once by reconciliation
"""

from __future__ import annotations

from petcover.domain.fees import FeeSchedule, FeeVersion
from petcover.ports import Cond, Item, Page, Put, Store, WriteOp
from petcover.repositories.base import dump, load


def schedule_key(service_type: str) -> tuple[str, str]:
    return f"FEESCHED#{service_type}", "SCHEDULE"


def gap_key(order_id: str) -> tuple[str, str]:
    return f"FEEGAP#{order_id}", "GAP"


def get_schedule(store: Store, service_type: str) -> FeeSchedule | None:
    item = store.get(*schedule_key(service_type), consistent=False)
    return load(FeeSchedule, item) if item else None


def publish_ops(schedule: FeeSchedule, version: FeeVersion) -> list[WriteOp]:
    pk, sk = schedule_key(schedule.service_type)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "fee_schedule",
        "version": version.version,
        "gsi1pk": SCHEDULES_PK,
        "gsi1sk": schedule.service_type,
        "data": dump(schedule),
    }
    expect: list[Cond] = [("version", "=", version.version - 1)] if version.version > 1 else []
    return [
        Put(item, if_absent=version.version == 1, expect=expect),
        Put({"pk": pk, "sk": f"V#{version.version:06d}", "kind": "fee_version", "data": dump(version)}, if_absent=True),
    ]


SCHEDULES_PK = "FEESCHEDS"


def schedules_page(store: Store, limit: int, cursor: str | None) -> Page:
    """Every fee schedule, by service type."""
    return store.query(SCHEDULES_PK, index="gsi1", limit=limit, cursor=cursor)


def schedule_of(item: Item) -> FeeSchedule:
    return load(FeeSchedule, item)


def gap_item(order_id: str, reported_on: str) -> Item:
    pk, sk = gap_key(order_id)
    return {"pk": pk, "sk": sk, "kind": "fee_gap", "state": reported_on}


def gap_reported_on(store: Store, order_id: str) -> str | None:
    item = store.get(*gap_key(order_id))
    return str(item["state"]) if item else None
