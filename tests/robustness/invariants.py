"""Invariant checkers: read the emulator's DynamoDB directly (a Scan, in the test only) and prove
the properties the load must not break. Never used by product code.

Each checker returns an ``Invariant``: what was checked, how many objects, and every violation
in words. ``lost`` counts acknowledged writes that cannot be found afterwards (data lost).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from petcover.domain import calendar
from tests.robustness.auth import assert_loopback

Item = dict[str, Any]


@dataclass
class Invariant:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    lost: int = 0
    note: str = ""

    @property
    def holds(self) -> bool:
        return not self.violations

    def fail(self, text: str) -> None:
        self.violations.append(text)


def scan(cloud: Any, logical: str = "MainTable") -> list[Item]:
    """Every item of a table of the deployed stack, as plain Python values."""
    assert_loopback(cloud.endpoint)
    ddb = cloud._boto("dynamodb")
    table = cloud.resources[logical]
    des = TypeDeserializer()
    items: list[Item] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items.extend({k: des.deserialize(v) for k, v in raw.items()} for raw in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _int(v: Any) -> int:
    return int(v) if v is not None else 0


def _data(item: Item) -> dict[str, Any]:
    try:
        return json.loads(item.get("data") or "{}")  # type: ignore[no-any-return]
    except ValueError:
        return {}


def by_kind(items: Iterable[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = defaultdict(list)
    for i in items:
        out[str(i.get("kind") or "")].append(i)
    return out


# ---------------------------------------------------------------- policies


def one_policy_per_key(items: list[Item], answers: dict[str, list[tuple[int, str | None, str]]]) -> Invariant:
    """``answers``: idempotency key -> [(status, policy number or None, channel order id)].

    Every answer carrying a number for one key carries the same number, and exactly one policy
    exists in the table for the key's order.
    """
    inv = Invariant("one policy per idempotency key")
    policies = [i for i in items if str(i.get("sk")) == "POLICY" and str(i.get("pk", "")).startswith("POLICY#")]
    by_order = Counter((i.get("owner"), i.get("ref")) for i in policies)
    for key, seen in answers.items():
        inv.checked += 1
        numbers = {n for _, n, _ in seen if n}
        if len(numbers) > 1:
            inv.fail(f"key {key}: answers name {len(numbers)} different policies {sorted(numbers)}")
        orders = {o for _, _, o in seen}
        for channel_and_order in orders:
            channel, _, order = channel_and_order.partition("/")
            n = by_order.get((channel, order), 0)
            if numbers and n != 1:
                inv.fail(f"key {key}: {n} policies exist for order {order} (expected 1)")
    return inv


def acknowledged_exist(items: list[Item], what: str, pk_prefix: str, sk: str, ids: Iterable[str]) -> Invariant:
    """Every id the API acknowledged (201) exists in the table: anything missing is data lost."""
    inv = Invariant(f"every acknowledged {what} is stored")
    present = {
        str(i["pk"])[len(pk_prefix) :] for i in items if str(i.get("sk")) == sk and str(i["pk"]).startswith(pk_prefix)
    }
    for ident in ids:
        inv.checked += 1
        if ident not in present:
            inv.lost += 1
            inv.fail(f"{what} {ident} was acknowledged but is not stored")
    return inv


# ---------------------------------------------------------------- quota


def quota_never_negative(items: list[Item]) -> Invariant:
    inv = Invariant("no quota below zero (and available = quota - used - held)")
    for i in items:
        if not (str(i.get("sk", "")).startswith("QUOTA#") and str(i.get("pk", "")).startswith("POLICY#")):
            continue
        inv.checked += 1
        where = f"{i['pk']}/{i['sk']}"
        used, held = _int(i.get("used")), _int(i.get("held"))
        if used < 0 or held < 0:
            inv.fail(f"{where}: used {used}, held {held}")
        if i.get("quota") is not None:
            quota, available = _int(i.get("quota")), _int(i.get("available"))
            if available < 0:
                inv.fail(f"{where}: available {available}")
            if used > quota:
                inv.fail(f"{where}: used {used} > quota {quota}")
            if available != quota - used - held:
                inv.fail(f"{where}: available {available} != quota {quota} - used {used} - held {held}")
    return inv


def quota_used_equals_fulfilled(items: list[Item]) -> Invariant:
    """used == fulfilled appointments == deductions, per policy and benefit."""
    inv = Invariant("quota used equals fulfilled appointments")
    fulfilled: Counter[tuple[str, str]] = Counter()
    for a in items:
        if str(a.get("sk")) == "APPT" and str(a.get("pk", "")).startswith("APPT#") and a.get("state") == "fulfilled":
            d = _data(a)
            fulfilled[(str(d.get("policy_number")), str(d.get("benefit_code")))] += 1
    deducted: Counter[tuple[str, str]] = Counter()
    for d in items:
        if d.get("kind") == "quota_deduction":
            deducted[(str(d.get("owner")), str(_data(d).get("benefit_code")))] += 1
    for q in items:
        if not (str(q.get("sk", "")).startswith("QUOTA#") and str(q.get("pk", "")).startswith("POLICY#")):
            continue
        key = (str(q["pk"]).removeprefix("POLICY#"), str(q["sk"]).removeprefix("QUOTA#"))
        inv.checked += 1
        used = _int(q.get("used"))
        if used != fulfilled[key] or used != deducted[key]:
            inv.fail(f"{key[0]}/{key[1]}: used {used}, fulfilled {fulfilled[key]}, deductions {deducted[key]}")
    inv.note = f"{sum(fulfilled.values())} fulfilled appointment(s)"
    return inv


# ---------------------------------------------------------------- dispatch


def dispatch_counters_match(items: list[Item]) -> Invariant:
    """Each provider's daily counter equals the dispatch records that assign to it in that scope and day."""
    inv = Invariant("dispatch counters equal assignments")
    assigned: Counter[tuple[str, str, str]] = Counter()
    for r in items:
        if r.get("kind") != "dispatch_decision" or r.get("state") not in ("assigned", "overridden"):
            continue
        d = _data(r).get("decision") or {}
        if d.get("counter_scope") and d.get("provider_id"):
            assigned[(str(d["business_date"]), str(d["counter_scope"]), str(d["provider_id"]))] += 1
    counters: dict[tuple[str, str, str], int] = {}
    for c in items:
        pk = str(c.get("pk", ""))
        if not pk.startswith("DCOUNT#") or str(c.get("sk")).startswith("#TOTAL"):  # the scope total's shards
            continue
        day, _, scope = pk.removeprefix("DCOUNT#").partition("#")
        counters[(day, scope, str(c["sk"]))] = _int(c.get("n"))
    for key in sorted(set(counters) | set(assigned)):
        inv.checked += 1
        if counters.get(key, 0) != assigned.get(key, 0):
            inv.fail(f"{key[0]} {key[1]} {key[2]}: counter {counters.get(key, 0)}, assignments {assigned.get(key, 0)}")
    inv.note = f"{sum(assigned.values())} assignment(s)"
    return inv


