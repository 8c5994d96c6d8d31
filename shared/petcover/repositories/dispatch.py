"""Keys and items of smart dispatch: rule versions, the record of each appointment, counters, gaps.

Items (main table):

- ``DISPATCHRULES`` / ``V#{version:05d}``  one published rule version, never changed (``data``:
      ``StoredRuleVersion``; the rules are stored gzip+base64 when their JSON is large).
- ``DISPATCHRULES`` / ``HEAD``  ``version`` = the latest version (publishing is conditional on
      it), ``data``: ``RulesHead``, whose schedule is the version in effect at publish time plus
      every version scheduled later.
- ``DISPATCH#{appointment}`` / ``DECISION``  the dispatch record (``data``: DispatchRecord):
      ``state`` pending -> assigned | manual -> overridden, ``version`` moved by every write,
      ``owner`` = the provider, ``ref`` = when the current claim was taken; while the appointment
      waits in the operations queue ``gsi2pk = MANUALQ``, ``gsi2sk = {received_at}#{appointment}``.
- ``DCOUNT#{date}#{region}#{service}`` / ``{provider}``  ``n``: orders assigned that day in that
      counter scope (absent counts as 0, so a counter is created lazily on first use).
- ``DCOUNT#{date}#{region}#{service}`` / ``#TOTAL#{shard:02d}``  ``n``: orders routed to the scope
      that day, including the ones that went to the operations queue, spread over ``TOTAL_SHARDS``
      items: every dispatch of the scope moves the total in its transaction, and two transactions
      writing one item at once conflict, so each write picks a shard at random and a reader sums
      them. They share the counters' partition, so a day's counts (every provider, every shard) are
      still one Query. (An item ``#TOTAL`` written before the total was sharded counts too.)
- ``DISPATCHGAP`` / ``{region}#{service}``  coverage gap: ``n`` occurrences, ``ref`` = first seen,
      ``data`` = the last occurrence.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime

from petcover.domain.dispatch import RegionRule, ScheduleEntry, scope_of
from petcover.models.base import Model
from petcover.models.dispatch import (
    CoverageGap,
    DispatchRecord,
    RecordState,
    RuleSetSummary,
    RuleSetVersion,
    RuleStatus,
)
from petcover.ports import Cond, Item, Put, Store, Update, WriteOp
from petcover.repositories import overview
from petcover.repositories.base import paginate

RULES_PK = "DISPATCHRULES"
RULES_HEAD_SK = "HEAD"
RULE_VERSION_PREFIX = "V#"
DECISION_SK = "DECISION"
MANUAL_QUEUE = "MANUALQ"  # gsi2pk of the records waiting for ops
COUNTER_PREFIX = "DCOUNT#"
TOTAL_SK = "#TOTAL"  # the sort keys of the scope total's shards start with it
TOTAL_SHARDS = 32  # docs/CAPACITY.md: a national scope at 100x the documented volume
GAP_PK = "DISPATCHGAP"
COUNTER_TTL = timedelta(days=100)
INLINE_RULES_BYTES = 200_000  # larger rule JSON is stored gzip+base64 (items are limited to 400 KB)
COUNTS_PAGE = 1000

# ---------------------------------------------------------------- rule versions and their HEAD


def rule_version_key(version: int) -> tuple[str, str]:
    return RULES_PK, f"{RULE_VERSION_PREFIX}{version:05d}"


def rules_head_key() -> tuple[str, str]:
    return RULES_PK, RULES_HEAD_SK


class RulesHead(Model):
    version: int
    schedule: list[ScheduleEntry]


class StoredRuleVersion(Model):
    version: int
    effective_at: AwareDatetime
    deviation_threshold_pct: float
    daily_target: int
    published_at: AwareDatetime
    published_by: str
    note: str | None = None
    assessment: str | None = None
    rules: list[dict[str, Any]] | None = None
    rules_gzip: str | None = None

    def rule_list(self) -> list[dict[str, Any]]:
        if self.rules is not None:
            return self.rules
        assert self.rules_gzip is not None
        return json.loads(gzip.decompress(base64.b64decode(self.rules_gzip)))  # type: ignore[no-any-return]

    def summary(self, status: RuleStatus) -> RuleSetSummary:
        return RuleSetSummary(
            version=self.version,
            effective_at=self.effective_at,
            published_at=self.published_at,
            published_by=self.published_by,
            rule_count=len(self.rule_list()),
            note=self.note,
            status=status,
        )


def read_head(store: Store) -> RulesHead | None:
    item = store.get(*rules_head_key())
    return RulesHead.model_validate(json.loads(item["data"])) if item else None


def stored_version(item: Item) -> StoredRuleVersion:
    return StoredRuleVersion.model_validate(json.loads(item["data"]))


def version_from_item(item: Item) -> RuleSetVersion:
    s = stored_version(item)
    return RuleSetVersion(
        version=s.version,
        effective_at=s.effective_at,
        rules=[RegionRule.model_validate(r) for r in s.rule_list()],
        deviation_threshold_pct=s.deviation_threshold_pct,
        daily_target=s.daily_target,
        published_at=s.published_at,
        published_by=s.published_by,
        note=s.note,
        assessment=s.assessment,
    )


def get_version_item(store: Store, version: int) -> Item | None:
    """Eventually consistent: a version never changes once its publish has committed."""
    return store.get(*rule_version_key(version), consistent=False)


def versions_page(store: Store, limit: int, cursor: str | None) -> tuple[list[StoredRuleVersion], str | None]:
    """One page of the published versions, newest first."""
    page = store.query(RULES_PK, sk_prefix=RULE_VERSION_PREFIX, descending=True, limit=limit, cursor=cursor)
    return [stored_version(item) for item in page.items], page.cursor


def version_item(v: RuleSetVersion) -> Item:
    raw_rules = [r.model_dump(mode="json") for r in v.rules]
    text = json.dumps(raw_rules, separators=(",", ":"))
    inline = len(text) <= INLINE_RULES_BYTES
    stored = StoredRuleVersion(
        version=v.version,
        effective_at=v.effective_at,
        deviation_threshold_pct=v.deviation_threshold_pct,
        daily_target=v.daily_target,
        published_at=v.published_at,
        published_by=v.published_by,
        note=v.note,
        assessment=v.assessment,
        rules=raw_rules if inline else None,
        rules_gzip=None if inline else base64.b64encode(gzip.compress(text.encode())).decode(),
    )
    pk, sk = rule_version_key(v.version)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "dispatch_rules",
        "version": v.version,
        "data": stored.model_dump_json(exclude_none=True),
    }


def publish_ops(v: RuleSetVersion, head: RulesHead, previous: int | None) -> list[Put]:
    """The new version and HEAD moved to it, conditional on HEAD still being at ``previous``."""
    pk, sk = rules_head_key()
    head_item: Item = {"pk": pk, "sk": sk, "kind": "dispatch_rules_head", "version": head.version}
    head_item["data"] = head.model_dump_json()
    if previous is None:
        head_put = Put(head_item, if_absent=True)
    else:
        head_put = Put(head_item, expect=[("version", "=", previous)])
    return [Put(version_item(v), if_absent=True), head_put]


# ---------------------------------------------------------------- the record of one appointment


def decision_key(appointment_id: str) -> tuple[str, str]:
    return f"DISPATCH#{appointment_id}", DECISION_SK


def manual_queue_sk(rec: DispatchRecord) -> str:
    return f"{rec.received_at.isoformat()}#{rec.appointment_id}"


def record_from_item(item: Item) -> DispatchRecord:
    rec = DispatchRecord.model_validate(json.loads(item["data"]))
    return rec.model_copy(update={"state": item.get("state", rec.state), "version": int(item.get("version") or 1)})


def claimed_at(item: Item, rec: DispatchRecord) -> datetime:
    """When the current claim on a record was taken."""
    return datetime.fromisoformat(str(item.get("ref") or rec.received_at.isoformat()))


def claim_item(rec: DispatchRecord, now: datetime) -> Item:
    pk, sk = decision_key(rec.appointment_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "dispatch_decision",
        "state": rec.state,
        "version": rec.version,
        "ref": now.isoformat(),
        "data": rec.model_dump_json(),
    }


def take_over_claim(store: Store, rec: DispatchRecord, now: datetime) -> None:
    """Move a pending claim to ``now``; StaleWrite if the record moved since ``rec`` was read."""
    store.update(
        *decision_key(rec.appointment_id),
        set={"ref": now.isoformat()},
        add={"version": 1},
        expect=[("state", "=", "pending"), ("version", "=", rec.version)],
    )


def settle_ops(new: DispatchRecord, state: RecordState, previous_version: int) -> list[WriteOp]:
    """pending -> ``state`` with ``new``'s decision, refused if the claim is no longer ours."""
    sets: dict[str, Any] = {"state": state, "owner": new.decision.provider_id if new.decision else None}
    sets["data"] = new.model_dump_json()
    if state == "manual":
        sets["gsi2pk"] = MANUAL_QUEUE
        sets["gsi2sk"] = manual_queue_sk(new)
    change = Update(
        *decision_key(new.appointment_id),
        set=sets,
        add={"version": 1},
        expect=[("state", "=", "pending"), ("version", "=", previous_version)],
    )
    return [change, overview.gauge_add({"manual_queue": 1})] if state == "manual" else [change]  # the queue size


