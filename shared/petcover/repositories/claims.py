"""Keys and items of the claim aggregate.

CLAIM#{n} / CLAIM                 the claim: state, version, owner = channel, ref = policy number,
                                  amount = claimed cents, data = the Claim JSON
    gsi1 POLCLAIMS#{policy} / {submitted}#{n}     claims of a policy
    gsi2 INSCLAIMS#{insurer} / {submitted}#{n}    claims on policies the insurer underwrote (its
                                                   portal's list); written with the claim when the
                                                   policy names its insurer. The channel's own
                                                   reference is looked up through CLAIMREF below.
    gsi3 AUTOCLAIM / {updated}#{n}                 auto-claimable and awaiting its decision (the
                                                   queue message, or the schedule as a safety net);
                                                   removed once decided, re-added by an update
    gsi3 CLAIMREVIEW / {since}#{n}                 the staff queue: waiting for an assessor (the
                                                   reason is the claim's ``review``); removed once
                                                   an assessor approves or rejects it
    gsi3 CLAIMPAID#{day} / {paid}#{n}              paid on that business day (set by the payout,
                                                   for the nightly reconciliation)
CLAIM#{n} / CHANGE#{ts}#{version} a change record (who, why, before, after) per update
CLAIM#{n} / HOOK#{version}        webhook outbox: written in the transaction of every status change,
                                  deleted once queued; gsi3 CLAIMHOOK / {ts}#{n}#{version} lets the
                                  job resend the ones a crash or an SQS error left behind
CLAIMREF#{channel}#{ref} / CLAIMREF  uniqueness of the channel's claim reference (+ request hash)
SEQ#CLAIM / SEQ                   claim-number counter (blocks by atomic ADD): CL{year}{seq:09d}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from petcover.domain import calendar
from petcover.domain.money import cents
from petcover.errors import NotFound
from petcover.ports import Item, Page, Store, Update
from petcover.repositories import sequences
from petcover.repositories.base import paginate

if TYPE_CHECKING:
    from petcover.models.claims import Claim, ClaimChange

CLAIM_SK = "CLAIM"
CHANGE_PREFIX = "CHANGE#"
REF_SK = "CLAIMREF"
AUTO_QUEUE = "AUTOCLAIM"  # gsi3 partition of the claims the automatic job decides
REVIEW_QUEUE = "CLAIMREVIEW"  # gsi3 partition of the claims waiting for an assessor
HOOK_PREFIX = "HOOK#"
HOOK_QUEUE = "CLAIMHOOK"  # gsi3 partition of the webhook outbox
PAID_PREFIX = "CLAIMPAID#"  # gsi3 partition of the claims paid on a business day
HOOK_RETENTION_DAYS = 14
END = "~"  # sorts after every stamp suffix: an upper bound "up to and including this time"

# add: to the automatic decision; review: to the staff queue; remove: out of both.
QueueMove = Literal["add", "review", "remove", "keep"]


def stamp(dt: datetime) -> str:
    """Fixed-width UTC time, so sort keys order by time."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def claim_pk(number: str) -> str:
    return f"CLAIM#{number}"


def claim_key(number: str) -> tuple[str, str]:
    return claim_pk(number), CLAIM_SK


def number_of(pk: str) -> str:
    """The claim number in a claim's partition key."""
    return pk.split("#", 1)[1]


def ref_key(channel_id: str, ref: str) -> tuple[str, str]:
    return f"CLAIMREF#{channel_id}#{ref}", REF_SK


def policy_claims_index(policy_number: str) -> str:
    return f"POLCLAIMS#{policy_number}"


def insurer_claims_index(insurer_id: str) -> str:
    return f"INSCLAIMS#{insurer_id}"


def change_key(number: str, at: datetime, version: int) -> tuple[str, str]:
    return claim_pk(number), f"{CHANGE_PREFIX}{stamp(at)}#{version:05d}"


def hook_key(number: str, version: int) -> tuple[str, str]:
    return claim_pk(number), f"{HOOK_PREFIX}{version:05d}"


def sequence_key() -> tuple[str, str]:
    return "SEQ#CLAIM", "SEQ"


