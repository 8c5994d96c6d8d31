"""The console's policies, service requests, SLA, catalogue and channel views in a real browser against
the local cloud: each view opens with no browser console error and no serious axe violation; a product
is created, modified as a new version and published; a service request is recorded and its e-policy
sent; the SLA configuration is edited and saved; a channel's webhook is paused and resumed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _settled(console: Any) -> None:
    """The view's first load is over: its heading is there and no loading indicator is left. A view's
    first chunks come from the console function cold-starting on the emulator: minutes on a busy machine."""
    console.page.get_by_role("heading", level=1).first.wait_for(timeout=300_000)
    console.page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)", timeout=300_000)


def _patient(console: Any) -> None:
    """Every function these tests reach cold-starts once on the emulator: minutes on a busy machine."""
    console.page.set_default_timeout(300_000)


def _get(client: Any, path: str) -> Any:
    """An API read that tolerates one cold start longer than the client's timeout."""
    for _ in range(3):
        try:
            return client.get(path)
        except TimeoutError:
            continue
    return client.get(path)


def _button(scope: Any, name: str) -> Any:
    """Ant Design spaces two-character Chinese labels (保 存): either spelling."""
    spaced = " ".join(name) if len(name) == 2 else name
    return scope.get_by_role("button", name=spaced).or_(scope.get_by_role("button", name=name))


def test_every_view_opens_with_no_serious_axe_violation(console):
    page = console.page
    _patient(console)
    stack = console.stack
    number = stack.demo["policy"]["number"]
    channel_id = stack.demo["channel"]["id"]
    console.sign_in("admin", path="policies")
    _settled(console)
    nav = page.get_by_role("navigation", name="主导航")
    for label in ["保单", "客服请求", "时效与报表"]:
        assert nav.get_by_role("link", name=label).is_visible()
    found: dict[str, list[dict[str, Any]]] = {"policies": console.axe("policies")}
    # look a policy up by its number, then open its page from the result
    page.get_by_role("textbox", name="查询内容").fill(number)
    _button(page, "搜索").click()
    page.get_by_role("link", name=number).click()
    page.get_by_role("heading", name=f"保单 {number}").wait_for()
    _settled(console)
    for tab in ["权益余量", "版本", "账务", "服务预约", "理赔", "回调记录"]:
        page.get_by_role("tab", name=tab).click()
    found["policy page"] = console.axe("policy page")
    console.shot("policy page")
    for view in ["service-requests", "sla", "catalogue", f"catalogue/channels/{channel_id}", "work-orders"]:
        console.go(view)
        _settled(console)
        console.shot(view)
        found[view] = console.axe(view)
    # the SLA reports tab (its chart only when there are daily reports) and the work order filters
    console.go("sla")
    _settled(console)
    page.get_by_role("tab", name="时效报表").click()
    page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)")
    found["sla reports"] = console.axe("sla reports")
    console.go("work-orders")
    _settled(console)
    page.get_by_role("checkbox", name="仅看超时").check()
    _button(page, "搜索").click()
    page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)")
    found["work orders overdue"] = console.axe("work orders overdue")
    assert {k: v for k, v in found.items() if v} == {}


def test_a_role_sees_only_the_actions_it_may_take(console):
    page = console.page
    _patient(console)
    channel_id = console.stack.demo["channel"]["id"]
    console.sign_in("service", path=f"catalogue/channels/{channel_id}")
    _settled(console)
    page.get_by_test_id("webhook-state").wait_for()  # service may pause and resume webhooks
    assert page.get_by_role("button", name="签发新密钥").count() == 0  # keys are sales'
    assert page.get_by_role("button", name="新建合约").count() == 0
    console.go("catalogue")
    _settled(console)
    assert page.get_by_role("button", name="新建产品").count() == 0  # products are the underwriter's


def _editor(dialog: Any) -> Any:
    return dialog.get_by_role("textbox", name="产品定义（JSON：方案、权益、定价、核保、退保规则）")