def settle(store: Store, new: DispatchRecord, state: RecordState, previous_version: int) -> None:
    """``settle_ops`` on their own; StaleWrite if the claim is no longer ours."""
    ops = settle_ops(new, state, previous_version)
    if len(ops) == 1 and isinstance(ops[0], Update):
        change = ops[0]
        store.update(change.pk, change.sk, set=change.set, add=change.add, expect=change.expect)
        return
    store.transact(ops)


def left_queue(previous_state: str) -> list[WriteOp]:
    """A record leaving its state: out of the operations queue if it was waiting there."""
    return [overview.gauge_add({"manual_queue": -1})] if previous_state == "manual" else []


def save_override(store: Store, new: DispatchRecord, previous_version: int, also: Sequence[WriteOp] = ()) -> None:
    """The record overridden by hand, out of the operations queue (with ``also``, e.g. its audit
    record and ``left_queue``, in the same transaction); StaleWrite if it moved meanwhile."""
    change = Update(
        *decision_key(new.appointment_id),
        set={
            "state": "overridden",
            "owner": new.decision.provider_id if new.decision else None,
            "data": new.model_dump_json(),
            "gsi2pk": None,
            "gsi2sk": None,
        },
        add={"version": 1},
        expect=[("version", "=", previous_version)],
    )
    store.transact([change, *also])