def next_number(store: Store, now: datetime) -> str:
    return f"CL{calendar.day_of(now).year}{sequences.take(store, sequence_key()):09d}"


def _queue_position(at: datetime, number: str, queue: str = AUTO_QUEUE) -> dict[str, Any]:
    return {"gsi3pk": queue, "gsi3sk": f"{stamp(at)}#{number}"}


# ------------------------------------------------------------------ items
def claim_from_item(item: Item) -> Claim:
    from petcover.models.claims import Claim

    d = json.loads(item["data"])
    d["status"] = item.get("state", d.get("status"))
    d["version"] = int(item.get("version", d.get("version", 1)))
    return Claim.model_validate(d)


def new_claim_item(claim: Claim, insurer_id: str | None = None) -> Item:
    """A submitted claim, in its policy's list, in the list of the insurer that underwrote the
    policy (``insurer_id``), queued for its automatic decision or, with its ``review`` reason, in
    the staff queue."""
    pk, sk = claim_key(claim.claim_number)
    item: Item = {
        "pk": pk,
        "sk": sk,
        "kind": "claim",
        "state": claim.status,
        "version": claim.version,
        "owner": claim.channel_id,
        "ref": claim.policy_number,
        "amount": cents(claim.amount),
        "gsi1pk": policy_claims_index(claim.policy_number),
        "gsi1sk": f"{stamp(claim.submitted_at)}#{claim.claim_number}",
        "data": claim.model_dump_json(),
    }
    if insurer_id:
        item.update(
            {"gsi2pk": insurer_claims_index(insurer_id), "gsi2sk": f"{stamp(claim.submitted_at)}#{claim.claim_number}"}
        )
    if claim.auto:
        item.update(_queue_position(claim.submitted_at, claim.claim_number))
    elif claim.review is not None:
        item.update(_queue_position(claim.review.since, claim.claim_number, REVIEW_QUEUE))
    return item


def ref_item(channel_id: str, ref: str, number: str, request_hash: str) -> Item:
    pk, sk = ref_key(channel_id, ref)
    return {"pk": pk, "sk": sk, "kind": "claimref", "ref": number, "data": json.dumps({"request": request_hash})}


def ref_request_hash(item: Item) -> str | None:
    return json.loads(item.get("data") or "{}").get("request")


def change_item(number: str, change: ClaimChange) -> Item:
    pk, sk = change_key(number, change.at, change.version)
    return {"pk": pk, "sk": sk, "kind": "claim_change", "data": change.model_dump_json()}


def hook_item(c: Claim, event_type: str, payload: dict[str, Any], now: datetime) -> Item:
    """An outbox entry; ``fence`` is the time its current sender took it (see ``take_over_hook``)."""
    pk, sk = hook_key(c.claim_number, c.version)
    return {
        "pk": pk,
        "sk": sk,
        "kind": "claim_hook",
        "owner": c.channel_id,
        "ref": c.claim_number,
        "fence": int(now.timestamp()),
        "expires_at": int(now.timestamp()) + HOOK_RETENTION_DAYS * 86400,
        "gsi3pk": HOOK_QUEUE,
        "gsi3sk": f"{stamp(now)}#{c.claim_number}#{c.version:05d}",
        "data": json.dumps({"event_type": event_type, "payload": payload}),
    }


def hook_message(item: Item) -> dict[str, Any]:
    """The event type and payload an outbox entry holds."""
    data: dict[str, Any] = json.loads(item["data"])
    return data


def claim_update(before: Claim, after: Claim, now: datetime, queue: QueueMove) -> Update:
    """Write ``after`` only if the claim is still in ``before``'s state and version (else StaleWrite)."""
    set_: dict[str, Any] = {
        "state": after.status,
        "version": after.version,
        "amount": cents(after.amount),
        "data": after.model_dump_json(),
    }
    if queue == "add":
        set_.update(_queue_position(now, before.claim_number))
    elif queue == "review":
        set_.update(_queue_position(now, before.claim_number, REVIEW_QUEUE))
    elif queue == "remove" and after.status == "paid" and after.paid_at is not None:
        set_.update(_paid_position(after.paid_at, before.claim_number))
    elif queue == "remove":
        set_.update({"gsi3pk": None, "gsi3sk": None})
    pk, sk = claim_key(before.claim_number)
    return Update(pk, sk, set=set_, expect=[("state", "=", before.status), ("version", "=", before.version)])