def test_a_product_is_created_modified_as_a_new_version_and_published(console):
    page = console.page
    _patient(console)
    code = f"browser-{uuid.uuid4().hex[:8]}"
    console.sign_in("underwriter", path="catalogue")
    _settled(console)
    page.get_by_role("button", name="新建产品").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="代码").fill(code)
    dialog.get_by_role("textbox", name="名称").fill("浏览器测试产品")
    _button(dialog, "下一步").click()
    editor = _editor(page.get_by_role("dialog"))
    assert json.loads(editor.input_value())["code"] == code
    _button(page.get_by_role("dialog"), "保存").click()
    drawer = page.get_by_role("dialog").filter(has_text="修改为新版本")
    drawer.get_by_text("draft").first.wait_for()
    _button(drawer, "发布此版本").click()
    drawer.get_by_text("published").first.wait_for()
    # modify as a new version: another plan premium, saved as draft v2, then published
    _button(drawer, "修改为新版本").click()
    editor = _editor(page.get_by_role("dialog"))
    spec = json.loads(editor.input_value())
    spec["name"] = "浏览器测试产品 v2"
    spec["plans"][0]["base_premium"] = "109.00"
    editor.fill(json.dumps(spec, ensure_ascii=False))
    _button(page.get_by_role("dialog"), "保存").click()
    drawer.get_by_role("button", name="v2").wait_for()
    drawer.get_by_text("浏览器测试产品 v2").wait_for()
    console.shot("version 2 draft")
    _button(drawer, "发布此版本").click()
    uw = console.stack.ops_client("underwriter")
    wait_for(lambda: uw.get(f"/ops/products/{code}").json["head"].get("published_version") == 2, "version 2 published")
    got = uw.get(f"/ops/products/{code}").json
    assert got["version"]["name"] == "浏览器测试产品 v2" and got["version"]["plans"][0]["base_premium"] == "109.00"
    assert console.axe("product drawer") == []


def test_a_service_request_is_recorded_and_its_e_policy_sent(console):
    page = console.page
    _patient(console)
    number = console.stack.demo["policy"]["number"]
    console.sign_in("service", "underwriter", path="service-requests")
    _settled(console)
    page.get_by_role("textbox", name="保单号").fill(number)
    page.get_by_role("textbox", name="电子邮箱").fill("owner@example.com")
    page.get_by_role("textbox", name="备注").fill("customer phoned for the e-policy")
    _button(page, "登记").click()
    page.wait_for_url(re.compile(r".*/service-requests/[^/]+$"))
    request_id = unquote(page.url.rsplit("/", 1)[1])
    page.get_by_role("heading", name=f"客服请求 {request_id}").wait_for()
    _settled(console)
    status = page.get_by_test_id("sr-status")
    assert status.inner_text() == "待处理"
    page.get_by_role("button", name="生成并发送电子保单").click()
    status.filter(has_text="已发送").wait_for()
    assert console.axe("service request sent") == []
    got = _get(console.stack.ops_client("service"), f"/ops/service-requests/{request_id}").json
    assert got["status"] == "sent" and got["e_policy"]["sent_to"] == "owner@example.com"
    assert got["note"] == "customer phoned for the e-policy"


def test_the_sla_configuration_is_edited_and_saved(console):
    page = console.page
    _patient(console)
    ops = console.stack.ops_client("ops")
    before = _get(ops, "/ops/sla/config").json
    console.sign_in("ops", path="sla")
    _settled(console)
    if before["current"]["limits"]:
        minutes = page.get_by_role("spinbutton", name="时限（分钟） 1")
        new = before["current"]["limits"][0]["minutes"] + 1
        minutes.fill(str(new))
    else:
        _button(page, "新增时限").click()
        new = 60
    page.get_by_role("textbox", name="原因").fill("browser test: one minute more")
    page.get_by_role("button", name="保存配置").click()
    page.get_by_text("已保存为版本").wait_for()
    after = _get(ops, "/ops/sla/config").json
    assert after["current"]["version"] > before["current"]["version"]
    assert after["current"]["limits"][0]["minutes"] == new
    assert after["versions"][0]["reason"] == "browser test: one minute more"
    assert console.axe("sla saved") == []


def test_a_channels_webhook_is_paused_and_resumed(console):
    page = console.page
    _patient(console)
    channel_id = console.stack.demo["channel"]["id"]
    service = console.stack.ops_client("service")
    if service.get(f"/ops/channels/{channel_id}").json["webhook"]["state"] == "paused":
        assert service.post(f"/ops/channels/{channel_id}/webhook/resume").status == 200
    console.sign_in("service", path=f"catalogue/channels/{channel_id}")
    _settled(console)
    state = page.get_by_test_id("webhook-state")
    state.filter(has_text="正常").wait_for()
    page.get_by_role("button", name="暂停回调").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="原因").fill("their endpoint is down for maintenance")
    _button(dialog, "确定").click()
    state.filter(has_text="已暂停").wait_for()
    assert "their endpoint is down for maintenance" in state.inner_text()
    paused = service.get(f"/ops/channels/{channel_id}").json["webhook"]
    assert paused["state"] == "paused" and paused["reason"] == "their endpoint is down for maintenance"
    console.shot("paused")
    page.get_by_role("button", name="恢复回调").click()
    state.filter(has_text="正常").wait_for()
    assert service.get(f"/ops/channels/{channel_id}").json["webhook"]["state"] == "active"
    assert console.axe("webhook resumed") == []
