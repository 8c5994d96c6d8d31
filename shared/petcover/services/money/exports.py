"""Downloads: statistics and the loss-ratio report as JSON, CSV or XLSX (openpyxl), the loss ratio also
as a PNG chart. Both are read from the statistics counters (bounded Queries, never a scan).

Loss ratio = claims paid / premium, by product, channel and month. The premium is what was written in
the month less refunds (the counters hold no earned-premium split across the term).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from decimal import Decimal
from typing import Any

from petcover.domain import chart, exports
from petcover.errors import InvalidInput
from petcover.models.money import ExportFile, ExportQuery, LossRatioRow
from petcover.models.policies import StatisticsQuery
from petcover.ports import Ports
from petcover.services import reports

STAT_COLUMNS = (
    "channel_id",
    "product_code",
    "plan_code",
    "period",
    "policies",
    "premium",
    "refunds",
    "claims",
    "claim_amount",
)
LOSS_COLUMNS = ("product_code", "channel_id", "month", "premium", "claims_paid", "loss_ratio")
MIME = {
    "json": "application/json",
    "csv": "text/csv",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def loss_ratio(p: Ports, q: ExportQuery) -> list[LossRatioRow]:
    monthly = q.model_copy(update={"granularity": "month", "start": q.start[:7], "end": q.end[:7]})
    stats = reports.statistics(p, StatisticsQuery.model_validate(monthly.model_dump()))
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in stats.rows:
        s = sums[(r.product_code, r.channel_id, r.period)]
        s[0] += r.premium - r.refunds
        s[1] += r.claim_amount
    return [
        LossRatioRow(
            product_code=k[0],
            channel_id=k[1],
            month=k[2],
            premium=v[0],
            claims_paid=v[1],
            loss_ratio=(v[1] / v[0]).quantize(Decimal("0.0001")) if v[0] > 0 else None,
        )
        for k, v in sorted(sums.items())
    ]


def export(p: Ports, report: str, fmt: str, q: ExportQuery) -> ExportFile:
    if fmt not in MIME or (fmt == "png" and report != "loss-ratio"):
        raise InvalidInput("The format is json, csv or xlsx (png: loss-ratio only).", code="VALIDATION_FAILED")
    name = f"{report}-{q.start}-{q.end}"
    if report == "statistics":
        rows = reports.statistics(p, StatisticsQuery.model_validate(q.model_dump())).rows
        header: tuple[str, ...]
        header, table = STAT_COLUMNS, [[getattr(r, c) for c in STAT_COLUMNS] for r in rows]
        doc: Any = [r.model_dump(mode="json") for r in rows]
    elif report == "loss-ratio":
        lr = loss_ratio(p, q)
        header, table = LOSS_COLUMNS, [[getattr(r, c) for c in LOSS_COLUMNS] for r in lr]
        doc = [r.model_dump(mode="json") for r in lr]
        if fmt == "png":
            png = chart.bar_chart_png(
                [f"{r.product_code}/{r.channel_id}/{r.month}" for r in lr],
                [float(r.loss_ratio) if r.loss_ratio is not None else float("nan") for r in lr],
                title=f"Loss ratio {q.start}..{q.end}",
                y_label="claims paid / premium",
            )
            return _file(name, "png", png)
    else:
        raise InvalidInput("The report is statistics or loss-ratio.", code="UNKNOWN_REPORT")
    if fmt == "json":
        import json

        return ExportFile(
            name=name,
            format="json",
            content_type=MIME["json"],
            encoding="utf-8",
            content=json.dumps(doc, ensure_ascii=False),
        )
    if fmt == "csv":
        return ExportFile(
            name=name, format="csv", content_type=MIME["csv"], encoding="utf-8", content=exports.to_csv(header, table)
        )
    return _file(name, "xlsx", exports.to_xlsx([(report, header, table)]))


def _file(name: str, fmt: str, body: bytes) -> ExportFile:
    return ExportFile(
        name=name,
        format=fmt,
        content_type=MIME[fmt],
        encoding="base64",  # type: ignore[arg-type]
        content=base64.b64encode(body).decode(),
    )
