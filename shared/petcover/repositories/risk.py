"""Keys and items of risk control: the published rule sets, the velocity counters, the booking queue.

RISK#RULES / CURRENT              the rule set in force: version, data = the RuleSet JSON
RISK#RULES / V#{version:06d}      every published version, kept (who published it, when, why)
RISKCOUNT#{counter}#{subject} / {day}   a velocity counter of one business day: n (ADD, conditional
                                  on the limit when a refusing rule limits it); TTL 40 days. The
                                  subject (holder, insured) is a hash: no personal data in keys.
RISKCOUNT#refunds_after_claim#{subject} / ALL   policies of the insured cancelled for a refund
                                  after a claim (no TTL)
RISKREVIEW#BOOKING / {appointment}  a booking waiting for a staff decision (data = the entry)
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from petcover.domain.risk import Counter, RuleSet, normalise
from petcover.ports import Check, Cond, Delete, Item, Page, Put, Store, Update

RULES_PK = "RISK#RULES"
CURRENT = "CURRENT"
COUNT_TTL_DAYS = 40
ALL = "ALL"
BOOKING_QUEUE = "RISKREVIEW#BOOKING"


def subject(value: str | None) -> str | None:
    """The key of a holder or an insured in a counter: a hash of the normalised value."""
    norm = normalise(value)
    return hashlib.sha256(norm.encode()).hexdigest()[:32] if norm else None


# ------------------------------------------------------------------ rule sets
def rules_key() -> tuple[str, str]:
    return RULES_PK, CURRENT


def version_key(version: int) -> tuple[str, str]:
    return RULES_PK, f"V#{version:06d}"


def load_rules(store: Store) -> RuleSet:
    item = store.get(*rules_key(), consistent=False)
    if item is None:
        return RuleSet()
    return RuleSet.model_validate_json(str(item["data"]))


def rules_meta(store: Store) -> dict[str, Any]:
    item = store.get(*rules_key())
    return json.loads(str(item.get("note") or "{}")) if item else {}


def publish_ops(rules: RuleSet, meta: dict[str, Any]) -> list[Put]:
    """The new version in force (only over the one before it) and kept in the history."""
    pk, sk = rules_key()
    expect: list[Any] = [("version", "=", rules.version - 1)] if rules.version > 1 else []
    current: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "risk_rules",
        "version": rules.version,
        "data": rules.model_dump_json(),
        "note": json.dumps(meta),
    }
    kept: Item = {**current, "sk": version_key(rules.version)[1]}
    return [Put(current, if_absent=rules.version == 1, expect=expect), Put(kept, if_absent=True)]


# ------------------------------------------------------------------ velocity counters
def counter_pk(counter: Counter, subject_key: str) -> str:
    return f"RISKCOUNT#{counter}#{subject_key}"


def day_count(store: Store, counter: Counter, subject_key: str, day: date) -> int:
    item = store.get(counter_pk(counter, subject_key), day.isoformat())
    return int(item.get("n", 0)) if item else 0


def window_count(store: Store, counter: Counter, subject_key: str, last_day: date, days: int) -> int:
    """The sum of the daily counts of the ``days`` days up to ``last_day`` (one query)."""
    first = (last_day - timedelta(days=days - 1)).isoformat()
    page = store.query(counter_pk(counter, subject_key), sk_gte=first, sk_lte=last_day.isoformat(), limit=days)
    return sum(int(i.get("n", 0)) for i in page.items)


def total_count(store: Store, counter: Counter, subject_key: str) -> int:
    item = store.get(counter_pk(counter, subject_key), ALL)
    return int(item.get("n", 0)) if item else 0


def count_op(counter: Counter, subject_key: str, day: date | None, limit: int | None) -> Update:
    """One more in the counter; with ``limit``, only while it is below it (the transaction fails else)."""
    sk = day.isoformat() if day else ALL
    fields: dict[str, Any] = {"kind": "risk_count"}
    if day is not None:
        fields["expires_at"] = int(
            datetime.combine(day + timedelta(days=COUNT_TTL_DAYS), datetime.min.time()).timestamp()
        )
    expect: list[Cond] = [("n", "<?", limit)] if limit is not None else []
    return Update(counter_pk(counter, subject_key), sk, set=fields, add={"n": 1}, expect=expect)


# ------------------------------------------------------------------ booking review queue
def booking_review_key(appointment_id: str) -> tuple[str, str]:
    return BOOKING_QUEUE, appointment_id


def booking_review_item(appointment_id: str, entry: dict[str, Any]) -> Put:
    pk, sk = booking_review_key(appointment_id)
    return Put({"pk": pk, "sk": sk, "kind": "booking_review", "data": json.dumps(entry)}, if_absent=True)


def booking_review_removal(appointment_id: str) -> Delete:
    """Out of the queue, only if it is still in it (a second decision fails)."""
    return Delete(*booking_review_key(appointment_id), expect=[("kind", "=", "booking_review")])


def booking_review_check(appointment_id: str) -> Check:
    return Check(*booking_review_key(appointment_id))


def booking_reviews_page(store: Store, *, limit: int, cursor: str | None) -> Page:
    return store.query(BOOKING_QUEUE, limit=limit, cursor=cursor)


def booking_review_entry(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(str(item["data"]))
    return data
