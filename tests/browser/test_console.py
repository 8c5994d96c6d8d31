"""The console in a real browser against the local cloud: sign in, role-aware navigation, every view
labelled (axe-core, 0 serious), dispatch rules refused at 90 % and published at 100 %, a partner's
change request approved, a claim assessed, approved within its bound and paid, and a booked order
found in work orders. No browser console error anywhere (the fixture checks it)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from infra.localcloud import ROOT
from petcover.client import PetcoverClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

VIEWS = ["work-orders", "dispatch", "partners", "catalogue", "claims", "finance", "audit"]
HAS_OVERVIEW = "/ops/overview" in json.loads((ROOT / "openapi.json").read_text())["paths"]


def _settled(console: Any) -> None:
    """The view's first load is over: its heading is there and no loading indicator is left."""
    page = console.page
    page.get_by_role("heading", level=1).first.wait_for()
    page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)")


def test_sign_in_link_opens_the_console_and_every_view_has_no_serious_axe_violation(console):
    page = console.page
    console.sign_in("admin", path="work-orders")
    _settled(console)
    assert "token=" not in page.url  # the token leaves the address bar at once
    nav = page.get_by_role("navigation", name="主导航")
    for label in ["工单", "派单", "合作方", "产品与渠道", "理赔", "财务", "审计"]:
        assert nav.get_by_role("link", name=label).is_visible()
    found: dict[str, list[dict[str, Any]]] = {}
    for view in ["", *VIEWS] if HAS_OVERVIEW else VIEWS:
        console.go(view)  # a deep link: the stack serves index.html for every route
        _settled(console)
        console.shot(view or "overview")
        found[view or "overview"] = console.axe(view)
    assert {k: v for k, v in found.items() if v} == {}
    # the same in English, kept across loads
    page.get_by_text("English", exact=True).click()
    assert page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Dispatch").is_visible()
    page.reload()
    _settled(console)
    assert page.get_by_role("heading", level=1).first.inner_text() == "Audit"


def test_a_role_sees_only_its_views_and_the_server_still_refuses(console):
    page = console.page
    console.sign_in("finance", path="finance")
    _settled(console)
    nav = page.get_by_role("navigation", name="主导航")
    assert nav.get_by_role("link", name="财务").is_visible()
    assert nav.get_by_role("link", name="派单").count() == 0
    console.go("dispatch")
    page.get_by_text("您的角色无权查看此页面").wait_for()
    staff = console.stack.ops_client("finance")
    assert staff.get("/ops/dispatch/rules").status == 403  # hidden in the console, refused by the API


def test_dispatch_rules_are_refused_at_90_and_published_at_100(console):
    page = console.page
    ops = console.stack.ops_client("ops")
    head = ops.get("/ops/dispatch/rules").json["head_version"]
    console.sign_in("ops", path="dispatch")
    _settled(console)
    share = page.get_by_role("spinbutton", name="份额 %").first
    sum_tag = page.get_by_test_id("share-sum-0")
    original = int(share.input_value())
    assert sum_tag.inner_text() == "份额合计 100%"
    share.fill(str(original - 10))
    sum_tag.filter(has_text="份额合计 90%").wait_for()
    publish = page.get_by_role("button", name="发 布").or_(page.get_by_role("button", name="发布"))
    assert publish.is_disabled()
    page.get_by_text("规则有问题，修正后才能发布").wait_for()
    console.shot("refused at 90")
    # the API refuses the same rule set on its own
    rules = ops.get(f"/ops/dispatch/rules/{head}").json["rules"]
    rules[0]["providers"][0]["share_pct"] -= 10
    refused = ops.put("/ops/dispatch/rules", json={"rules": rules, "base_version": head})
    assert refused.status == 400 and refused.json["error"]["details"][0]["code"] == "SHARES_NOT_100"
    share.fill(str(original))
    sum_tag.filter(has_text="份额合计 100%").wait_for()
    page.get_by_role("textbox", name="发布说明").fill("browser test: publish at 100")
    publish.click()
    page.get_by_text(f"已发布版本 {head + 1}").wait_for()
    after = ops.get("/ops/dispatch/rules").json
    assert after["head_version"] == head + 1
    assert after["versions"][0]["note"] == "browser test: publish at 100"


def _provider(stack: Any) -> PetcoverClient:
    p = stack.demo["provider"]
    return PetcoverClient(stack.base, p["key_id"], p["secret"], timeout=30)