def start_round(new: DispatchRecord, now: datetime, previous_version: int) -> Update:
    """The record claimed again for a new round (after a decline), out of the operations queue;
    fails if it moved since it was read at ``previous_version``."""
    return Update(
        *decision_key(new.appointment_id),
        set={
            "state": "pending",
            "owner": None,
            "ref": now.isoformat(),
            "data": new.model_dump_json(),
            "gsi2pk": None,
            "gsi2sk": None,
        },
        add={"version": 1},
        expect=[("version", "=", previous_version)],
    )


def manual_queue_page(store: Store, limit: int, cursor: str | None) -> tuple[list[DispatchRecord], str | None]:
    """One page of the records waiting for ops, oldest first."""
    page = store.query(MANUAL_QUEUE, index="gsi2", limit=limit, cursor=cursor)
    return [record_from_item(item) for item in page.items], page.cursor


# ---------------------------------------------------------------- daily counters


def counter_pk(day: str, scope: str) -> str:
    return f"{COUNTER_PREFIX}{day}#{scope}"


def counter_key(day: str, scope: str, provider_id: str) -> tuple[str, str]:
    return counter_pk(day, scope), provider_id


def total_key(day: str, scope: str, shard: int | None = None) -> tuple[str, str]:
    """One shard of the scope total: ``shard`` (modulo ``TOTAL_SHARDS``), or one at random."""
    n = random.randrange(TOTAL_SHARDS) if shard is None else shard % TOTAL_SHARDS
    return counter_pk(day, scope), f"{TOTAL_SK}#{n:02d}"


