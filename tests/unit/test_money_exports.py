"""Statistics and the loss-ratio report as CSV, XLSX (openpyxl) and a PNG chart."""

import base64
import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook

from petcover.identity import Principal
from petcover.models.money import ExportQuery
from petcover.services.claims import submission
from petcover.services.money import exports
from tests.support.claims import deliver_decisions, rs_claim, rs_policy
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

SHOP = Principal("channel", "shop-a")


def test_loss_ratio_by_product_channel_and_month_in_every_format(fake_ports):
    p = fake_ports
    p.clock = Clock(datetime(2026, 11, 10, 2, tzinfo=UTC))
    catalogue(p, ("shop-a",))
    pols = [rs_policy(p, order=f"lr-{i}") for i in range(3)]
    submission.submit(p, SHOP, pols[0].number, rs_claim(p, amount="12.00"))
    assert deliver_decisions(p) == ["paid"]
    q = ExportQuery(start="2026-11", end="2026-11", channel_id="shop-a")
    [row] = [r for r in exports.loss_ratio(p, q) if r.product_code == "return-shipping"]
    premium = sum((x.premium for x in pols), Decimal(0))
    assert (row.premium, row.claims_paid, row.month) == (premium, Decimal("12.00"), "2026-11")
    assert row.loss_ratio == (Decimal("12.00") / premium).quantize(Decimal("0.0001"))
    csv_text = exports.export(p, "loss-ratio", "csv", q).content
    assert csv_text.splitlines()[0] == "product_code,channel_id,month,premium,claims_paid,loss_ratio"
    xlsx = exports.export(p, "loss-ratio", "xlsx", q)
    ws = load_workbook(io.BytesIO(base64.b64decode(xlsx.content)))["loss-ratio"]
    assert ws.max_row == 2 and isinstance(ws.cell(2, 4).value, float)
    png = base64.b64decode(exports.export(p, "loss-ratio", "png", q).content)
    assert png.startswith(b"\x89PNG")
    stats = exports.export(p, "statistics", "xlsx", q)
    sheet = load_workbook(io.BytesIO(base64.b64decode(stats.content)))["statistics"]
    assert [c.value for c in sheet[1]][:3] == ["channel_id", "product_code", "plan_code"]