def paid_index(day: str) -> str:
    return f"{PAID_PREFIX}{day}"


def _paid_position(paid_at: datetime, number: str) -> dict[str, Any]:
    return {"gsi3pk": paid_index(calendar.day_of(paid_at).isoformat()), "gsi3sk": f"{stamp(paid_at)}#{number}"}


def paid_on(store: Store, day: str) -> Iterator[Claim]:
    """The claims paid on a business day (gsi3 CLAIMPAID#{day}), page by page."""
    for item in paginate(store, paid_index(day), index="gsi3", limit=500):
        yield claim_from_item(item)


def is_queued(item: Item) -> bool:
    return item.get("gsi3pk") == AUTO_QUEUE


# ------------------------------------------------------------------ reads
def load(store: Store, number: str) -> tuple[Claim, Item]:
    item = store.get(*claim_key(number))
    if item is None or item.get("kind") != "claim":
        raise NotFound(f"Claim {number} does not exist.", code="CLAIM_NOT_FOUND")
    return claim_from_item(item), item


def changes(store: Store, number: str) -> list[ClaimChange]:
    from petcover.models.claims import ClaimChange

    page = store.query(claim_pk(number), sk_prefix=CHANGE_PREFIX, limit=200)
    return [ClaimChange.model_validate(json.loads(i["data"])) for i in page.items]


def of_policy(store: Store, policy_number: str, *, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
    """One page of a policy's claims, newest first."""
    page = store.query(policy_claims_index(policy_number), index="gsi1", limit=limit, cursor=cursor, descending=True)
    return [claim_from_item(i) for i in page.items], page.cursor


def of_insurer(store: Store, insurer_id: str, *, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
    """One page of the claims on policies an insurer underwrote, newest first (gsi2 INSCLAIMS)."""
    page = store.query(insurer_claims_index(insurer_id), index="gsi2", limit=limit, cursor=cursor, descending=True)
    return [claim_from_item(i) for i in page.items], page.cursor


def queued(store: Store, *, after: str | None, until: datetime, limit: int) -> Page:
    """Queued claims from position ``after`` (inclusive) to those queued at ``until``, oldest first."""
    return store.query(AUTO_QUEUE, index="gsi3", sk_gte=after, sk_lte=stamp(until) + END, limit=limit)


def review_page(store: Store, *, limit: int, cursor: str | None) -> tuple[list[Claim], str | None]:
    """One page of the staff queue, oldest first."""
    page = store.query(REVIEW_QUEUE, index="gsi3", limit=limit, cursor=cursor)
    return [claim_from_item(i) for i in page.items], page.cursor


def hooks_of(store: Store, number: str) -> list[Item]:
    """The webhook outbox entries one claim still holds (a handful at most)."""
    return store.query(claim_pk(number), sk_prefix=HOOK_PREFIX, limit=50).items


def hooks_due(store: Store, cutoff: datetime, *, limit: int) -> list[Item]:
    """Outbox entries written at ``cutoff`` or earlier, oldest first."""
    return store.query(HOOK_QUEUE, index="gsi3", sk_lte=stamp(cutoff) + END, limit=limit).items


def take_over_hook(store: Store, item: Item, fence: int, cutoff: datetime) -> None:
    """Claim an outbox entry no sender has touched since ``cutoff`` (else StaleWrite)."""
    store.update(
        item["pk"], item["sk"], set={"fence": fence}, expect=[("fence", "<=", int(cutoff.timestamp()))], must_exist=True
    )


def drop_hook(store: Store, item: Item) -> None:
    """Remove a sent outbox entry, unless another sender took it over meanwhile (StaleWrite)."""
    store.delete(item["pk"], item["sk"], expect=[("fence", "=", item["fence"])])
