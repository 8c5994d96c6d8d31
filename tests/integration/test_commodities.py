"""The commodity domain in-process against moto: handlers from template.yaml with events from events/,
and the races that matter run on threads against moto's DynamoDB (conditional writes and transactions)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from petcover import runtime
from petcover.errors import DomainError
from petcover.ports import Ports
from petcover.services import credentials
from petcover.services.dispatch import coverage
from petcover.services.fulfilment import closing
from tests.support import events
from tests.support.bookings import SHOP
from tests.support.calls import OPS_SECRET, handler_of, sign
from tests.support.clock import Clock
from tests.support.goods import add_commodity, book_and_dispatch, meds_policy, meds_world, order, put_stock, stock_of


def _call(
    clock: Clock, function: str, *, key: tuple[str, str] | None = None, ops: bool = False, **kw: Any
) -> tuple[int, Any]:
    from petcover import tokens

    headers: dict[str, str] = {"Idempotency-Key": uuid.uuid4().hex}
    if ops:
        headers["Authorization"] = "Bearer " + tokens.mint(OPS_SECRET, "gina", ["ops"], now=int(clock().timestamp()))
    ev = events.api(function, headers=headers, **kw)
    if key is not None:
        sign(ev, *key, now=int(clock().timestamp()))
    resp = handler_of(function)(ev, None)
    return resp["statusCode"], json.loads(resp["body"] or "null")


def _race(n: int, fn: Any) -> list[Any]:
    """``fn(i)`` on ``n`` threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_fifty_simultaneous_bookings_for_the_last_ten_units_reserve_exactly_ten(aws, atomic_requests):
    p: Ports = runtime.ports()
    world = meds_world(p, pharmacies=2, quota=6)
    a, b = world.pharmacies
    add_commodity(p, "AMOX-250")
    put_stock(p, a, "AMOX-250", 6)
    put_stock(p, b, "AMOX-250", 4)  # the last 10 units of the region, at two pharmacies
    policies = [meds_policy(p, world.clock) for _ in range(50)]

    results = _race(50, lambda i: book_and_dispatch(p, policies[i][0], order(policies[i][1], ("AMOX-250", 1))))

    assert not [r for r in results if isinstance(r, Exception)], [r for r in results if isinstance(r, Exception)]
    states = [rec.state for _, rec in results]
    assert states.count("assigned") == 10 and states.count("manual") == 40
    assert stock_of(p, a, "AMOX-250") == {"on_hand": 6, "reserved": 6, "available": 0}
    assert stock_of(p, b, "AMOX-250") == {"on_hand": 4, "reserved": 4, "available": 0}
    (gap,) = coverage.coverage_gaps(p).items
    assert gap.last_kind == "no_stock" and gap.last_missing_skus == ["AMOX-250"] and gap.count == 40

    # a cancelled order's reservation returns once, however many cancellations race for it
    aid, rec = next(r for r in results if r[1].state == "assigned")
    pid = rec.decision.provider_id
    before = stock_of(p, pid, "AMOX-250")
    cancels = _race(5, lambda _: closing.cancel(p, SHOP, aid, "owner cancelled"))
    assert sum(1 for c in cancels if not isinstance(c, Exception)) == 1
    assert all(isinstance(c, DomainError) for c in cancels if isinstance(c, Exception))
    after = stock_of(p, pid, "AMOX-250")
    assert after == {"on_hand": before["on_hand"], "reserved": before["reserved"] - 1, "available": 1}


def test_the_commodity_and_stock_operations_through_their_handlers(aws):
    p: Ports = runtime.ports()
    world = meds_world(p, pharmacies=1)
    clock = world.clock
    (pid,) = world.pharmacies
    pkey = credentials.issue(p, "provider", pid)
    key = (pkey.key_id, pkey.secret)
    spec = {
        "sku": "CARP-75",
        "name": "Carprofen 75 mg",
        "category": "medicine",
        "specification": "75 mg x 14 tablets",
        "unit": "box",
        "prescription_only": True,
        "species": ["dog"],
        "list_price": "88.00",
    }
    status, body = _call(clock, "SaveCommodityFunction", ops=True, path_params={"sku": "CARP-75"}, body=spec)
    assert status == 200 and body["head"]["status"] == "draft" and body["current"]["list_price"] == "88.00", body
    status, body = _call(clock, "SaveCommodityFunction", ops=True, path_params={"sku": "OTHER-1"}, body=spec)
    assert status == 400 and body["error"]["code"] == "SKU_MISMATCH"
    status, body = _call(
        clock,
        "SetCommodityStatusFunction",
        ops=True,
        path_params={"sku": "CARP-75"},
        body={"status": "published", "reason": "approved by the pharmacist"},
    )
    assert status == 200 and body["head"]["status"] == "published"
    status, body = _call(clock, "ListCommoditiesFunction", ops=True, query={"category": "medicine"})
    assert status == 200 and [c["sku"] for c in body["items"]] == ["CARP-75"]

    rows = {
        "items": [
            {"sku": "CARP-75", "region": "310000", "on_hand": 5, "low_threshold": 3},
            {"sku": "CARP-75", "region": "31000", "on_hand": 5},
        ]
    }
    status, body = _call(clock, "PublishStockFunction", key=key, body=rows)
    assert status == 400  # a malformed region fails validation as a whole request
    rows["items"] = [*rows["items"][:1], {"sku": "NONE-1", "region": "110000", "on_hand": 1}]
    status, body = _call(clock, "PublishStockFunction", key=key, body=rows)
    assert status == 200 and (body["updated"], body["rejected"]) == (1, 1), body
    status, body = _call(clock, "ListStockFunction", key=key, query={"region": "310000"})
    assert status == 200 and body["items"][0]["available"] == 5

    number, pet = meds_policy(p, clock)
    shop = credentials.issue(p, "channel", "shop-a")
    skey = (shop.key_id, shop.secret)
    no_rx = order(pet, ("CARP-75", 2)).model_dump(mode="json", exclude_none=True)
    status, body = _call(clock, "BookAppointmentFunction", key=skey, path_params={"number": number}, body=no_rx)
    assert status == 400 and body["error"]["code"] == "PRESCRIPTION_REQUIRED", body
    with_rx = order(pet, ("CARP-75", 2), prescription_ref="RX-20261122-1").model_dump(mode="json", exclude_none=True)
    status, body = _call(clock, "BookAppointmentFunction", key=skey, path_params={"number": number}, body=with_rx)
    assert status == 201, body
    assert stock_of(p, pid, "CARP-75")["reserved"] == 0  # reserved at dispatch, not at booking
