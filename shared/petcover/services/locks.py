"""Per-order lock: a 10 s lease with a fencing counter, as DESIGN.md section 4 describes.

One item per order id + module code (``repositories.locks.lock_key``). Attributes:

- ``fence``: incremented atomically (ADD) on every acquire, so each holder gets a higher number;
- ``owner``: a random token of the current holder (the fence alone could restart at 1 if the
  TTL ever removed the item, the token cannot repeat);
- ``expires_at``: end of the lease, epoch seconds; also the table's TTL, which cleans up.

``acquire`` is one conditional update that holds when the item is absent or its lease ran out.
On contention it retries after 100 ms, then 200 ms, then refuses with a 409 ``ORDER_LOCKED``.
There is no renewal: a holder has the lease time to finish. Every state write the holder makes
adds ``lease.check(p)`` to its transaction: fence and token unchanged and the lease not expired,
evaluated against the store's item at write time, so a holder whose lease ran out (and who may
have been overtaken by the next holder) can never write. ``release`` is conditional on the
fence and token, so a stale holder cannot release its successor's lease either.

The clock is ``p.now()``; tests drive it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from petcover.config import get_settings
from petcover.errors import Conflict, StaleWrite
from petcover.ports import Check, Item, Ports, Update
from petcover.repositories.locks import lock_key

RETRY_DELAYS: tuple[float, ...] = (0.1, 0.2)  # seconds: after the first and the second refusal

# Tests replace it to control (or skip) the waits between attempts.
sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Lease:
    order_id: str
    module: str
    fence: int
    token: str
    expires_at: int

    @property
    def key(self) -> tuple[str, str]:
        return lock_key(self.order_id, self.module)

    def check(self, p: Ports) -> Check:
        """The condition every write under this lease carries (in the same transaction)."""
        pk, sk = self.key
        return Check(
            pk,
            sk,
            expect=[
                ("fence", "=", self.fence),
                ("owner", "=", self.token),
                ("expires_at", ">", p.now().timestamp()),
            ],
        )

    def release_op(self, p: Ports) -> Update:
        """``check`` that also ends the lease, for the holder's last transaction: the release rides
        on the write it guards (one round trip less), under the same fence, token and expiry."""
        pk, sk = self.key
        now = p.now().timestamp()
        return Update(
            pk,
            sk,
            set={"expires_at": math.floor(now)},
            expect=[("fence", "=", self.fence), ("owner", "=", self.token), ("expires_at", ">", now)],
            must_exist=True,
        )

    def valid(self, p: Ports) -> bool:
        """True while the store still shows this lease as the current, unexpired one."""
        item = p.store.get(*self.key)
        return (
            item is not None
            and int(item.get("fence", -1)) == self.fence
            and item.get("owner") == self.token
            and float(item.get("expires_at", 0)) > p.now().timestamp()
        )


def free_check(p: Ports, order_id: str, module: str) -> Check:
    """For a write made without taking the lock: nobody holds it at commit. With the written item's
    own version condition this is as strong as holding it (a holder's change either is still
    running, and this fails, or has committed, and the version fails)."""
    return Check(*lock_key(order_id, module), expect=[("expires_at", "<=?", p.now().timestamp())], must_exist=False)


def try_acquire(p: Ports, order_id: str, module: str, *, lease_seconds: float | None = None) -> Lease | None:
    """One attempt: the lease, or None when another holder's lease is still running."""
    seconds = get_settings().lock_lease_seconds if lease_seconds is None else lease_seconds
    now = p.now().timestamp()
    expires = math.ceil(now + seconds)
    token = uuid.uuid4().hex
    pk, sk = lock_key(order_id, module)
    try:
        item = p.store.update(
            pk,
            sk,
            set={"kind": "lock", "owner": token, "expires_at": expires},
            add={"fence": 1},
            expect=[("expires_at", "<=?", now)],
        )
    except StaleWrite:
        return None
    return Lease(order_id, module, int(item["fence"]), token, expires)


def acquire(
    p: Ports,
    order_id: str,
    module: str,
    *,
    lease_seconds: float | None = None,
    retry_delays: Sequence[float] = RETRY_DELAYS,
) -> Lease:
    """The lease, after at most ``len(retry_delays)`` waits; else 409 ``ORDER_LOCKED``."""
    attempt = 0
    while True:
        lease = try_acquire(p, order_id, module, lease_seconds=lease_seconds)
        if lease is not None:
            return lease
        if attempt >= len(retry_delays):
            raise Conflict(
                f"Order {order_id} is being changed by another request right now; try again in a moment.",
                code="ORDER_LOCKED",
                details={"order_id": order_id, "module": module},
                retry_after=1,
            )
        sleep(retry_delays[attempt])
        attempt += 1


def release(p: Ports, lease: Lease) -> bool:
    """End the lease early; False when it had already run out or been taken over (no harm)."""
    pk, sk = lease.key
    try:
        p.store.update(
            pk,
            sk,
            set={"expires_at": math.floor(p.now().timestamp())},
            expect=[("fence", "=", lease.fence), ("owner", "=", lease.token)],
        )
        return True
    except StaleWrite:
        return False


@contextmanager
def held(p: Ports, order_id: str, module: str, *, lease_seconds: float | None = None) -> Iterator[Lease]:
    lease = acquire(p, order_id, module, lease_seconds=lease_seconds)
    try:
        yield lease
    finally:
        release(p, lease)


def current(p: Ports, order_id: str, module: str) -> Item | None:
    """The lock item as stored (staff views and tests)."""
    return p.store.get(*lock_key(order_id, module))