def test_a_partner_change_request_is_approved_with_its_diff_side_by_side(console):
    page = console.page
    stack = console.stack
    provider = _provider(stack)
    me = provider.get("/partner/me")
    assert me.status == 200, me.body
    config = me.json["config"]["config"]
    before = config.get("daily_capacity") or 100
    config["daily_capacity"] = before + 7
    asked = provider.post(
        "/partner/changes",
        idempotency_key=uuid.uuid4().hex,
        json={"reason": "more vets on Saturdays", "config": config},
    )
    assert asked.status in (200, 201), asked.body
    request_id = asked.json["id"]
    console.sign_in("ops", path="partners")
    _settled(console)
    row = page.get_by_role("row").filter(has_text="more vets on Saturdays")
    row.wait_for()
    diff = page.get_by_role("row").filter(has_text="daily_capacity")
    assert str(before) in diff.first.inner_text() and str(before + 7) in diff.first.inner_text()
    console.shot("change request")
    row.get_by_role("button", name="批 准").or_(row.get_by_role("button", name="批准")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="备注").fill("checked with the clinic")
    dialog.get_by_role("button", name="确 定").or_(dialog.get_by_role("button", name="确定")).click()
    page.get_by_text("已批准").first.wait_for()
    ops = stack.ops_client("ops")
    changes = ops.get(f"/ops/partners/{me.json['account']['id']}/changes").json["items"]
    [done] = [c for c in changes if c["id"] == request_id]
    assert done["state"] == "approved" and done["reviewed_by"].endswith("browser-ops")


def _button(scope: Any, name: str) -> Any:
    """Ant Design spaces two-character Chinese labels (批 准): either spelling."""
    spaced = " ".join(name) if len(name) == 2 else name
    return scope.get_by_role("button", name=spaced).or_(scope.get_by_role("button", name=name))


def test_a_claim_is_assessed_approved_within_its_bound_and_paid(console):
    page = console.page
    stack = console.stack
    channel = stack.channel_client()
    number = stack.demo["policy"]["number"]
    opened = channel.post(
        f"/policies/{number}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "incident_date": (date.today() - timedelta(days=1)).isoformat(),
            "incident_type": "illness",
            "amount": "300.00",
            "description": "vet visit",
        },
    )
    assert opened.status == 201, opened.body
    claim = opened.json["claim_number"]
    assert opened.json["status"] == "submitted" and not opened.json["auto"]
    remaining = float(channel.get(f"/policies/{number}").json["remaining_sum_insured"])
    console.sign_in("underwriter", "finance", path=f"claims/{claim}")
    _settled(console)
    status = page.get_by_test_id("claim-status")
    assert status.inner_text() == "已提交"
    _button(page, "开始审核").click()
    _button(page.get_by_role("dialog"), "确定").click()
    status.filter(has_text="审核中").wait_for()
    _button(page, "批准").click()
    dialog = page.get_by_role("dialog")
    amount = dialog.get_by_role("textbox", name="批准金额（最多 300.00）")
    amount.fill("300.01")  # over the claim: refused before it is sent
    _button(dialog, "确定").click()
    dialog.get_by_text("不能超过 300.00").wait_for()
    console.shot("over the bound")
    amount.fill("250.00")
    _button(dialog, "确定").click()
    status.filter(has_text="已批准").wait_for()
    _button(page, "赔付").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="付款流水号").fill("PAY-BROWSER-1")
    _button(dialog, "确定").click()
    status.filter(has_text="已赔付").wait_for()
    got = channel.get(f"/claims/{claim}").json
    assert got["status"] == "paid" and got["approved_amount"] == "250.00" and got["paid_amount"] == "250.00"
    assert float(channel.get(f"/policies/{number}").json["remaining_sum_insured"]) == pytest.approx(remaining - 250)


def test_a_booked_order_appears_in_work_orders(console):
    page = console.page
    stack = console.stack
    channel = stack.channel_client()
    policy = stack.demo["policy"]
    address = {
        "contact_name": "Li Lei",
        "phone": "13800000000",
        "line": "1 Century Ave",
        "province": "310000",
        "city": "310100",
        "district": "310115",
    }
    booked = channel.post(
        f"/policies/{policy['number']}/appointments",
        idempotency_key=uuid.uuid4().hex,
        json={
            "benefit_code": "medicine-delivery",
            "pet": {"pet_id": policy["pet_id"], "name": "Bobo"},
            "address": address,
        },
    )
    if booked.status == 409 and booked.json["error"]["code"] == "DUPLICATE_BOOKING":
        appt = booked.json["error"]["details"]["appointment_id"]  # a stack reused from an earlier run
    else:
        assert booked.status in (200, 201, 202), booked.body
        appt = booked.json["appointment_id"]
    ops = stack.ops_client("ops")
    # Whichever provider dispatch chose (earlier tests in the session add providers and rules).
    record = wait_for(
        lambda: (r := ops.get(f"/ops/appointments/{appt}/dispatch").json).get("state") == "assigned" and r, "dispatch"
    )
    wait_for(lambda: ops.get(f"/ops/work-orders/{appt}/timeline").status == 200, "the SLA timeline")
    console.sign_in("ops", path="work-orders")
    _settled(console)
    page.get_by_role("textbox", name="工单号").fill(appt)
    _button(page, "打开").click()
    page.get_by_role("heading", name=f"工单 {appt}").wait_for()
    _settled(console)
    assert page.get_by_text(record["decision"]["provider_id"]).first.is_visible()
    assert page.get_by_text("medicine").first.is_visible()
    assert console.axe("work order") == []
    if HAS_OVERVIEW:
        console.go("")
        _settled(console)
        assert page.get_by_test_id("overview-figures").is_visible()
