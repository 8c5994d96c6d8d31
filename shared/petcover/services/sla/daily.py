"""Shortly after midnight: the day before's timeliness per provider, per region and overall.

CSV, JSON and a PNG trend chart over the last TREND_DAYS daily reports, kept under
reports/daily/{date}.* with an index item (``reports``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from petcover.domain import calendar, chart, i18n, sla, sla_reports
from petcover.errors import InvalidInput
from petcover.ports import Ports
from petcover.repositories import sla as keys
from petcover.repositories.sla import StoredReport
from petcover.services import timeline
from petcover.services.sla import messages
from petcover.services.sla.reports import report_files, store_report
from petcover.services.sla.times import iso

TREND_DAYS = 14
TREND_SERIES = ("breach_rate_pct", "response_p50_min", "response_p90_min", "processing_p90_h")
# Each trend series' legend text and the y axis (with its unit) it is drawn on. English, like
# every other report text (alerts, summaries, CSV headers).
TREND_LABELS: dict[str, tuple[str, str]] = {
    "breach_rate_pct": ("Breach rate", "Breach rate (%)"),
    "response_p50_min": ("Response p50", "Response time (min)"),
    "response_p90_min": ("Response p90", "Response time (min)"),
    "processing_p90_h": ("Processing p90", "Processing time (h)"),
}
EMPTY_OVERALL: dict[str, Any] = {"orders": 0, "accepted": 0, "completed": 0, "breaches": 0, "breach_rate": 0.0}


def _day_events(p: Ports, day: date, tz: tzinfo) -> list[sla.NodeEvent]:
    """Events of the local day plus the history the response/processing samples need.

    The timeline files events under their business day; the partitions of the day before and
    the day after come along for the nodes around the day's own. An order accepted or completed
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
    providers: list[sla_reports.ProviderDayStats],
    regions: list[sla_reports.ProviderDayStats],
    overall: list[sla_reports.ProviderDayStats],
) -> str:
    """The domain's report CSV with a scope column: provider rows, then region rows, then overall."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_written = False
    for scope, rows in (("provider", providers), ("region", regions), ("overall", overall)):
        parsed = list(csv.reader(io.StringIO(sla_reports.report_csv(rows))))
        header, body = parsed[0], parsed[1:]
        if not header_written:
            writer.writerow([i18n.column(c, messages.language()) for c in ("scope", *header)])
            header_written = True
        who = header.index("provider_id")
        for row in body:
            if scope != "provider":
                row[who] = ""  # region rows carry the region in the region column; overall none
            if scope == "overall":
                row[header.index("region")] = ""
            writer.writerow([scope, *row])
    return out.getvalue()


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


def trend_png(points: list[tuple[str, dict[str, Any]]], tz: tzinfo) -> tuple[bytes, dict[str, str]]:
    """PNG of the overall figures over the given (day, overall stats) points, and its legend
    (series name -> the colour of its line)."""
    values = [_trend_point(stats) for _, stats in points]
    colours = chart.SERIES_COLOURS
    legend = {name: colours[i % len(colours)] for i, name in enumerate(TREND_SERIES)}
    series = [
        chart.Series(
            label=TREND_LABELS[name][0],
            axis=TREND_LABELS[name][1],
            values=[v[name] for v in values],
            colour=legend[name],
        )
        for name in TREND_SERIES
    ]
    days = [date.fromisoformat(d) for d, _ in points]
    png = chart.line_chart_png(
        days,
        series,
        title=f"SLA timeliness, all providers: daily reports {points[0][0]} to {points[-1][0]}",
        x_label=f"Report day (local date, {tz})",
    )
    return png, legend


def _trend_points(p: Ports, day: date, overall: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(day, overall stats) of up to TREND_DAYS - 1 earlier daily reports, then ``day``'s."""
    earlier = p.store.query(
        keys.report_pk("daily"), sk_lte=(day - timedelta(days=1)).isoformat(), descending=True, limit=TREND_DAYS - 1
    )
    points = [
        (r.id, dict(r.stats.get("overall") or {})) for r in reversed([keys.load_report(i) for i in earlier.items])
    ]
    points.append((day.isoformat(), overall))
    return points


def _stats(
    p: Ports, day: date, tz: tzinfo
) -> tuple[list[sla_reports.ProviderDayStats], list[sla_reports.ProviderDayStats], list[sla_reports.ProviderDayStats]]:
    """The day's rows per provider, per region and overall (one row, or none on an empty day)."""
    events = _day_events(p, day, tz)
    breaches = keys.day_breaches(p.store, day)
    providers = sla_reports.daily_report(events, day, tz, breaches)
    region_events, region_breaches = _regroup(events, breaches, lambda r: r, by_region=True)
    regions = sla_reports.daily_report(region_events, day, tz, region_breaches)
    all_events, all_breaches = _regroup(events, breaches, lambda _: "ALL", by_region=False)
    return providers, regions, sla_reports.daily_report(all_events, day, tz, all_breaches)


def daily_timeliness(p: Ports, day: date | None = None) -> dict[str, Any]:
    """Per provider and per region, the day before (local): response and processing p50/p90,
    breach rate and rank; CSV, JSON and a trend PNG over the last TREND_DAYS daily reports."""
    tz = calendar.zone()
    now = p.now()
    day = day or calendar.yesterday(now)
    providers, regions, overall_rows = _stats(p, day, tz)
    overall = (
        overall_rows[0].model_dump(mode="json", exclude={"provider_id", "region", "rank", "day"})
        if overall_rows
        else dict(EMPTY_OVERALL)
    )
    points = _trend_points(p, day, overall)
    png, legend = trend_png(points, tz)

    d = day.isoformat()
    files = {"csv": f"reports/daily/{d}.csv", "json": f"reports/daily/{d}.json", "png": f"reports/daily/{d}.png"}
    document = {
        "day": d,
        "timezone": str(tz),
        "generated_at": iso(now),
        "overall": overall,
        "providers": [r.model_dump(mode="json") for r in providers],
        "regions": [r.model_dump(mode="json") for r in regions],
    }
    blobs = report_files(p)
    blobs.put_bytes(
        files["csv"], daily_csv(providers, regions, overall_rows).encode("utf-8"), "text/csv; charset=utf-8"
    )
    blobs.put_bytes(files["json"], json.dumps(document, ensure_ascii=False).encode("utf-8"), "application/json")
    blobs.put_bytes(files["png"], png, "image/png")
    ranking = [r.provider_id for r in providers]
    stats = {
        "overall": overall,
        "providers": len(providers),
        "regions": len(regions),
        "best": ranking[:3],
        "worst": ranking[-3:][::-1] if len(ranking) > 3 else [],
        "trend_days": [pt[0] for pt in points],
    }
    store_report(
        p,
        StoredReport(
            kind="daily",
            id=d,
            day=day,
            generated_at=iso(now),
            formats=["csv", "json", "png"],
            stats=stats,
            keys=files,
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
