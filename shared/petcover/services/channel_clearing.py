"""Clearing out a channel: its signing keys revoked, no new business, its open policies listed.

One transaction: the channel's state (conditional on the state it was read in), every active key
revoked, the list of its open policies kept beside the channel (``CLEAROUT#`` items, a thousand
numbers each) and the audit record. The policies stay in force and are serviced by staff; the
channel's signed calls are refused (``CHANNEL_CLEARED``; its keys no longer verify).

The open policies are found through the expiry index, one query per day a policy may still end
on (a term is at most ``MAX_TERM_DAYS`` and starts at most ``MAX_START_AHEAD_DAYS`` ahead): a
bounded walk for a rare staff action, not a scan, run a few days at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from petcover.domain import calendar, states
from petcover.domain.policy_terms import MAX_START_AHEAD_DAYS
from petcover.errors import InvalidInput, NotFound
from petcover.identity import Principal
from petcover.models.catalog import Channel, ChannelClearedOut
from petcover.ports import Ports, Put, Update, WriteOp
from petcover.repositories import catalog as keys
from petcover.repositories import partners as partner_keys
from petcover.repositories import policies as policy_repo
from petcover.services import audit
from petcover.services.catalog import unless_changed

MAX_TERM_DAYS = 1100  # the longest plan term the catalogue accepts
OPEN = ("active", "pending_insurer")
PER_ITEM = 1000
WORKERS = 16


def open_policies(p: Ports, channel_id: str) -> list[str]:
    """The channel's policies still in force or awaiting their insurer, by end date (the day queries
    run ``WORKERS`` at a time: some twelve hundred of them, each small)."""
    today = calendar.today(p.now())

    def ending(back: int) -> list[str]:
        items = policy_repo.ending_on(p.store, today + timedelta(days=back))
        return [str(i["gsi3sk"]) for i in items if i.get("owner") == channel_id and i.get("state") in OPEN]

    with ThreadPoolExecutor(WORKERS) as pool:
        days = pool.map(ending, range(MAX_TERM_DAYS + MAX_START_AHEAD_DAYS + 1))
        return [number for day in days for number in day]


def _revocations(p: Ports, channel_id: str) -> tuple[list[str], list[WriteOp]]:
    page = p.store.query(partner_keys.key_set_pk("channel", channel_id), index="gsi1")
    active = [i for i in page.items if i.get("state") == "active"]
    ids = [partner_keys.key_fields(i)["key_id"] for i in active]
    ops: list[WriteOp] = [
        Update(*partner_keys.partner_key(k), set={"state": "revoked"}, expect=[("state", "=", "active")]) for k in ids
    ]
    if ids:
        ops.append(Update(*partner_keys.key_set("channel", channel_id), add={"n": -len(ids)}))
    return ids, ops


def clear_out(p: Ports, who: Principal, channel_id: str, reason: str) -> ChannelClearedOut:
    if not reason.strip():
        raise InvalidInput("A reason is required to clear out a channel.", code="REASON_REQUIRED")
    pk, sk = partner_keys.channel(channel_id)
    item = p.store.get(pk, sk)
    if item is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    current = item.get("state", "active")
    new = states.CHANNEL.next_state(current, "clear_out")
    numbers = open_policies(p, channel_id)
    revoked, ops = _revocations(p, channel_id)
    data = {**keys.channel_data(item), "cleared_at": p.now().isoformat()}
    ops.append(
        Update(pk, sk, set={"state": new, "data": keys.dump_channel_data(data)}, expect=[("state", "=", current)])
    )
    ops += [Put(i) for i in keys.clear_out_items(channel_id, numbers, PER_ITEM)]
    after = {"status": new, "revoked_keys": revoked, "open_policies": len(numbers)}
    ops.append(
        audit.entry(p, who, "channel", channel_id, "clear_out", before={"status": current}, after=after, reason=reason)
    )
    with unless_changed("channel", "CHANNEL_CHANGED"):
        p.store.transact(ops)
    channel = Channel.model_validate({**keys.shown_channel_data(data), "status": new})
    return ChannelClearedOut(channel=channel, reason=reason, revoked_keys=revoked, open_policies=numbers)
