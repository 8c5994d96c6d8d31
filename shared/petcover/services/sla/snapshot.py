"""Every half hour: a snapshot of work in flight (counts, time left before the next due), kept 90 days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from petcover.domain import calendar, sla_reports
from petcover.ports import Ports
from petcover.repositories.sla import StoredReport
from petcover.services import timeline
from petcover.services.sla.reports import report_files, store_report
from petcover.services.sla.times import iso

SNAPSHOT_TTL = timedelta(days=90)


def take_snapshot(p: Ports) -> dict[str, Any]:
    """Counts of work in flight and time left before the next due, every half hour."""
    now = p.now()
    local = calendar.local(now)
    report_id = local.strftime("%Y-%m-%dT%H%M")
    snap = sla_reports.inflight_snapshot(timeline.open_orders(p), now, timeline.current_config(p))
    key = f"reports/snapshot/{local:%Y-%m-%d}/{local:%H%M}.json"
    report_files(p).put_bytes(key, snap.model_dump_json().encode("utf-8"), "application/json")
    stats = {
        "total": snap.total,
        "buckets": snap.buckets,
        "by_node": snap.by_node,
        "providers": len(snap.by_provider),
        "overdue": len(snap.overdue_orders),
    }
    store_report(
        p,
        StoredReport(
            kind="snapshot",
            id=report_id,
            day=calendar.day_of(now),
            generated_at=iso(now),
            formats=["json"],
            stats=stats,
            keys={"json": key},
        ),
        expires_at=int((now + SNAPSHOT_TTL).timestamp()),
    )
    return {"id": report_id, **stats}
