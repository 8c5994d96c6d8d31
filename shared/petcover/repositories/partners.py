"""Keys and items of the partner aggregate: accounts, configurations, change requests, documents,
signing keys (of partners and channels), nonces and rate counters.

Main table, partition ``PARTNER#{id}``:

- ``PARTNER``       the account (``state`` = account status); ``gsi1pk = PARTNERNAME#{lower name}``.
                    A guard item ``PARTNERNAME#{lower name}`` / ``NAME`` keeps names unique.
- ``CONFIG#LIVE``   the configuration, ``state`` and ``version``; ``ref`` = the pending change request;
                    ``gsi3pk = PARTNERREVIEW`` while submitted; ``gsi2pk = PROVIDERS#active`` (or
                    ``INSURERS#active``) while active.
- ``CHANGE#{id}``   change requests; ``gsi3pk = PARTNERCHANGE#pending`` while pending.
- ``DOC#{id}``      qualification files issued for upload.

Signing keys: ``KEY#{key id}`` / ``KEY`` with ``gsi1pk = KEYS#{kind}#{owner}`` (the secret sealed by
the secret box, bound to the key id and owner), and the owner's key-set counter
``KEYS#{kind}#{owner}`` / ``KEYSET``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from petcover.ports import Check, Item, Ports, Update
from petcover.repositories import base as entities

# The keys a signed call reads are defined with the adapter's lookups; the aggregate uses them too.
from petcover.repositories.access import (  # noqa: F401
    ACCOUNT_SK,
    KEY_PREFIX,
    channel,
    channel_pk,
    key_owner,
    key_secret,
    nonce,
    partner,
    partner_key,
    partner_pk,
    rate,
    signing_key_context,
)

if TYPE_CHECKING:  # the models load when an item is read: a handler that only builds keys skips them
    from petcover.models.partners import ChangeRequest, PartnerAccount, StoredConfig

CONFIG_SK = "CONFIG#LIVE"
CHANGE_PREFIX = "CHANGE#"
NAME_SK = "NAME"
REVIEW_QUEUE = "PARTNERREVIEW"
PENDING_CHANGES = "PARTNERCHANGE#pending"
ACTIVE_LISTING = {"provider": "PROVIDERS#active", "insurer": "INSURERS#active"}
KEY_SET_SK = "KEYSET"

# Update attributes that take an item out of an index (a None value removes the attribute).
OFF_REVIEW_INDEX: dict[str, Any] = {"gsi3pk": None, "gsi3sk": None}
OFF_LISTING_INDEX: dict[str, Any] = {"gsi2pk": None, "gsi2sk": None}


# ---------------------------------------------------------------- keys


def config_key(partner_id: str) -> tuple[str, str]:
    return partner_pk(partner_id), CONFIG_SK


def change_key(partner_id: str, request_id: str) -> tuple[str, str]:
    return partner_pk(partner_id), f"{CHANGE_PREFIX}{request_id}"


def document_key(partner_id: str, document_id: str) -> tuple[str, str]:
    return partner_pk(partner_id), f"DOC#{document_id}"


def normalise_name(name: str) -> str:
    return " ".join(name.split()).lower()


def name_pk(name: str) -> str:
    """The name guard's partition, also the account's ``gsi1pk``: case and spacing ignored."""
    return f"PARTNERNAME#{normalise_name(name)}"


def name_key(name: str) -> tuple[str, str]:
    return name_pk(name), NAME_SK


def key_set_pk(kind: str, owner_id: str) -> str:
    return f"KEYS#{kind}#{owner_id}"


def key_set(kind: str, owner_id: str) -> tuple[str, str]:
    return key_set_pk(kind, owner_id), KEY_SET_SK


def review_entry(submitted_at: str, partner_id: str) -> dict[str, Any]:
    """Index attributes that put a submitted configuration in the ops review queue."""
    return {"gsi3pk": REVIEW_QUEUE, "gsi3sk": f"{submitted_at}#{partner_id}"}


def listing_pk(kind: str) -> str:
    """The index partition listing active configurations of providers (or insurers)."""
    return ACTIVE_LISTING[kind]


def listing_entry(kind: str, partner_id: str) -> dict[str, Any]:
    return {"gsi2pk": listing_pk(kind), "gsi2sk": partner_id}


def listed_partner_id(item: Item) -> str:
    return str(item["gsi2sk"])


# ---------------------------------------------------------------- accounts


def load_account(item: Item) -> PartnerAccount:
    from petcover.models.partners import PartnerAccount

    acc = entities.load(PartnerAccount, item)
    return acc.model_copy(update={"status": item.get("state", acc.status)})


def account_items(account: PartnerAccount) -> tuple[Item, Item]:
    """The account item and the guard item that keeps its name unique."""
    pk, sk = partner(account.id)
    guard_pk = name_pk(account.name)
    return (
        entities.item(pk, sk, account, kind="partner", state="active", gsi1pk=guard_pk, gsi1sk=account.id),
        {"pk": guard_pk, "sk": NAME_SK, "kind": "partner_name", "ref": account.id},
    )


def account_status_change(after: PartnerAccount, previous: str) -> Update:
    """The account in its new status, conditional on the status it was read in."""
    pk, sk = partner(after.id)
    return Update(pk, sk, set={"state": after.status, "data": entities.dump(after)}, expect=[("state", "=", previous)])


def named_partner_id(guard: Item) -> str:
    return str(guard["ref"])


# ---------------------------------------------------------------- live configuration


@dataclass(frozen=True)
class Live:
    """The stored configuration with the attributes kept beside it."""

    doc: StoredConfig
    state: str
    version: int
    pending: str | None


def load_live(item: Item) -> Live:
    from petcover.models.partners import StoredConfig

    return Live(
        doc=entities.load(StoredConfig, item),
        state=str(item["state"]),
        version=int(item["version"]),
        pending=item.get("ref"),
    )


def get_live(p: Ports, partner_id: str) -> Live | None:
    item = p.store.get(*config_key(partner_id))
    return load_live(item) if item is not None else None


def new_config_item(doc: StoredConfig) -> Item:
    pk, sk = config_key(doc.partner_id)
    return entities.item(pk, sk, doc, kind="partner_config", state="draft", version=1)


# ---------------------------------------------------------------- change requests


def load_change(item: Item) -> ChangeRequest:
    from petcover.models.partners import ChangeRequest

    cr = entities.load(ChangeRequest, item)
    return cr.model_copy(update={"state": item.get("state", cr.state)})


def new_change_item(cr: ChangeRequest) -> Item:
    """A pending change request, listed in the ops queue by the time it was made."""
    pk, sk = change_key(cr.partner_id, cr.id)
    return entities.item(
        pk,
        sk,
        cr,
        kind="partner_change",
        state="pending",
        gsi3pk=PENDING_CHANGES,
        gsi3sk=f"{cr.requested_at}#{cr.id}",
    )


def decided_change(cr: ChangeRequest) -> dict[str, Any]:
    """Update attributes of a change request that was decided: out of the pending queue."""
    return {"state": cr.state, "data": entities.dump(cr), **OFF_REVIEW_INDEX}


# ---------------------------------------------------------------- documents


def document_item(partner_id: str, record: dict[str, Any]) -> Item:
    pk, sk = document_key(partner_id, record["document_id"])
    return {"pk": pk, "sk": sk, "kind": "partner_document", "data": json.dumps(record)}


def document_file_key(item: Item) -> str | None:
    key = json.loads(item["data"]).get("file_key")
    return str(key) if key is not None else None


# ---------------------------------------------------------------- signing keys


def key_item(key_id: str, sealed_secret: str, kind: str, owner_id: str, created_at: str) -> Item:
    """A new active key; its secret is stored sealed (``signing_key_context``), never as issued."""
    pk, sk = partner_key(key_id)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "key",
        "state": "active",
        "owner": key_owner(kind, owner_id),
        "gsi1pk": key_set_pk(kind, owner_id),
        "gsi1sk": created_at,
        "data": json.dumps(
            {"sealed_secret": sealed_secret, "owner_id": owner_id, "owner_kind": kind, "created_at": created_at}
        ),
    }


def key_fields(item: Item) -> dict[str, str]:
    """What may be shown of a key: everything but its secret."""
    d = json.loads(str(item["data"]))
    return {
        "key_id": str(item["pk"]).removeprefix(KEY_PREFIX),
        "owner_id": d["owner_id"],
        "owner_kind": d["owner_kind"],
        "status": str(item.get("state", "active")),
        "created_at": d["created_at"],
    }


def provider_standing_checks(provider_id: str, config_version: int) -> list[Check]:
    """Conditions for a transaction that relies on a provider read earlier (maybe from a cache): its
    account still active, its configuration still active and still at ``config_version``."""
    return [
        Check(*partner(provider_id), expect=[("state", "=", "active")]),
        Check(*config_key(provider_id), expect=[("state", "=", "active"), ("version", "=", config_version)]),
    ]
