"""The provider portal in the browser: a provider's staff works an order end to end (accept, confirm
the time, check the owner in with their code, deliver), and another provider's staff is refused it.

The order is booked by the demo channel and dispatched by the stack itself; the page is opened only
once the API says the order is assigned, and as the provider it was assigned to.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.credentials import portal_token
from tests.support.demo_booking import book_checkup
from tests.support.waiting import wait_for


def _open(console: Any, partner_id: str, kind: str = "provider") -> None:
    console.page.goto(f"{console.stack.base}/console/portal/#token={portal_token(partner_id, kind)}")
    console.page.get_by_role("heading", level=1).first.wait_for()
    console.page.wait_for_function("() => !/加载中|Loading…/.test(document.body.innerText)")


# The emulator cold-starts each function on its first call: minutes on a loaded machine.
COLD = 300


def _clients(stack: Any) -> tuple[Any, Any]:
    from infra.credentials import ops_token
    from petcover.client import OpsClient, PetcoverClient

    ch = stack.demo["channel"]
    channel = PetcoverClient(stack.base, ch["key_id"], ch["secret"], timeout=COLD)
    return channel, OpsClient(stack.base, ops_token(["admin"], "browser-portal"), timeout=COLD)


def _row(page: Any, appt: str) -> Any:
    return page.get_by_role("row").filter(has_text=appt)


def _name(label: str) -> re.Pattern[str]:
    """A button's name as Ant Design renders it: two Chinese characters get a space between them."""
    return re.compile("^" + r"\s?".join(map(re.escape, label)) + "$")


def _act(page: Any, appt: str, label: str) -> None:
    button = _row(page, appt).get_by_role("button", name=_name(label))
    button.wait_for()
    button.click()


