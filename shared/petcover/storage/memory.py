"""In-memory Store with the same conditional semantics as DynamoDB, for unit tests and benches."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from petcover.errors import InvalidInput, StaleWrite
from petcover.ports import Check, Cond, Delete, Item, Page, Put, Update, WriteOp

# Index name -> (partition attribute, sort attribute); mirrors the GSIs in template.yaml.
INDEXES = {"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk"), "gsi3": ("gsi3pk", "gsi3sk")}
# DynamoDB's limits, so a unit test fails where the table would refuse the write.
TRANSACTION_LIMIT = 100  # writes per TransactWriteItems, each to a different item
ITEM_LIMIT = 400 * 1024  # bytes per item (names and values)


def _size(item: Item) -> int:
    return sum(len(k) + len(str(v).encode()) for k, v in item.items() if v is not None)


def _check_transaction(ops: Sequence[WriteOp]) -> None:
    if len(ops) > TRANSACTION_LIMIT:
        raise ValueError(f"a transaction of {len(ops)} writes; DynamoDB takes at most {TRANSACTION_LIMIT}")
    keys = [(op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk) for op in ops]
    if len(set(keys)) != len(keys):
        raise ValueError("a transaction writes one item twice; DynamoDB refuses it")


def _holds(item: Item | None, cond: Cond) -> bool:
    attr, op, value = cond
    present = item is not None and item.get(attr) is not None
    if op.endswith("?"):
        return not present or _holds(item, (attr, op[:-1], value))  # type: ignore[arg-type]
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if not present:
        return op == "<>"
    assert item is not None
    have = item[attr]
    try:
        return {
            "=": have == value,
            "<>": have != value,
            "<": have < value,
            "<=": have <= value,
            ">": have > value,
            ">=": have >= value,
        }[op]
    except TypeError:
        return False


class MemoryStore:
    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Item] = {}
        self._lock = threading.RLock()
        self.calls: dict[str, int] = {}

    def _count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def _check(self, item: Item | None, expect: Sequence[Cond], must_exist: bool = False) -> None:
        if must_exist and item is None:
            raise StaleWrite("The record does not exist.", code="CONDITION_FAILED")
        for cond in expect:
            if not _holds(item, cond):
                raise StaleWrite("The record changed meanwhile.", code="CONDITION_FAILED", details=cond[0])

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        self._count("get")
        with self._lock:
            item = self._items.get((pk, sk))
            return copy.deepcopy(item) if item is not None else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        self._count("get_many")
        with self._lock:
            return {k: copy.deepcopy(self._items[k]) for k in dict.fromkeys(keys) if k in self._items}

    def put(self, item: Item, *, if_absent: bool = False, expect: Sequence[Cond] = ()) -> None:
        self._count("put")
        with self._lock:
            self._apply(Put(item, if_absent, expect))

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
        with self._lock:
            self._apply(Update(pk, sk, set or {}, add or {}, expect, must_exist))
            return copy.deepcopy(self._items[(pk, sk)])

    def delete(self, pk: str, sk: str, *, expect: Sequence[Cond] = ()) -> None:
        self._count("delete")
        with self._lock:
            self._apply(Delete(pk, sk, expect))

    def transact(self, ops: Sequence[WriteOp]) -> None:
        self._count("transact")
        _check_transaction(ops)
        with self._lock:
            # Only the items the transaction touches can change: keep those, not the whole table.
            keys = [(op.item["pk"], op.item["sk"]) if isinstance(op, Put) else (op.pk, op.sk) for op in ops]
            before = {k: self._items.get(k) for k in keys}
            try:
                for op in ops:
                    self._apply(op)
            except StaleWrite:
                for k, item in before.items():
                    if item is None:
                        self._items.pop(k, None)
                    else:
                        self._items[k] = item
                raise

    def _apply(self, op: WriteOp) -> None:
        if isinstance(op, Put):
            key = (op.item["pk"], op.item["sk"])
            current = self._items.get(key)
            if op.if_absent and current is not None:
                raise StaleWrite("The record already exists.", code="ALREADY_EXISTS")
            if _size(op.item) > ITEM_LIMIT:
                raise ValueError(f"an item of {_size(op.item)} bytes; DynamoDB takes at most {ITEM_LIMIT}")
            self._check(current, op.expect)
            self._items[key] = {k: copy.deepcopy(v) for k, v in op.item.items() if v is not None}
        elif isinstance(op, Update):
            key = (op.pk, op.sk)
            current = self._items.get(key)
            self._check(current, op.expect, op.must_exist)
            new: Item = copy.deepcopy(current) if current else {"pk": op.pk, "sk": op.sk}
            for k, v in op.set.items():
                if v is None:
                    new.pop(k, None)
                else:
                    new[k] = copy.deepcopy(v)
            for k, v in op.add.items():
                new[k] = new.get(k, 0) + v
            self._items[key] = new
        elif isinstance(op, Check):
            self._check(self._items.get((op.pk, op.sk)), op.expect, op.must_exist)
        elif isinstance(op, Delete):
            self._check(self._items.get((op.pk, op.sk)), op.expect)
            self._items.pop((op.pk, op.sk), None)

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
        del consistent  # every read here sees every write
        self._count("query")
        pk_attr, sk_attr = INDEXES[index] if index else ("pk", "sk")
        with self._lock:
            rows = [
                copy.deepcopy(i)
                for i in self._items.values()
                if i.get(pk_attr) == pk
                and sk_attr in i
                and (sk_prefix is None or str(i[sk_attr]).startswith(sk_prefix))
                and (sk_lte is None or str(i[sk_attr]) <= sk_lte)
                and (sk_gte is None or str(i[sk_attr]) >= sk_gte)
            ]
        rows.sort(key=lambda i: (str(i[sk_attr]), i["pk"], i["sk"]), reverse=descending)
        if cursor and not cursor.isdigit():
            raise InvalidInput("The cursor is not one this list gave out.", code="INVALID_CURSOR")
        start = int(cursor) if cursor else 0
        page = rows[start : start + limit]
        nxt = str(start + limit) if start + limit < len(rows) else None
        return Page(page, nxt)

    def all_items(self) -> list[Item]:
        """Test helper: every item (never used on a request path)."""
        with self._lock:
            return copy.deepcopy(list(self._items.values()))


class MemoryBlobs:
    """In-memory object store for unit tests (pre-signed URLs are opaque strings here)."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def presign_put(self, key: str, content_type: str, expires_in: int = 900) -> str:
        return f"memory://upload/{key}?expires_in={expires_in}"

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def get_bytes(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found else None


class MemorySecretBox:
    """Sealed secrets for unit tests: the item holds an opaque token, never the secret, and a token
    opens only with the context it was sealed with (as KMS does). Tokens live for the process."""

    PREFIX = "mem:"
    _sealed: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    _lock = threading.Lock()

    def seal_secret(self, plaintext: str, context: Mapping[str, str]) -> str:
        token = f"{self.PREFIX}{uuid.uuid4().hex}"
        with self._lock:
            self._sealed[token] = (plaintext, tuple(sorted(context.items())))
        return token

    def open_secret(self, sealed: str, context: Mapping[str, str]) -> str:
        found = self._sealed.get(sealed)
        if found is None or found[1] != tuple(sorted(context.items())):
            raise ValueError("the sealed secret does not open with this context")
        return found[0]
