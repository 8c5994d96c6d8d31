"""What every repository shares: pydantic entities in the ``data`` attribute, and paging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from petcover.errors import NotFound
from petcover.ports import Item, Ports, Store

M = TypeVar("M", bound=BaseModel)


def dump(model: BaseModel) -> str:
    return model.model_dump_json()


def load(model: type[M], item: Item) -> M:
    return model.model_validate(json.loads(item["data"]))


def get(p: Ports, model: type[M], pk: str, sk: str, *, missing: str, code: str) -> tuple[M, Item]:
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(missing, code=code)
    return load(model, item), item


def item(pk: str, sk: str, model: BaseModel, **attrs: Any) -> Item:
    return {"pk": pk, "sk": sk, "data": dump(model), **{k: v for k, v in attrs.items() if v is not None}}


def paginate(store: Store, pk: str, **query: Any) -> Iterator[Item]:
    """Every item of a query, following the store's cursor page by page.

    ``query`` takes the keyword arguments of ``Store.query`` (index, sk_prefix, limit as page size, ...).
    """
    cursor: str | None = None
    while True:
        page = store.query(pk, cursor=cursor, **query)
        yield from page.items
        cursor = page.cursor
        if not cursor:
            return