def test_a_provider_works_an_order_end_to_end_and_another_provider_is_refused_it(console):
    page, stack = console.page, console.stack
    page.set_default_timeout(COLD * 1000)
    channel, ops = _clients(stack)
    appt = book_checkup(stack, channel)
    # Dispatch is the stack's own (queue consumer): wait on the API, never on the page, for the order
    # to be assigned, and sign in as the provider it was assigned to.
    record = wait_for(
        lambda: (
            (r := ops.get(f"/ops/appointments/{appt}/dispatch")).status == 200
            and r.json.get("state") == "assigned"
            and r.json
        ),
        "the order to be dispatched",
    )
    provider_id = record["decision"]["provider_id"]
    wait_for(lambda: channel.get(f"/appointments/{appt}").json.get("status") == "booking", "the work order")

    _open(console, provider_id)
    assert page.get_by_test_id("portal-partner").inner_text() == provider_id
    _act(page, appt, "接单")
    _row(page, appt).get_by_text("已接单").wait_for()

    _act(page, appt, "确认时间")
    dialog = page.get_by_role("dialog")
    when = (datetime.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    dialog.get_by_label("预约时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    dialog.get_by_role("button", name=_name("确定")).click()
    _row(page, appt).get_by_role("button", name=_name("核销")).wait_for()

    code = wait_for(lambda: (channel.get(f"/appointments/{appt}").json.get("checkin") or {}).get("code"), "the code")
    _act(page, appt, "核销")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("核销码").fill(code)
    dialog.get_by_role("button", name=_name("确定")).click()
    _row(page, appt).get_by_text("服务中").wait_for()

    _act(page, appt, "完成服务")
    _row(page, appt).get_by_text("已完成").wait_for()
    assert channel.get(f"/appointments/{appt}").json["status"] == "fulfilled"
    assert console.axe("portal work orders") == []

    # Another provider's staff: the same order id is refused, and their list does not show it.
    other = ops.post(
        "/ops/partners",
        json={"kind": "provider", "name": f"Other Clinic {uuid.uuid4().hex[:6]}", "agreement_ref": "AGR-OTHER"},
        idempotency_key=uuid.uuid4().hex,
    )
    assert other.status == 201, other.body
    _open(console, other.json["id"])
    page.get_by_role("textbox", name="工单号").fill(appt)
    page.get_by_role("button", name=_name("查询")).click()
    page.get_by_text(f"工单 {appt} 不存在或不属于本服务商。").wait_for()
    assert _row(page, appt).count() == 0
    # The refusal is the expected 404 of the lookup: the only errors the page may have reported.
    refused = [e for e in console.errors if "404" in e]
    assert refused, "the lookup was not refused by the API"
    console.errors[:] = [e for e in console.errors if "404" not in e]


def _mock_insurer(stack: Any, path: str, body: dict[str, Any]) -> None:
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{stack.cloud.insurer_url}/_mock/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def _insurer_with_a_claim(stack: Any, ops: Any, channel: Any, label: str) -> tuple[str, str]:
    """A new insurer, a product of its own routed to it, a policy it underwrote and a claim on it."""
    from petcover.domain import calendar
    from petcover.seed.products import PET_HEALTH

    made = ops.post(
        "/ops/partners",
        json={"kind": "insurer", "name": f"{label} {uuid.uuid4().hex[:6]}", "agreement_ref": "AGR-INS"},
        idempotency_key=uuid.uuid4().hex,
    )
    assert made.status == 201, made.body
    insurer = made.json["id"]
    code = f"br-{label.lower()}-{uuid.uuid4().hex[:6]}"
    assert (
        ops.post(
            "/ops/products", json=PET_HEALTH.model_dump(mode="json") | {"code": code}, idempotency_key=uuid.uuid4().hex
        ).status
        == 201
    )
    assert ops.post(f"/ops/products/{code}/publish", json={}).status == 200
    contract = {"product_code": code, "permissions": ["quote", "underwrite", "claim"], "effective_from": "2026-01-01"}
    assert ops.post("/ops/channels/demo-shop/contracts", json=contract, idempotency_key=uuid.uuid4().hex).status == 201
    saved = ops.put(
        f"/ops/insurers/{insurer}/endpoint",
        json={"url": f"{stack.cloud.insurer_url}/browser", "timeout_ms": 1500, "retries": 0},
    )
    assert saved.status == 200, saved.body
    _mock_insurer(stack, "keys", {"key_id": saved.json["key_id"], "secret": saved.json["secret"]})
    assert (
        ops.put(f"/ops/products/{code}/insurers", json={"routes": [{"insurer_id": insurer, "weight": 1}]}).status == 200
    )
    order = f"br-{uuid.uuid4().hex[:8]}"
    pet = {"insured_id": f"pet-{order}", "species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
    body = {
        "product_code": code,
        "plan_code": "basic",
        "insured": pet,
        "channel_order_id": order,
        "holder": {"name": "Li Lei"},
    }
    pol = channel.post("/policies", json=body, idempotency_key=uuid.uuid4().hex)
    assert pol.status == 201 and pol.json["insurer"]["insurer_id"] == insurer, pol.body
    claim = channel.post(
        f"/policies/{pol.json['number']}/claims",
        idempotency_key=uuid.uuid4().hex,
        json={
            "incident_date": calendar.today(datetime.now(UTC)).isoformat(),
            "incident_type": "illness",
            "amount": "300.00",
            "evidence": {"documents": ["docs/invoice.pdf"]},
        },
    )
    assert claim.status == 201, claim.body
    return insurer, str(claim.json["claim_number"])


def test_an_insurer_sees_the_claims_on_its_policies_and_not_another_insurer_s(console):
    page, stack = console.page, console.stack
    page.set_default_timeout(COLD * 1000)
    channel, _ = _clients(stack)
    from infra.credentials import ops_token
    from petcover.client import OpsClient

    ops = OpsClient(stack.base, ops_token(["ops", "underwriter", "sales"], "browser-portal"), timeout=COLD)
    _mock_insurer(stack, "mode", {"mode": "answer", "delay_ms": 0})
    mine, my_claim = _insurer_with_a_claim(stack, ops, channel, "Mine")
    _, their_claim = _insurer_with_a_claim(stack, ops, channel, "Theirs")

    _open(console, mine, "insurer")
    page.get_by_role("link", name="理赔").click()
    _row(page, my_claim).get_by_text("已提交").wait_for()
    assert _row(page, their_claim).count() == 0
    assert page.get_by_text(their_claim).count() == 0
    assert console.axe("portal insurer claims") == []

    # Filtered by a status none of its claims has: the empty state, never another insurer's claim.
    page.get_by_role("combobox", name="理赔状态").click()
    page.locator(".ant-select-item-option", has_text="已赔付").first.click()  # the visible option
    page.locator(".ant-empty-description", has_text="暂无数据").wait_for()  # not the icon's hidden <title>
    assert _row(page, my_claim).count() == 0