# ---------------------------------------------------------------- statistics


def statistics_match_policies(items: list[Item], channels: Iterable[str] | None = None) -> Invariant:
    """Monthly statistics counters (policies, premium, refunds) equal the sums over the policies."""
    inv = Invariant("statistics equal the sum of policies")
    wanted = set(channels) if channels is not None else None
    stats: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in items:
        pk, sk = str(s.get("pk", "")), str(s.get("sk", ""))
        if not pk.startswith("STAT#") or not sk.startswith("M#"):
            continue
        _, channel, product, _plan = pk.split("#", 3)
        row = stats[(channel, product, sk[2:].split("#", 1)[0])]  # the month, whichever shard
        row[0] += _int(s.get("n"))
        row[1] += _int(s.get("premium"))
        row[2] += _int(s.get("refunds"))
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in items:
        if not (str(p.get("sk")) == "POLICY" and str(p.get("pk", "")).startswith("POLICY#")):
            continue
        d = _data(p)
        created = d.get("created_at")
        month = calendar.month_of(datetime.fromisoformat(str(created))) if created else ""  # a business month
        row = sums[(str(d.get("channel_id")), str(d.get("product_code")), month)]
        row[0] += 1
        row[1] += int((Decimal(str(d.get("premium", "0"))) * 100).to_integral_value())
        if d.get("refund") is not None:
            row[2] += int((Decimal(str(d["refund"])) * 100).to_integral_value())
    for key in sorted(set(stats) | set(sums)):
        if wanted is not None and key[0] not in wanted:
            continue
        inv.checked += 1
        a, b = stats.get(key, [0, 0, 0]), sums.get(key, [0, 0, 0])
        if a != b:
            inv.fail(
                f"{'/'.join(key)}: statistics policies={a[0]} premium={a[1] / 100:.2f} refunds={a[2] / 100:.2f}; "
                f"policies say {b[0]} / {b[1] / 100:.2f} / {b[2] / 100:.2f}"
            )
    return inv


