"""Keys and items of staff money requests (maker-checker).

MONEYREQ#{id} / REQUEST    the request: state = requested | approved | rejected, version guards the decision
    gsi1 MONEYREQS#{state} / {requested_at}#{id}    the review queue (and the decided ones)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petcover.ports import Item, Put, Store, Update
from petcover.repositories.base import dump, load, paginate

if TYPE_CHECKING:
    from petcover.models.money import MoneyRequest


def key(request_id: str) -> tuple[str, str]:
    return f"MONEYREQ#{request_id}", "REQUEST"


def queue_pk(state: str) -> str:
    return f"MONEYREQS#{state}"


def new_item(r: MoneyRequest) -> Put:
    pk, sk = key(r.request_id)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "money_request",
        "state": r.status,
        "version": 1,
        "gsi1pk": queue_pk(r.status),
        "gsi1sk": f"{r.requested_at.isoformat()}#{r.request_id}",
        "data": dump(r),
    }
    return Put(item, if_absent=True)


def decided(before: MoneyRequest, after: MoneyRequest) -> Update:
    pk, sk = key(before.request_id)
    return Update(
        pk,
        sk,
        set={"state": after.status, "version": 2, "gsi1pk": queue_pk(after.status), "data": dump(after)},
        expect=[("state", "=", "requested"), ("version", "=", 1)],
    )


def get(store: Store, request_id: str) -> MoneyRequest | None:
    from petcover.models.money import MoneyRequest

    item = store.get(*key(request_id))
    return load(MoneyRequest, item) if item else None


def by_state(store: Store, state: str, limit: int = 200) -> list[MoneyRequest]:
    from petcover.models.money import MoneyRequest

    return [load(MoneyRequest, i) for i in store.query(queue_pk(state), index="gsi1", limit=limit).items]


def iterate(store: Store, state: str) -> list[MoneyRequest]:
    from petcover.models.money import MoneyRequest

    return [load(MoneyRequest, i) for i in paginate(store, queue_pk(state), index="gsi1")]


def page(
    store: Store, state: str, limit: int, cursor: str | None, *, newest_first: bool
) -> tuple[list[MoneyRequest], str | None]:
    from petcover.models.money import MoneyRequest

    got = store.query(queue_pk(state), index="gsi1", limit=limit, cursor=cursor, descending=newest_first)
    return [load(MoneyRequest, i) for i in got.items], got.cursor
