"""Keys and items of settlements and reconciliation reports.

SETTLEMENT#{id} / SETTLEMENT     a statement's totals and status (its lines are in the files);
                                 state = issued | settled | approved | paid; version guards each change
    gsi1 SETTLEMENTS#{party}#{party id} / {month}   a party's settlements, latest first
    gsi2 SETTLEMENTMONTH#{month} / {party}#{party id}  the settlements of a month, every party
RECON#{day} / REPORT             the nightly reconciliation's summary and the keys of its files
    gsi1 RECONS / {day}                            the nights, latest first
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from petcover.ports import Item, Page, Put, Store, Update
from petcover.repositories.base import dump, load

if TYPE_CHECKING:
    from petcover.models.money import Settlement


def settlement_id(party: str, party_id: str, month: str) -> str:
    return f"{party}.{party_id}.{month}"


def parse_id(value: str) -> tuple[str, str, str] | None:
    party, _, rest = value.partition(".")
    party_id, _, month = rest.rpartition(".")
    if party not in ("channel", "provider") or not party_id or len(month) != 7:
        return None
    return party, party_id, month


def key(sid: str) -> tuple[str, str]:
    return f"SETTLEMENT#{sid}", "SETTLEMENT"


def listing_pk(party: str, party_id: str) -> str:
    return f"SETTLEMENTS#{party}#{party_id}"


def new_item(s: Settlement) -> Put:
    pk, sk = key(s.settlement_id)
    doc = s.model_copy(update={"lines": []})
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "settlement",
        "state": s.status,
        "version": 1,
        "gsi1pk": listing_pk(s.party, s.party_id),
        "gsi1sk": s.month,
        "gsi2pk": month_pk(s.month),
        "gsi2sk": f"{s.party}#{s.party_id}",
        "data": dump(doc),
    }
    return Put(item, if_absent=True)


def month_pk(month: str) -> str:
    return f"SETTLEMENTMONTH#{month}"


def of_party(store: Store, party: str, party_id: str, month: str | None, limit: int, cursor: str | None) -> Page:
    """A party's settlements, latest month first (one month when given)."""
    return store.query(
        listing_pk(party, party_id),
        index="gsi1",
        sk_gte=month,
        sk_lte=month,
        descending=True,
        limit=limit,
        cursor=cursor,
    )


def of_month(store: Store, month: str, limit: int, cursor: str | None) -> Page:
    """The settlements of one month, every party (channels, then providers)."""
    return store.query(month_pk(month), index="gsi2", limit=limit, cursor=cursor)


def settlement_of(item: Item) -> Settlement:
    from petcover.models.money import Settlement

    return load(Settlement, item)


def changed(before: Settlement, after: Settlement, version: int) -> Update:
    pk, sk = key(before.settlement_id)
    doc = after.model_copy(update={"lines": []})
    return Update(
        pk,
        sk,
        set={"state": after.status, "version": version + 1, "data": dump(doc)},
        expect=[("state", "=", before.status), ("version", "=", version)],
    )


def get(store: Store, sid: str) -> tuple[Settlement, int] | None:
    from petcover.models.money import Settlement

    item = store.get(*key(sid))
    if item is None:
        return None
    return load(Settlement, item), int(item.get("version", 1))


def latest_before(store: Store, party: str, party_id: str, month: str) -> Settlement | None:
    from petcover.models.money import Settlement

    page = store.query(listing_pk(party, party_id), index="gsi1", sk_lte=month, descending=True, limit=2)
    for item in page.items:
        if item["gsi1sk"] < month:
            return load(Settlement, item)
    return None


def report_key(day: str) -> tuple[str, str]:
    return f"RECON#{day}", "REPORT"


def report_item(day: str, summary: dict[str, Any]) -> Item:
    pk, sk = report_key(day)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "reconciliation",
        "state": summary["status"],
        "gsi1pk": REPORTS_PK,
        "gsi1sk": day,
        "data": json.dumps(summary),
    }


REPORTS_PK = "RECONS"


def reports_page(store: Store, month: str | None, limit: int, cursor: str | None) -> Page:
    """The nightly reports, latest first (one month's when given)."""
    return store.query(REPORTS_PK, index="gsi1", sk_prefix=month, descending=True, limit=limit, cursor=cursor)


def report_of(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(item["data"])
    return data


def get_report(store: Store, day: str) -> dict[str, Any] | None:
    item = store.get(*report_key(day))
    return json.loads(item["data"]) if item else None


def settlement_file(sid: str, fmt: str) -> str:
    return f"settlements/{sid}.{fmt}"


def report_file(day: str, fmt: str) -> str:
    return f"reconciliation/{day}.{fmt}"
