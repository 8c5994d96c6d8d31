"""The main table through pynamodb: one generic record model, conditional writes, transactions.

The table is single-table design: ``pk``/``sk`` plus three overloaded GSIs (see the access
patterns in README). Its name and keys come from template.yaml via the environment.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DeleteError,
    GetError,
    PutError,
    QueryError,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from petcover.errors import InvalidInput, StaleWrite, Unavailable
from petcover.ports import Check, Cond, Delete, Item, Page, Put, Update, WriteOp

# Exception names, plus the cancellation-reason names DynamoDB uses inside TransactWriteItems.
THROTTLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "ThrottlingException",
    "ThrottlingError",
    "RequestLimitExceeded",
    "InternalServerError",
}


def _gsi(name: str, pk: str, sk: str) -> GlobalSecondaryIndex:
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    attrs = {
        "Meta": meta,
        pk: UnicodeAttribute(hash_key=True),
        sk: UnicodeAttribute(range_key=True),
    }
    cls = type(f"{name.capitalize()}Index", (GlobalSecondaryIndex,), attrs)
    return cls()  # type: ignore[no-any-return]


class Record(Model):
    class Meta:
        table_name = "petcover-main"  # replaced by DynamoStore.bind from settings
        host: str | None = None
        region = "us-east-1"
        max_retry_attempts = 4
        base_backoff_ms = 25

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)  # the entity's JSON document
    note = UnicodeAttribute(null=True)  # a short reason written with a state change (reservations)
    breached = UnicodeAttribute(null=True)  # an open work order found late at its node (the breach's key)
    version = NumberAttribute(null=True)
    fence = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds)
    # Counters, always moved with atomic ADD and guarded by conditions.
    seq = NumberAttribute(null=True)
    quota = NumberAttribute(null=True)
    used = NumberAttribute(null=True)
    held = NumberAttribute(null=True)
    available = NumberAttribute(null=True)
    n = NumberAttribute(null=True)
    amount = NumberAttribute(null=True)
    premium = NumberAttribute(null=True)
    refunds = NumberAttribute(null=True)
    claims = NumberAttribute(null=True)
    claim_amount = NumberAttribute(null=True)
    remaining = NumberAttribute(null=True)
    attempts = NumberAttribute(null=True)
    accepted = NumberAttribute(null=True)
    issued = NumberAttribute(null=True)
    rejected = NumberAttribute(null=True)
    total = NumberAttribute(null=True)
    # Provider stock (repositories.commodities) and per-item allowances of a benefit.
    on_hand = NumberAttribute(null=True)
    reserved = NumberAttribute(null=True)
    threshold = NumberAttribute(null=True)
    crossings = NumberAttribute(null=True)
    taken = NumberAttribute(null=True)
    # The overview's day counters and gauges (repositories.overview).
    policies_issued = NumberAttribute(null=True)
    cancellations = NumberAttribute(null=True)
    claims_opened = NumberAttribute(null=True)
    claims_paid = NumberAttribute(null=True)
    claims_paid_amount = NumberAttribute(null=True)
    bookings = NumberAttribute(null=True)
    fulfilled = NumberAttribute(null=True)
    appointments_cancelled = NumberAttribute(null=True)
    sla_breaches = NumberAttribute(null=True)
    open_breaches = NumberAttribute(null=True)
    manual_queue = NumberAttribute(null=True)
    # Insurer channels: a pending policy's current insurer and attempt, when to look at it next.
    insurer = UnicodeAttribute(null=True)
    attempt = NumberAttribute(null=True)
    due = NumberAttribute(null=True)

    gsi1 = _gsi("gsi1", "gsi1pk", "gsi1sk")
    gsi2 = _gsi("gsi2", "gsi2pk", "gsi2sk")
    gsi3 = _gsi("gsi3", "gsi3pk", "gsi3sk")


ATTRS: dict[str, Any] = {name: getattr(Record, name) for name in Record.get_attributes()}
NUMERIC = {name for name, attr in ATTRS.items() if isinstance(attr, NumberAttribute)}


def _attr(name: str) -> Any:
    try:
        return ATTRS[name]
    except KeyError:
        raise KeyError(f"'{name}' is not an attribute of the main table record") from None


def _condition(expect: Sequence[Cond], must_exist: bool = False) -> Condition | None:
    parts: list[Condition] = []
    if must_exist:
        parts.append(Record.pk.exists())
    for name, op, value in expect:
        a = _attr(name)
        if op.endswith("?"):
            inner = _condition([(name, op[:-1], value)])  # type: ignore[list-item]
            assert inner is not None
            parts.append(a.does_not_exist() | inner)
            continue
        if op == "exists":
            parts.append(a.exists())
        elif op == "not_exists":
            parts.append(a.does_not_exist())
        elif op == "=":
            parts.append(a == value)
        elif op == "<>":
            parts.append(a.does_not_exist() | (a != value))
        elif op == "<":
            parts.append(a < value)
        elif op == "<=":
            parts.append(a <= value)
        elif op == ">":
            parts.append(a > value)
        elif op == ">=":
            parts.append(a >= value)
    if not parts:
        return None
    cond = parts[0]
    for p in parts[1:]:
        cond = cond & p
    return cond


def _to_item(rec: Record) -> Item:
    out: Item = {}
    for name in ATTRS:
        v = getattr(rec, name)
        if v is None:
            continue
        if name in NUMERIC and isinstance(v, float) and v.is_integer():
            v = int(v)
        out[name] = v
    return out


def _actions(set_: Mapping[str, Any], add: Mapping[str, int | float]) -> list[Any]:
    acts: list[Any] = []
    for k, v in set_.items():
        acts.append(_attr(k).remove() if v is None else _attr(k).set(v))
    for k, inc in add.items():
        acts.append(_attr(k).add(inc))
    return acts


def _translate(exc: Exception) -> Exception:
    cause = getattr(exc, "cause_response_code", None)
    if cause == "ConditionalCheckFailedException":
        return StaleWrite("The record changed meanwhile.", code="CONDITION_FAILED")
    if isinstance(exc, TransactWriteError) and cause == "TransactionCanceledException":
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
        if any(r in THROTTLE_CODES or r == "TransactionConflict" for r in reasons):
            return Unavailable("The store is busy; retry shortly.", retry_after=1)
        return StaleWrite("The records changed meanwhile.", code="CONDITION_FAILED", details=reasons)
    if cause in THROTTLE_CODES:
        return Unavailable("The store is throttling requests; retry shortly.", retry_after=1)
    return exc


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "The cursor is not one this list gave out.",
        code="INVALID_CURSOR",
        details=[{"field": "cursor", "message": "invalid"}],
    )


def _decode_cursor(cursor: str) -> dict[str, Any]:
    """A cursor is the last key we returned, base64 JSON; anything else is the caller's mistake."""
    try:
        start = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError):
        raise _bad_cursor() from None
    if not isinstance(start, dict) or not all(isinstance(v, dict) for v in start.values()):
        raise _bad_cursor()
    return start


