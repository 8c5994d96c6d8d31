"""Keys and items of the policy aggregate: the policy document, its versions, and its lookups.

  POLICY#{number} / POLICY          the policy (state, version, remaining sum insured in cents)
  POLICY#{number} / QUOTA#{benefit} quota balance (``repositories.balances``)
  POLICY#{number} / VER#{n}         version history (endorsements, renewals, cancellation); gsi3 POLVER#{day}
  ORDERREF#{channel}#{order_id}     uniqueness of the channel's own order id
  SEQ#POLICY / SEQ                  the policy-number counter (blocks by atomic ADD, never reused)
  EXPIRYRUN / WATERMARK             the last business day the expiry job finished (``ref``, ISO date)
GSIs: gsi1 CHPOL#{channel}#{order_id} (lookup by the channel's order id), gsi2 INSURED#{id}
(policies of an insured), gsi3 EXPIRY#{end date} (the expiry job's bounded daily query).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING

from petcover.domain import calendar
from petcover.domain.money import cents, from_cents
from petcover.errors import StaleWrite
from petcover.ports import Check, Item, Store, Update
from petcover.repositories import sequences
from petcover.repositories.base import paginate

if TYPE_CHECKING:
    from petcover.models.policies import Policy, PolicyVersion

POLICY_SK = "POLICY"
VERSION_PREFIX = "VER#"
ORDER_REF_SK = "ORDERREF"


def policy_pk(number: str) -> str:
    return f"POLICY#{number}"


def policy_key(number: str) -> tuple[str, str]:
    return policy_pk(number), POLICY_SK


def version_key(number: str, version: int) -> tuple[str, str]:
    return policy_pk(number), f"{VERSION_PREFIX}{version:05d}"


def order_ref_key(channel_id: str, order_id: str) -> tuple[str, str]:
    return f"ORDERREF#{channel_id}#{order_id}", ORDER_REF_SK


def channel_order_index(channel_id: str, order_id: str) -> str:
    return f"CHPOL#{channel_id}#{order_id}"


def insured_index(insured_id: str) -> str:
    return f"INSURED#{insured_id}"


def expiry_index(day: date) -> str:
    return f"EXPIRY#{day.isoformat()}"


def sequence_key() -> tuple[str, str]:
    return "SEQ#POLICY", "SEQ"


def expiry_watermark_key() -> tuple[str, str]:
    return "EXPIRYRUN", "WATERMARK"


def next_number(store: Store, year: int) -> str:
    """The next policy number of the year: PC{year}{seq:09d}, from a counter that never repeats."""
    return f"PC{year}{sequences.take(store, sequence_key()):09d}"


# ------------------------------------------------------------------ items
def policy_data(pol: Policy) -> str:
    """The stored document: balances live on their own quota items."""
    return pol.model_dump_json(exclude={"benefits"})


def policy_item(pol: Policy) -> Item:
    pk, sk = policy_key(pol.number)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "policy",
        "state": pol.status,
        "version": pol.version,
        "owner": pol.channel_id,
        "ref": pol.channel_order_id,
        "remaining": cents(pol.remaining_sum_insured),
        "gsi1pk": channel_order_index(pol.channel_id, pol.channel_order_id),
        "gsi1sk": POLICY_SK,
        "gsi2pk": insured_index(pol.insured.insured_id),
        "gsi2sk": f"{pol.product_code}#{pol.number}",
        "gsi3pk": expiry_index(pol.end_date),
        "gsi3sk": pol.number,
        "data": policy_data(pol),
    }


def order_ref_item(pol: Policy) -> Item:
    pk, sk = order_ref_key(pol.channel_id, pol.channel_order_id)
    return {"pk": pk, "sk": sk, "kind": "orderref", "ref": pol.number}


def versions_day_pk(day: str) -> str:
    return f"POLVER#{day}"


def version_item(number: str, version: PolicyVersion) -> Item:
    """A version, indexed by its business day (gsi3 POLVER#{day}) for the nightly reconciliation."""
    pk, sk = version_key(number, version.version)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "policy_version",
        "gsi3pk": versions_day_pk(calendar.day_of(version.at).isoformat()),
        "gsi3sk": f"{version.at.isoformat()}#{number}#{version.version}",
        "data": version.model_dump_json(),
    }


def versions_of_day(store: Store, day: str) -> Iterator[tuple[str, PolicyVersion]]:
    from petcover.models.policies import PolicyVersion

    for item in paginate(store, versions_day_pk(day), index="gsi3", limit=500):
        yield item["pk"].split("#", 1)[1], PolicyVersion.model_validate(json.loads(item["data"]))


