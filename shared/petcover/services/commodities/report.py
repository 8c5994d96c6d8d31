"""Daily: each warehouse region's stock and the day's consumption (CSV, JSON and a PNG chart).

One row per region, SKU and provider: the counters as they stand when the job runs, and the day's
moves (units shipped, reserved, released). The chart shows units shipped per region over the
last TREND_DAYS reports. Files under reports/stock/{date}.*, listed and served by the SLA report
operations (kind ``stock``). The job also re-sends the low-stock alert of any row still flagged
low whose alert was never queued (the alert is deduplicated by its crossing, so never twice).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from petcover.domain import calendar, chart
from petcover.ports import Ports
from petcover.repositories import commodities as repo
from petcover.repositories import sla as report_keys
from petcover.repositories.sla import StoredReport
from petcover.services.commodities import stock
from petcover.services.sla.daily import day_from_event
from petcover.services.sla.reports import report_files, store_report

KIND = "stock"
TREND_DAYS = 14
MAX_SERIES = 6
HEADER = (
    "region",
    "sku",
    "name",
    "provider_id",
    "on_hand",
    "reserved",
    "available",
    "low_threshold",
    "low",
    "shipped",
    "reserved_today",
    "released_today",
)
# The chart's texts are English whatever PLATFORM_LANGUAGE says, like the SLA trend chart: the Lambda
# image has no CJK font, so Chinese glyphs would be drawn as boxes.
CHART_TITLE = "Units shipped per warehouse region, daily"
CHART_AXIS = "Units shipped"
CHART_X_LABEL = "Report day (local date, {tz})"

__all__ = ["daily_stock_report", "day_from_event"]


def _consumption(p: Ports, region: str, day: str) -> dict[tuple[str, str], dict[str, int]]:
    """(sku, provider) -> units shipped, reserved and released on ``day``."""
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"shipped": 0, "reserved": 0, "released": 0})
    for m in repo.day_moves(p.store, region, day):
        row = out[(m["sku"], m["provider_id"])]
        if m["kind"] == "ship":
            row["shipped"] += -int(m["on_hand"])
        elif m["kind"] == "reserve":
            row["reserved"] += int(m["reserved"])
        elif m["kind"] == "release":
            row["released"] += -int(m["reserved"])
    return out


def _region_rows(p: Ports, region: str, day: str) -> list[dict[str, Any]]:
    used = _consumption(p, region, day)
    rows = []
    for item in repo.region_stock(p.store, region):
        v = stock.view(item)
        provider_id = str(item["gsi2sk"]).split("#", 1)[1]
        moved = used.pop((v.sku, provider_id), {"shipped": 0, "reserved": 0, "released": 0})
        rows.append(
            {
                "region": region,
                "sku": v.sku,
                "name": v.name,
                "provider_id": provider_id,
                "on_hand": v.on_hand,
                "reserved": v.reserved,
                "available": v.available,
                "low_threshold": v.low_threshold,
                "low": v.low,
                "shipped": moved["shipped"],
                "reserved_today": moved["reserved"],
                "released_today": moved["released"],
            }
        )
        if v.low:
            stock.alert_low(p, item)  # deduplicated per crossing: a no-op unless the first send was lost
    return rows


def stock_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([str(r[h]).lower() if isinstance(r[h], bool) else r[h] for h in HEADER])
    return out.getvalue()


def _trend(p: Ports, day: date, shipped: dict[str, int]) -> list[tuple[str, dict[str, int]]]:
    earlier = p.store.query(
        report_keys.report_pk(KIND), sk_lte=(day - timedelta(days=1)).isoformat(), descending=True, limit=TREND_DAYS - 1
    )
    points = [
        (r.id, dict(r.stats.get("shipped_by_region") or {}))
        for r in reversed([report_keys.load_report(i) for i in earlier.items])
    ]
    return [*points, (day.isoformat(), shipped)]


def trend_png(points: list[tuple[str, dict[str, int]]]) -> tuple[bytes, dict[str, str]]:
    """Units shipped per region (the busiest MAX_SERIES regions) over the report days, and the legend."""
    totals: dict[str, int] = defaultdict(int)
    for _, by_region in points:
        for region, n in by_region.items():
            totals[region] += n
    regions = sorted(totals, key=lambda r: (-totals[r], r))[:MAX_SERIES] or ["-"]
    title, axis, x_label = CHART_TITLE, CHART_AXIS, CHART_X_LABEL
    legend = {r: chart.SERIES_COLOURS[i % len(chart.SERIES_COLOURS)] for i, r in enumerate(regions)}
    series = [
        chart.Series(label=r, axis=axis, values=[float(pt.get(r, 0)) for _, pt in points], colour=legend[r])
        for r in regions
    ]
    days = [date.fromisoformat(d) for d, _ in points]
    png = chart.line_chart_png(days, series, title=title, x_label=x_label.format(tz=calendar.zone()))
    return png, legend


def daily_stock_report(p: Ports, day: date | None = None) -> dict[str, Any]:
    """The day before's (local) stock and consumption of every warehouse region with stock."""
    now = p.now()
    day = day or calendar.yesterday(now)
    d = day.isoformat()
    regions = repo.regions(p.store)
    rows = [row for region in regions for row in _region_rows(p, region, d)]
    shipped: dict[str, int] = defaultdict(int)
    for r in rows:
        shipped[r["region"]] += r["shipped"]
    points = _trend(p, day, dict(shipped))
    png, legend = trend_png(points)
    files = {"csv": f"reports/stock/{d}.csv", "json": f"reports/stock/{d}.json", "png": f"reports/stock/{d}.png"}
    blobs = report_files(p)
    blobs.put_bytes(files["csv"], stock_csv(rows).encode("utf-8"), "text/csv; charset=utf-8")
    document = {"day": d, "timezone": str(calendar.zone()), "generated_at": now.isoformat(), "rows": rows}
    blobs.put_bytes(files["json"], json.dumps(document, ensure_ascii=False).encode("utf-8"), "application/json")
    blobs.put_bytes(files["png"], png, "image/png")
    low = sum(1 for r in rows if r["low"])
    stats = {"regions": len(regions), "rows": len(rows), "low": low, "shipped_by_region": dict(shipped)}
    store_report(
        p,
        StoredReport(
            kind=KIND,
            id=d,
            day=day,
            generated_at=now.isoformat(),
            formats=["csv", "json", "png"],
            stats=stats,
            keys=files,
            legend=legend,
        ),
    )
    return {"day": d, "regions": len(regions), "rows": len(rows), "low": low, "shipped": sum(shipped.values())}