def is_total(sk: str) -> bool:
    """Whether a counter item is a shard of the scope total (a provider id never starts with ``#``)."""
    return sk.startswith(TOTAL_SK)


def read_counts(store: Store, day: str, scope: str) -> tuple[dict[str, int], int]:
    """A day's per-provider counts and the scope total (its shards summed)."""
    counts: dict[str, int] = {}
    total = 0
    for item in paginate(store, counter_pk(day, scope), limit=COUNTS_PAGE):
        n = int(item.get("n") or 0)
        if is_total(str(item["sk"])):
            total += n
        else:
            counts[str(item["sk"])] = n
    return counts, total


def _counter_attrs(now: datetime) -> dict[str, Any]:
    return {"kind": "dispatch_counter", "expires_at": int((now + COUNTER_TTL).timestamp())}


def counter_add(key: tuple[str, str], now: datetime, by: int = 1, below: int | None = None) -> Update:
    """ADD ``by`` to a counter; with ``below``, only while it is under that."""
    expect: list[Cond] = [("n", "<?", below)] if below is not None else []
    return Update(*key, add={"n": by}, set=_counter_attrs(now), expect=expect)


def add_to_counter(store: Store, key: tuple[str, str], now: datetime, by: int = 1, below: int | None = None) -> int:
    """``counter_add`` on its own (StaleWrite if at ``below``); the counter's new value."""
    op = counter_add(key, now, by, below)
    return int(store.update(op.pk, op.sk, add=op.add, set=op.set, expect=op.expect).get("n") or 0)


def give_back(day: str, scope: str, provider_id: str, now: datetime) -> list[Update]:
    """One order less for the provider and the scope that day (it declined the order)."""
    attrs = _counter_attrs(now)
    return [
        Update(*counter_key(day, scope, provider_id), add={"n": -1}, set=attrs),
        Update(*total_key(day, scope), add={"n": -1}, set=attrs),
    ]


def zero_counter_item(key: tuple[str, str], now: datetime) -> Item:
    return {"pk": key[0], "sk": key[1], "n": 0, **_counter_attrs(now)}


# ---------------------------------------------------------------- coverage gaps


def gap_key(region_code: str, service_type: str) -> tuple[str, str]:
    return GAP_PK, scope_of(region_code, service_type)


def gap_data(
    region_code: str,
    service_type: str,
    seen_at: datetime,
    appointment_id: str,
    kind: str,
    reason: str,
    missing_skus: list[str] | None = None,
    rule: str | None = None,
) -> str:
    """The ``data`` of a gap item: its last occurrence."""
    return json.dumps(
        {
            "last_missing_skus": missing_skus or [],
            "region_code": region_code,
            "service_type": service_type,
            "last_seen": seen_at.isoformat(),
            "last_appointment_id": appointment_id,
            "last_kind": kind,
            "last_reason": reason,
            "last_rule": rule,
        }
    )


def count_gap(store: Store, key: tuple[str, str], data: str) -> None:
    """One more occurrence of a gap already recorded; StaleWrite if it is not."""
    store.update(*key, add={"n": 1}, set={"data": data}, must_exist=True)


def create_gap(store: Store, key: tuple[str, str], data: str, first_seen: datetime) -> None:
    """The first occurrence of a gap; StaleWrite if it was recorded meanwhile."""
    store.put(
        {"pk": key[0], "sk": key[1], "kind": "dispatch_gap", "n": 1, "ref": first_seen.isoformat(), "data": data},
        if_absent=True,
    )


def gaps_page(store: Store, limit: int, cursor: str | None) -> tuple[list[CoverageGap], str | None]:
    page = store.query(GAP_PK, limit=limit, cursor=cursor)
    gaps = []
    for item in page.items:
        d = json.loads(item["data"])
        gaps.append(CoverageGap(count=int(item.get("n") or 0), first_seen=str(item.get("ref") or d["last_seen"]), **d))
    return gaps, page.cursor
