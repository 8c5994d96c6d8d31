"""Keys and items of the catalogue: products and their versions, channels, contracts.

- ``PRODUCT#{code}`` / ``HEAD``        the product head (``gsi1pk = PRODUCTS``), ``version`` = latest.
- ``PRODUCT#{code}`` / ``V#{00001}``   one item per product version, immutable once published.
- ``CHANNEL#{id}`` / ``CHANNEL``       the channel (``gsi1pk = CHANNELS``), ``state`` = its status; its
                                       webhook secret (and, during a rotation's overlap, the one
                                       before it with the time it stops signing) is kept sealed.
- ``CHANNEL#{id}`` / ``CONTRACT#{code}``         the contract of a channel for a product
                                                 (``gsi1pk = CONTRACTS#{code}``), ``version`` = latest.
- ``CHANNEL#{id}`` / ``CONTRACT#{code}#V#{00001}``  every contract version.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from petcover.domain.catalog import ProductVersion
from petcover.ports import Item
from petcover.repositories.access import channel, channel_pk

if TYPE_CHECKING:
    from petcover.models.catalog import Channel, Contract, ProductHead

PRODUCT_LIST = "PRODUCTS"
CHANNEL_LIST = "CHANNELS"
CONTRACT_PREFIX = "CONTRACT#"
HEAD_SK = "HEAD"
_VERSION_MARK = "#V#"


def _version_sk(version: int) -> str:
    return f"V#{version:05d}"


# ---------------------------------------------------------------- products


def product_pk(code: str) -> str:
    return f"PRODUCT#{code}"


def product_head(code: str) -> tuple[str, str]:
    return product_pk(code), HEAD_SK


def product_version(code: str, version: int) -> tuple[str, str]:
    return product_pk(code), _version_sk(version)


def load_head(item: Item) -> ProductHead:
    from petcover.models.catalog import ProductHead

    return ProductHead.model_validate(json.loads(item["data"]))


def load_version(item: Item) -> ProductVersion:
    return ProductVersion.model_validate(json.loads(item["data"]))


def new_head_item(head: ProductHead) -> Item:
    pk, sk = product_head(head.code)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "product",
        "state": "draft",
        "version": 1,
        "gsi1pk": PRODUCT_LIST,
        "gsi1sk": head.code,
        "data": head.model_dump_json(),
    }


def new_version_item(pv: ProductVersion) -> Item:
    """A draft product version."""
    pk, sk = product_version(pv.code, pv.version)
    return {"pk": pk, "sk": sk, "kind": "product_version", "state": "draft", "data": pv.model_dump_json()}


# ---------------------------------------------------------------- channels


WEBHOOK_SECRET = "webhook_secret_sealed"
PREVIOUS_WEBHOOK_SECRET = "previous_webhook_secret_sealed"
PREVIOUS_UNTIL = "previous_webhook_secret_until"
SECRET_FIELDS = (WEBHOOK_SECRET, PREVIOUS_WEBHOOK_SECRET, PREVIOUS_UNTIL)


def channel_data(item: Item) -> dict[str, Any]:
    """The channel's stored document, with the sealed webhook secrets that the API never shows."""
    return dict(json.loads(item["data"]))


def shown_channel_data(data: dict[str, Any]) -> dict[str, Any]:
    """What answers and the audit may show of a channel document: no secret, not even sealed."""
    return {k: v for k, v in data.items() if k not in SECRET_FIELDS}


def webhook_secret_context(channel_id: str) -> dict[str, str]:
    """What a channel's sealed webhook secret is bound to: it opens for this channel only."""
    return {"purpose": "webhook-secret", "channel": channel_id}


