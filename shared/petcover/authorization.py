"""Contract permissions of channel calls: what a call concerns, and whether the contract allows it.

Every route a channel calls declares the permission it needs and where the product comes from
(``api.channel("book", product="policy")``). The adapter calls ``check`` once per call, after
authentication and validation and before the operation runs; no service checks it again. The rule
itself is ``services.catalog.authorize``:

- a read (GET) needs the permission in the contract's current version, whatever the contract's
  status or dates: a channel keeps reading its own policies, claims and appointments after the
  contract is terminated or has ended (closing the channel cuts it off entirely);
- every other call needs the contract active and in effect today as well.

The product comes from the body's ``product_code``, or from the object the path names, which must
be the caller's own (another channel's is simply not found, as the services answer), or, for a
batch of bookings over several policies, from each item when it is booked (the batch itself needs
a contract that grants the permission for some product).

Round trips: the object the path names is read once, here, and that read is handed to the
operation's first identical read (``Prefetched``), so a policy, order or claim costs nothing extra.
An appointment names no product, so its policy is read too (one GetItem more). Contracts are
cached per container for ``catalog.CONTRACT_CACHE_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from petcover import authentication
from petcover.domain import calendar
from petcover.errors import Forbidden, NotFound
from petcover.identity import Principal, ProductSource
from petcover.ports import Cond, Item, Page, Ports, Store, WriteOp
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_repo
from petcover.services import catalog, policies
from petcover.services.fulfilment import ownership

# What the path names, per product source (the template's path parameter).
PATH_PARAMETER: dict[str, str] = {
    "policy": "number",
    "order": "orderId",
    "claim": "claimNumber",
    "appointment": "appointmentId",
}


class Prefetched:
    """A Store that hands each read made while authorising a call to the operation's first
    identical read, instead of reading the same item twice. Any write drops what is left."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self._kept: dict[tuple[Any, ...], Any] = {}
        self._recording = True

    def stop_recording(self) -> None:
        self._recording = False

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        if self._recording:
            self._kept[key] = value

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        key = ("get", pk, sk)
        if not self._recording and key in self._kept:
            item = self._kept.pop(key)
            return None if item is None else dict(item)
        item = self.inner.get(pk, sk, consistent=consistent)
        if consistent:  # an eventually consistent read never stands in for a consistent one
            self._keep(key, None if item is None else dict(item))
        return item

    def query(self, pk: str, **kwargs: Any) -> Page:
        key = ("query", pk, tuple(sorted(kwargs.items())))
        if not self._recording and key in self._kept:
            return self._kept.pop(key)  # type: ignore[no-any-return]
        page = self.inner.query(pk, **kwargs)
        self._keep(key, page)
        return page

    def put(self, item: Item, *, if_absent: bool = False, expect: Sequence[Cond] = ()) -> None:
        self._kept.clear()
        self.inner.put(item, if_absent=if_absent, expect=expect)

    def update(self, pk: str, sk: str, **kwargs: Any) -> Item:
        self._kept.clear()
        return self.inner.update(pk, sk, **kwargs)

    def delete(self, pk: str, sk: str, *, expect: Sequence[Cond] = ()) -> None:
        self._kept.clear()
        self.inner.delete(pk, sk, expect=expect)

    def transact(self, ops: Sequence[WriteOp]) -> None:
        self._kept.clear()
        self.inner.transact(ops)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _policy(p: Ports, who: Principal, number: str) -> str:
    """The product of the caller's own policy ``number``."""
    pol, _ = policies.load_policy(p, number, balances=False)
    if pol.channel_id != who.id:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    return pol.product_code


def _from_path(p: Ports, who: Principal, source: str, key: str) -> str:
    """The product of the object the path names, which must be the caller's own."""
    if source == "policy":
        return _policy(p, who, key)
    if source == "order":
        pol = policy_repo.by_order(p.store, who.id, key)
        if pol is None:
            raise NotFound(f"No policy for order {key}.", code="POLICY_NOT_FOUND")
        return pol.product_code
    if source == "claim":
        claim, _ = claim_repo.load(p.store, key)
        if claim.channel_id != who.id:
            raise NotFound(f"Claim {key} does not exist.", code="CLAIM_NOT_FOUND")
        return claim.product_code
    doc = ownership.own_appointment(p, who, key)
    return _policy(p, who, doc.policy_number)


def _today(p: Ports) -> date:
    return calendar.today(p.now())


NEW_BUSINESS = frozenset({"underwrite", "renew"})


def _refuse_if_frozen(p: Ports, channel_id: str) -> None:
    item = authentication.channel_item(p, channel_id)  # cached: the signature check just read it
    if item is not None and item.get("state") == "frozen":
        raise Forbidden(
            "This channel is frozen: it services its policies but sells no new ones.", code="CHANNEL_FROZEN"
        )


def check(
    p: Ports,
    who: Principal,
    permission: str,
    source: ProductSource,
    path: Mapping[str, str],
    body: Any,
    *,
    reading: bool,
) -> Ports:
    """Refuses the call unless the caller's contract allows ``permission`` on the product it concerns.

    Returns the ports the operation runs with: the same, with the reads made here kept for it.
    A frozen channel keeps servicing what it sold but takes no new policies (``NEW_BUSINESS``).
    """
    if permission in NEW_BUSINESS and not reading:
        _refuse_if_frozen(p, who.id)
    if source == "items":
        catalog.authorize_any(p, who.id, permission, _today(p), reading=reading)
        return p
    store = Prefetched(p.store)
    mine = replace(p, store=store)
    if source == "body":
        product = str(body.product_code)
    else:
        product = _from_path(mine, who, source, path[PATH_PARAMETER[source]])
    catalog.authorize(mine, who.id, product, permission, _today(p), reading=reading)
    store.stop_recording()
    return mine
