"""The money screens in a real browser against the local cloud: each screen opens with no serious axe
violation; a manual refund is requested by one member of finance and approved by another; a channel's
settlement is run and its CSV statement downloaded. No browser console error anywhere (the fixture
checks it)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SCREENS = ["requests", "settlements", "fees", "reconciliation", "loss-ratio"]


def _settled(console: Any) -> None:
    """The view's first load is over: its heading is there and no loading indicator is left."""
    page = console.page
    page.get_by_role("heading", level=1).first.wait_for()
    page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)")


def _button(scope: Any, name: str) -> Any:
    """Ant Design spaces two-character Chinese labels (批 准): either spelling."""
    spaced = " ".join(name) if len(name) == 2 else name
    return scope.get_by_role("button", name=spaced).or_(scope.get_by_role("button", name=name))


def test_every_money_screen_opens_with_no_serious_axe_violation(console):
    page = console.page
    console.sign_in("finance", path="money/requests")
    _settled(console)
    assert page.get_by_role("navigation", name="主导航").get_by_role("link", name="资金").is_visible()
    found: dict[str, list[dict[str, Any]]] = {}
    for screen in SCREENS:
        page.get_by_role("navigation", name="资金管理").get_by_role("link").nth(SCREENS.index(screen)).click()
        page.wait_for_url(f"**/money/{screen}")
        _settled(console)
        console.shot(screen)
        found[screen] = console.axe(screen)
    assert {k: v for k, v in found.items() if v} == {}
    page.get_by_text("English", exact=True).click()
    assert page.get_by_role("heading", level=1).first.inner_text() == "Loss ratio"


def test_a_manual_refund_is_requested_by_one_and_approved_by_another(console):
    page = console.page
    number = console.stack.demo["policy"]["number"]
    reason = f"bank refund {uuid.uuid4().hex[:6]}"
    console.sign_in("finance", path="money/requests")
    _settled(console)
    page.get_by_role("textbox", name="保单号").fill(number)
    page.get_by_role("textbox", name="金额").fill("1.00")
    page.get_by_role("textbox", name="事由").fill(reason)
    page.get_by_role("button", name="提交申请").click()
    row = page.get_by_role("row").filter(has_text=reason)
    row.wait_for()
    assert "不能审批自己提交的申请" in row.inner_text()  # the maker cannot check
    console.shot("requested")

    console.sign_in("finance", "sales", path="money/settlements")  # another member of staff
    _settled(console)
    page.get_by_role("navigation", name="资金管理").get_by_role("link", name="人工资金申请").click()
    row = page.get_by_role("row").filter(has_text=reason)
    row.wait_for()
    _button(row, "批准").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox").fill("matches the bank statement")
    _button(dialog, "确定").click()
    page.get_by_text("操作成功").first.wait_for()
    row.wait_for(state="detached")  # left the pending queue
    page.get_by_text("已处理", exact=True).click()
    decided = page.get_by_role("row").filter(has_text=reason)
    decided.get_by_text("已批准").wait_for()
    assert "browser-finance-sales" in decided.inner_text()
    finance = console.stack.ops_client("finance")
    listed = finance.get("/ops/money/money-requests", query={"status": "approved", "limit": "200"}).json
    [mine] = [r for r in listed["money_requests"] if r["spec"]["reason"] == reason]
    assert mine["requested_by"] == "ops:browser-finance" and mine["decided_by"] == "ops:browser-finance-sales"
    assert mine["journal_id"]


def test_a_settlement_is_run_and_its_csv_statement_downloaded(console):
    page = console.page
    channel = console.stack.demo["channel"]["id"]
    first = date.today().replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m")
    console.sign_in("finance", path="money/settlements")
    _settled(console)
    page.get_by_role("combobox", name="结算方").click()
    # Ant Design's visible option (its role="option" twin is a hidden list for screen readers).
    page.locator(".ant-select-item-option", has_text="渠道").first.click()
    page.get_by_role("textbox", name="渠道或服务商编号").fill(channel)
    page.get_by_role("textbox", name="月份").fill(month)
    page.get_by_role("button", name="执行结算").click()
    sid = f"channel.{channel}.{month}"
    row = page.get_by_role("row").filter(has_text=sid)
    row.wait_for()
    console.shot("settlement")
    with page.expect_download() as info:
        row.get_by_role("button", name="下载 CSV").click()
    download = info.value
    assert download.suggested_filename == f"{sid}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("item,amount") and sid in text and "closing_balance" in text