_connections: dict[tuple[str, str | None], Connection] = {}


def _connection() -> Connection:
    """One low-level connection per table binding, reused across transactions (no per-call setup)."""
    key = (Record.Meta.region, Record.Meta.host)
    if key not in _connections:
        _connections[key] = Connection(region=Record.Meta.region, host=Record.Meta.host)
    return _connections[key]


class DynamoStore:
    """Store port on DynamoDB. Construct once per cold start with ``DynamoStore.bind``."""

    calls: ClassVar[dict[str, int]] = {}

    @classmethod
    def bind(cls, table_name: str, region: str, host: str | None = None) -> DynamoStore:
        Record.Meta.table_name = table_name
        Record.Meta.region = region
        Record.Meta.host = host
        Record._connection = None  # rebuilt lazily with the new table name / endpoint
        _connections.clear()
        return cls()

    def _count(self, op: str) -> None:
        DynamoStore.calls[op] = DynamoStore.calls.get(op, 0) + 1

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self._count("get")
        try:
            return _to_item(Record.get(pk, sk, consistent_read=consistent))
        except Record.DoesNotExist:
            return None
        except GetError as exc:
            raise _translate(exc) from exc

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """One BatchGetItem (consistent) for up to 100 keys; pynamodb retries unprocessed keys itself."""
        self._count("get_many")
        wanted = list(dict.fromkeys(keys))
        try:
            found = [_to_item(rec) for rec in Record.batch_get(wanted, consistent_read=True)]
        except GetError as exc:
            raise _translate(exc) from exc
        return {(str(item["pk"]), str(item["sk"])): item for item in found}

    def put(self, item: Item, *, if_absent: bool = False, expect: Sequence[Cond] = ()) -> None:
        self._count("put")
        rec = Record(**item)
        cond = _condition(expect)
        if if_absent:
            cond = Record.pk.does_not_exist() if cond is None else (Record.pk.does_not_exist() & cond)
        try:
            rec.save(condition=cond)
        except PutError as exc:
            err = _translate(exc)
            if if_absent and isinstance(err, StaleWrite):
                err = StaleWrite("The record already exists.", code="ALREADY_EXISTS")
            raise err from exc

    def update(
        self,
        pk: str,
        sk: str,
        *,
        set: Mapping[str, Any] | None = None,
        add: Mapping[str, int | float] | None = None,
        expect: Sequence[Cond] = (),
        must_exist: bool = False,
    ) -> Item:
        self._count("update")
        rec = Record(pk, sk)
        try:
            rec.update(actions=_actions(set or {}, add or {}), condition=_condition(expect, must_exist))
        except UpdateError as exc:
            raise _translate(exc) from exc
        return _to_item(rec)

    def delete(self, pk: str, sk: str, *, expect: Sequence[Cond] = ()) -> None:
        self._count("delete")
        try:
            Record(pk, sk).delete(condition=_condition(expect))
        except DeleteError as exc:
            raise _translate(exc) from exc

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_prefix: str | None = None,
        sk_lte: str | None = None,
        sk_gte: str | None = None,
        limit: int = 100,
        descending: bool = False,
        cursor: str | None = None,
        consistent: bool = False,
    ) -> Page:
        self._count("query")
        target: Any = getattr(Record, index) if index else Record
        sk_attr = _attr(f"{index}sk") if index else Record.sk
        cond = None
        if sk_prefix is not None:
            cond = sk_attr.startswith(sk_prefix)
        elif sk_lte is not None and sk_gte is not None:
            cond = sk_attr.between(sk_gte, sk_lte)
        elif sk_lte is not None:
            cond = sk_attr <= sk_lte
        elif sk_gte is not None:
            cond = sk_attr >= sk_gte
        start = _decode_cursor(cursor) if cursor else None
        try:
            result = target.query(
                pk,
                range_key_condition=cond,
                limit=limit,
                page_size=limit,
                scan_index_forward=not descending,
                last_evaluated_key=start,
                consistent_read=consistent and index is None,  # an index is only eventually consistent
            )
            items = [_to_item(r) for r in result]
        except QueryError as exc:
            if start is not None and getattr(exc, "cause_response_code", None) == "ValidationException":
                raise _bad_cursor() from None
            raise _translate(exc) from exc
        last = result.last_evaluated_key
        nxt = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
        return Page(items, nxt)

    def transact(self, ops: Sequence[WriteOp]) -> None:
        self._count("transact")
        conn = _connection()
        try:
            with TransactWrite(connection=conn) as tx:
                for op in ops:
                    if isinstance(op, Put):
                        cond = _condition(op.expect)
                        if op.if_absent:
                            absent = Record.pk.does_not_exist()
                            cond = absent if cond is None else absent & cond
                        tx.save(Record(**op.item), condition=cond)
                    elif isinstance(op, Update):
                        tx.update(
                            Record(op.pk, op.sk),
                            actions=_actions(op.set, op.add),
                            condition=_condition(op.expect, op.must_exist),
                        )
                    elif isinstance(op, Check):
                        cond = _condition(op.expect, op.must_exist)
                        tx.condition_check(Record, op.pk, op.sk, condition=cond)
                    elif isinstance(op, Delete):
                        tx.delete(Record(op.pk, op.sk), condition=_condition(op.expect))
        except TransactWriteError as exc:
            raise _translate(exc) from exc