def with_new_webhook_secret(data: dict[str, Any], sealed: str, previous_until: datetime | None) -> dict[str, Any]:
    """The document after a rotation: the new secret signs; the current one keeps signing beside it
    until ``previous_until`` (None: it stops now). Only two ever sign at once."""
    out = {k: v for k, v in data.items() if k not in (PREVIOUS_WEBHOOK_SECRET, PREVIOUS_UNTIL)}
    out[WEBHOOK_SECRET] = sealed
    if previous_until is not None and data.get(WEBHOOK_SECRET):
        out[PREVIOUS_WEBHOOK_SECRET] = data[WEBHOOK_SECRET]
        out[PREVIOUS_UNTIL] = previous_until.isoformat()
    return out


def webhook_signing_secrets(data: dict[str, Any], now: datetime) -> list[str]:
    """The sealed secrets that sign a webhook sent at ``now``: the current one, then the previous one
    while its overlap lasts."""
    out = [str(data[WEBHOOK_SECRET])] if data.get(WEBHOOK_SECRET) else []
    until = data.get(PREVIOUS_UNTIL)
    if data.get(PREVIOUS_WEBHOOK_SECRET) and until and now < datetime.fromisoformat(str(until)):
        out.append(str(data[PREVIOUS_WEBHOOK_SECRET]))
    return out


def dump_channel_data(data: dict[str, Any]) -> str:
    return json.dumps(data)


def load_channel(item: Item) -> Channel:
    from petcover.models.catalog import Channel

    return Channel.model_validate({**shown_channel_data(channel_data(item)), "status": item.get("state", "active")})


def new_channel_item(channel_id: str, data: dict[str, Any]) -> Item:
    pk, sk = channel(channel_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "channel",
        "state": "active",
        "gsi1pk": CHANNEL_LIST,
        "gsi1sk": channel_id,
        "data": dump_channel_data(data),
    }


# ---------------------------------------------------------------- contracts


def contract_key(channel_id: str, product_code: str, version: int | None = None) -> tuple[str, str]:
    """The contract's current item, or with ``version`` the item of that version."""
    sk = f"{CONTRACT_PREFIX}{product_code}"
    if version is not None:
        sk = f"{sk}#{_version_sk(version)}"
    return channel_pk(channel_id), sk


def contract_versions_prefix(product_code: str) -> str:
    """The sort-key prefix of every version item of one contract (oldest first)."""
    return f"{CONTRACT_PREFIX}{product_code}{_VERSION_MARK}"


def contract_listing_pk(product_code: str) -> str:
    return f"CONTRACTS#{product_code}"


def is_contract_version(item: Item) -> bool:
    return _VERSION_MARK in item["sk"]


def load_contract(item: Item) -> Contract:
    from petcover.models.catalog import Contract

    return Contract.model_validate({**json.loads(item["data"]), "status": item.get("state", "active")})


def new_contract_items(contract: Contract) -> tuple[Item, Item]:
    """The contract's current item (listed by product) and the item of its first version."""
    pk, sk = contract_key(contract.channel_id, contract.product_code)
    body = contract.model_dump_json()
    current = {
        "pk": pk,
        "sk": sk,
        "kind": "contract",
        "state": "active",
        "version": contract.version,
        "data": body,
        "gsi1pk": contract_listing_pk(contract.product_code),
        "gsi1sk": contract.channel_id,
    }
    return current, contract_version_item(contract)


def contract_version_item(contract: Contract) -> Item:
    pk, sk = contract_key(contract.channel_id, contract.product_code, contract.version)
    return {"pk": pk, "sk": sk, "kind": "contract_version", "state": "active", "data": contract.model_dump_json()}


def clear_out_items(channel_id: str, numbers: list[str], per_item: int = 1000) -> list[Item]:
    """CHANNEL#{id} / CLEAROUT#{n}: the open policies of a cleared-out channel, a thousand per item."""
    pk, _ = channel(channel_id)
    return [
        {"pk": pk, "sk": f"CLEAROUT#{n:04d}", "kind": "channel_clearout", "data": ",".join(numbers[i : i + per_item])}
        for n, i in enumerate(range(0, len(numbers), per_item))
    ]