# ---------------------------------------------------------------- outbox


def outbox_drained(items: list[Item], now_iso: str, grace_seconds: int = 120) -> Invariant:
    """Every outbox message was published (released after its commit, or swept within a minute)."""
    from datetime import datetime, timedelta

    inv = Invariant("no outbox message left behind")
    cutoff = (datetime.fromisoformat(now_iso) - timedelta(seconds=grace_seconds)).isoformat()
    for i in items:
        if i.get("kind") != "outbox":
            continue
        inv.checked += 1
        if str(i.get("gsi3sk", "")) < cutoff:
            inv.fail(f"{i['pk']} written at {str(i.get('gsi3sk', ''))[:26]} is still unpublished")
    inv.note = f"{inv.checked} in flight at the end"
    return inv


# ---------------------------------------------------------------- webhooks


def webhooks_delivered_or_dead(
    items: list[Item], dlq_event_ids: set[str], received_event_ids: set[str], channels: Iterable[str] | None = None
) -> Invariant:
    """Every webhook event is delivered (and the receiver has it) or dead (and its copy is in the DLQ)."""
    inv = Invariant("every webhook delivered or in the DLQ")
    wanted = set(channels) if channels is not None else None
    states: Counter[str] = Counter()
    for e in items:
        if e.get("kind") != "webhook_event":
            continue
        if wanted is not None and e.get("owner") not in wanted:
            continue
        inv.checked += 1
        event_id = str(e["pk"]).removeprefix("WEBHOOK#")
        state = str(e.get("state"))
        states[state] += 1
        if state == "delivered":
            if event_id not in received_event_ids:
                inv.lost += 1
                inv.fail(f"{event_id}: marked delivered, but the receiver never got it")
        elif state == "dead":
            if event_id not in dlq_event_ids:
                inv.lost += 1
                inv.fail(f"{event_id}: dead, but no copy in the webhook DLQ")
        elif state in ("held", "skipped"):
            continue  # paused endpoint / closed channel: kept, listed, not lost
        else:
            inv.fail(f"{event_id}: still {state} (neither delivered nor in the DLQ)")
    inv.note = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
    return inv


def pending_webhooks(items: list[Item], channels: Iterable[str] | None = None) -> int:
    wanted = set(channels) if channels is not None else None
    return sum(
        1
        for e in items
        if e.get("kind") == "webhook_event"
        and e.get("state") == "pending"
        and (wanted is None or e.get("owner") in wanted)
    )


def peek_queue(cloud: Any, logical: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Message bodies on a queue, made visible again at once (a look, not a consume)."""
    assert_loopback(cloud.endpoint)
    sqs = cloud._boto("sqs")
    url = sqs.get_queue_url(QueueName=cloud.resources[logical].rsplit("/", 1)[-1])["QueueUrl"]
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    for _ in range(max(1, limit // 10)):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=5)
        msgs = got.get("Messages") or []
        if not msgs:
            break
        for m in msgs:
            handles.append(m["ReceiptHandle"])
            try:
                seen[m["MessageId"]] = json.loads(m["Body"])
            except ValueError:
                seen[m["MessageId"]] = {"raw": m["Body"]}
    for h in handles:
        with contextlib.suppress(Exception):  # the message moved on meanwhile; a look must never fail the check
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=h, VisibilityTimeout=0)
    return list(seen.values())
