"""The console's risk rules and booking review views in a real browser against the local cloud: a rule
added in shadow mode is published as the next version and shows as shadow among the rules in force;
a booking a review rule held is approved from the queue and goes on to dispatch. Both views open with
no browser console error and no serious axe violation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.products import make_product_without_waiting_period
from tests.support.risk import held_booking, publish
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _settled(console: Any) -> None:
    """The view's first load is over (first chunks come from functions cold-starting on the emulator)."""
    console.page.get_by_role("heading", level=1).first.wait_for(timeout=300_000)
    console.page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)", timeout=300_000)


def _button(scope: Any, name: str) -> Any:
    """Ant Design spaces two-character Chinese labels (确 定): either spelling."""
    spaced = " ".join(name) if len(name) == 2 else name
    return scope.get_by_role("button", name=spaced).or_(scope.get_by_role("button", name=name))


def _pick(console: Any, scope: Any, label: str, option: str) -> None:
    """Chooses ``option`` in the Ant Design select labelled ``label``."""
    scope.get_by_role("combobox", name=label).click()
    console.page.locator(f".ant-select-dropdown:visible .ant-select-item-option[title='{option}']").click()
    # The form is checked at rest: an open list (its closing animation included) is rc-select's own.
    console.page.locator(".ant-select-dropdown:visible").wait_for(state="hidden")


def test_a_rule_added_in_shadow_mode_is_published_and_shows_as_shadow(console):
    page = console.page
    page.set_default_timeout(300_000)
    tag = uuid.uuid4().hex[:8]
    rule_id = f"browser-shadow-{tag}"
    console.sign_in("underwriter", path="risk")
    _settled(console)
    nav = page.get_by_role("navigation", name="主导航")
    assert nav.get_by_role("link", name="风控规则").is_visible()
    assert nav.get_by_role("link", name="预约审核").is_visible()
    found = {"risk rules": console.axe("risk rules")}

    page.get_by_role("button", name="添加规则").click()
    dialog = page.get_by_role("dialog", name="添加规则")
    dialog.get_by_role("textbox", name="规则编号").fill(rule_id)
    _pick(console, dialog, "名单字段", "device")
    dialog.get_by_role("textbox", name="名单内容（每行一个）").fill(f"DEV-{tag}\nDEV-{tag}-2")
    dialog.get_by_role("textbox", name="说明").fill("试运行的设备名单")
    found["rule form"] = console.axe("rule form")
    _button(dialog, "确定").click()
    dialog.wait_for(state="hidden")
    draft = page.locator(".ant-card").filter(has_text="编辑新版本")
    row = draft.get_by_role("row").filter(has_text=rule_id)
    assert "影子（只记录）" in row.inner_text() and f"device: DEV-{tag}, DEV-{tag}-2" in row.inner_text()

    publish_button = draft.get_by_role("button", name="发布版本")
    publish_button.click()
    note = page.get_by_role("dialog").filter(has_text="发布说明")
    note.get_by_role("textbox", name="发布说明").fill("浏览器测试：影子模式试运行")
    _button(note, "确定").click()
    in_force = page.locator(".ant-card").filter(has_text="生效中的规则")
    shown = in_force.get_by_role("row").filter(has_text=rule_id)
    shown.wait_for()
    assert "影子（只记录）" in shown.inner_text()
    assert "浏览器测试：影子模式试运行" in in_force.inner_text()
    found["published"] = console.axe("published")
    console.shot("published")

    rules = console.stack.ops_client("underwriter").get("/ops/risk/rules").json
    mine = next(r for r in rules["rules"] if r["id"] == rule_id)
    assert mine["mode"] == "shadow" and mine["field"] == "device" and mine["values"] == [f"DEV-{tag}", f"DEV-{tag}-2"]
    assert rules["note"] == "浏览器测试：影子模式试运行"
    assert {k: v for k, v in found.items() if v} == {}


def test_a_held_booking_is_approved_from_the_review_queue(console):
    page = console.page
    page.set_default_timeout(300_000)
    stack = console.stack
    tag = uuid.uuid4().hex[:8]
    device = f"DEV-{tag}"
    product = make_product_without_waiting_period(stack)
    publish(
        stack,
        [
            {
                "id": f"browser-watch-{tag}",
                "kind": "blocklist",
                "stages": ["booking"],
                "field": "device",
                "values": [device],
                "action": "review",
            }
        ],
    )
    aid = held_booking(stack, product, device)

    console.sign_in("service", path="booking-reviews")
    _settled(console)
    row = page.get_by_role("row").filter(has_text=aid)
    row.wait_for()
    assert f"browser-watch-{tag}" in row.inner_text()
    found = {"booking reviews": console.axe("booking reviews")}
    row.get_by_role("button", name=f"批准 {aid}").click()
    dialog = page.get_by_role("dialog", name=f"批准预约 {aid}")
    dialog.get_by_role("textbox", name="审核意见").fill("老客户，设备已核实")
    _button(dialog, "确定").click()
    page.get_by_text("已批准，预约进入派单").wait_for()
    row.wait_for(state="detached")
    found["after approval"] = console.axe("after approval")
    console.shot("approved")

    ops = stack.ops_client("ops")
    decided = wait_for(
        lambda: (r := ops.get(f"/ops/appointments/{aid}/dispatch")).status == 200 and (r.json.get("decision") or None),
        "the approved booking's dispatch decision",
    )
    assert decided
    queue = stack.ops_client("service").get("/ops/booking-reviews", query={"limit": "200"}).json["items"]
    assert aid not in [i["appointment_id"] for i in queue]
    assert {k: v for k, v in found.items() if v} == {}