def policy_from_item(item: Item) -> Policy:
    """The document, with the top-level state, version and remaining sum (they move on their own)."""
    from petcover.models.policies import Policy

    d = json.loads(item["data"])
    d["status"] = item.get("state", d.get("status"))
    d["version"] = int(item.get("version", d.get("version", 1)))
    if "remaining" in item:
        d["remaining_sum_insured"] = str(from_cents(item["remaining"]))
    d.setdefault("benefits", [])
    return Policy.model_validate(d)


def remaining_cents(item: Item) -> int:
    """The sum insured left on a policy item, in cents, as claim payouts move it."""
    return int(item.get("remaining", 0))


# ------------------------------------------------------------------ conditional updates
def endorsed(before: Policy, after: Policy) -> Update:
    """The new plan's document, if nobody changed the policy (nor paid a claim on it) meanwhile."""
    pk, sk = policy_key(before.number)
    return Update(
        pk,
        sk,
        set={"data": policy_data(after), "version": after.version, "remaining": cents(after.remaining_sum_insured)},
        # A claim payout moves `remaining` without bumping the version: guard it too.
        expect=[
            ("version", "=", before.version),
            ("state", "=", "active"),
            ("remaining", "=", cents(before.remaining_sum_insured)),
        ],
    )


def cancelled(before: Policy, after: Policy) -> Update:
    pk, sk = policy_key(before.number)
    return Update(
        pk,
        sk,
        set={"state": "cancelled", "data": policy_data(after), "version": after.version},
        expect=[("version", "=", before.version), ("state", "=", "active")],
    )


def expire(store: Store, item: Item) -> None:
    """Mark an active policy expired, unless it changed since ``item`` was read (StaleWrite)."""
    store.update(
        item["pk"],
        item["sk"],
        set={"state": "expired"},
        expect=[("state", "=", "active"), ("version", "=", item.get("version"))],
        add={"version": 1},
    )


# ------------------------------------------------------------------ queries
def versions(store: Store, number: str) -> list[PolicyVersion]:
    from petcover.models.policies import PolicyVersion

    page = store.query(policy_pk(number), sk_prefix=VERSION_PREFIX, limit=200)
    return [PolicyVersion.model_validate(json.loads(i["data"])) for i in page.items]


def active_count_for_insured(store: Store, insured_id: str, product_code: str) -> int:
    page = store.query(insured_index(insured_id), index="gsi2", sk_prefix=f"{product_code}#", limit=100)
    return sum(1 for i in page.items if i.get("state") == "active")


def by_insured(store: Store, insured_id: str) -> list[Policy]:
    page = store.query(insured_index(insured_id), index="gsi2", limit=100)
    return [policy_from_item(i) for i in page.items]


def by_order(store: Store, channel_id: str, order_id: str) -> Policy | None:
    page = store.query(channel_order_index(channel_id, order_id), index="gsi1", limit=5)
    return policy_from_item(page.items[0]) if page.items else None


def ending_on(store: Store, day: date) -> Iterator[Item]:
    """Policy items whose term ends on ``day`` (any state): the expiry job's daily query."""
    return paginate(store, expiry_index(day), index="gsi3", limit=200)


def expiry_watermark(store: Store) -> date | None:
    """The last business day whose ended policies the expiry job has expired (None: never ran)."""
    item = store.get(*expiry_watermark_key())
    return date.fromisoformat(str(item["ref"])) if item and item.get("ref") else None


def expiry_done(store: Store, day: date, expired: int, at: datetime) -> bool:
    """Moves the watermark to ``day``; only ever forward (False: a concurrent run was further)."""
    try:
        store.update(
            *expiry_watermark_key(),
            set={
                "kind": "policy_expiry",
                "ref": day.isoformat(),
                "data": json.dumps({"day": day.isoformat(), "expired": expired, "at": at.isoformat()}),
            },
            expect=[("ref", "<?", day.isoformat())],
        )
    except StaleWrite:
        return False
    return True


# ------------------------------------------------------------------ claim payouts
def payable(number: str, cents: int) -> Check:
    """The policy is active and has at least ``cents`` of its sum insured left."""
    pk, sk = policy_key(number)
    return Check(pk, sk, expect=[("remaining", ">=", cents), ("state", "=", "active")])


def paid_out(number: str, cents: int) -> Update:
    """Lower the remaining sum insured; it can never go below zero."""
    pk, sk = policy_key(number)
    return Update(pk, sk, add={"remaining": -cents}, expect=[("remaining", ">=", cents), ("state", "=", "active")])
