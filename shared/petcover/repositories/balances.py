"""Benefit balances of a policy: its quota items (keys from ``repositories.quota``) as models.

A balance with a quota keeps quota, used, held and available as top-level counters, so bookings
move them with guarded ADDs; the ``data`` document holds the rest of the benefit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from petcover.ports import Cond, Item, Store, Update
from petcover.repositories.policies import POLICY_SK, policy_pk
from petcover.repositories.quota import QUOTA_PREFIX, quota_key

if TYPE_CHECKING:
    from petcover.models.policies import BenefitBalance


def quota_item(number: str, b: BenefitBalance) -> Item:
    """A fresh balance: nothing used or held yet."""
    qpk, qsk = quota_key(number, b.code)
    item: Item = {"pk": qpk, "sk": qsk, "kind": "quota", "data": b.model_dump_json()}
    if b.quota is not None:
        item.update({"quota": b.quota, "used": 0, "held": 0, "available": b.quota})
    return item


def quota_resized(number: str, benefit_code: str, delta: int) -> Update:
    """Quota and availability move together; a cut never takes back what is used or held."""
    guard: list[Cond] = [("available", ">=", -delta)] if delta < 0 else []
    return Update(*quota_key(number, benefit_code), add={"quota": delta, "available": delta}, expect=guard)


def balance_from_item(item: Item) -> BenefitBalance:
    from petcover.models.policies import BenefitBalance

    b = BenefitBalance.model_validate(json.loads(item["data"]))
    if "quota" in item:
        b.quota, b.used, b.held, b.available = (
            int(item["quota"]),
            int(item.get("used", 0)),
            int(item.get("held", 0)),
            int(item.get("available", 0)),
        )
    return b


def policy_and_balances(store: Store, number: str) -> tuple[Item | None, list[BenefitBalance]]:
    """The policy's document and its quota balances in one consistent Query: their sort keys
    (``POLICY``, ``QUOTA#...``) are adjacent, and nothing else of a policy sorts between them."""
    page = store.query(policy_pk(number), sk_gte=POLICY_SK, sk_lte=QUOTA_PREFIX + "\uffff", limit=100, consistent=True)
    doc = next((i for i in page.items if i["sk"] == POLICY_SK), None)
    return doc, [balance_from_item(i) for i in page.items if str(i["sk"]).startswith(QUOTA_PREFIX)]


def balances(store: Store, number: str) -> list[BenefitBalance]:
    page = store.query(policy_pk(number), sk_prefix=QUOTA_PREFIX, limit=50)
    return [balance_from_item(i) for i in page.items]
