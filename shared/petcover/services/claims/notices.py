"""The claim webhook outbox: an entry is written in the transaction of every status change, queued
right after the commit, and resent when a crash or an SQS error left it: by the automatic job for
every claim, and by the decision consumer for the claim it was asked about (a redelivery after a
crash finds the entries the dead attempt wrote).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from petcover.errors import StaleWrite
from petcover.models.claims import Claim
from petcover.observability import logger
from petcover.ports import Item, Ports
from petcover.repositories import claims as claim_repo
from petcover.services.webhooks import events as webhook_events

HOOK_GRACE_SECONDS = 60  # an outbox entry older than this was not delivered by its writer


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def payload(c: Claim, previous: str) -> dict[str, Any]:
    """The webhook body of a claim event (``previous`` is the status before it, or "none")."""
    return jsonable(
        {
            "claim_number": c.claim_number,
            "policy_number": c.policy_number,
            "channel_claim_id": c.channel_claim_id,
            "status": c.status,
            "previous_status": previous,
            "claim_version": c.version,
            "amount": c.amount,
            "approved_amount": c.approved_amount,
            "paid_amount": c.paid_amount,
            "currency": c.currency,
            "decision": (
                {
                    "outcome": c.decision.outcome,
                    "rule": c.decision.rule,
                    "ruleset": c.decision.ruleset,
                    "note": c.decision.note,
                }
                if c.decision
                else None
            ),
            "note": c.note,
            "updated_at": c.updated_at,
        }
    )


def outbox_item(c: Claim, previous: str, now: datetime) -> Item:
    return claim_repo.hook_item(c, f"claim.{c.status}", payload(c, previous), now)


def announce(p: Ports, item: Item) -> bool:
    """Queue the webhook, then drop the outbox entry we hold (fence). False: left for the job."""
    message = claim_repo.hook_message(item)
    try:
        webhook_events.notify(
            p,
            channel_id=item["owner"],
            object_type="claim",
            object_id=item["ref"],
            event_type=message["event_type"],
            payload=message["payload"],
        )
    except Exception:
        logger.exception("claim webhook not queued; the auto-claims job resends it", extra={"claim": item["ref"]})
        return False
    try:
        claim_repo.drop_hook(p.store, item)
    except StaleWrite:
        pass  # taken over by the job after the grace period: it may send once more (a higher version)
    except Exception:
        logger.warning("claim webhook outbox entry not removed", extra={"claim": item["ref"]})
    return True


def resend_hooks(p: Ports, *, limit: int = 100) -> int:
    """Outbox entries older than the grace period: take each over (fence) and queue it."""
    now = p.now()
    cutoff = now - timedelta(seconds=HOOK_GRACE_SECONDS)
    return _resend(p, claim_repo.hooks_due(p.store, cutoff, limit=limit), now, cutoff)


def resend_claim_hooks(p: Ports, number: str) -> int:
    """The same for one claim's entries (a Query on its own partition)."""
    now = p.now()
    cutoff = now - timedelta(seconds=HOOK_GRACE_SECONDS)
    return _resend(p, claim_repo.hooks_of(p.store, number), now, cutoff)


def _resend(p: Ports, items: list[Item], now: datetime, cutoff: datetime) -> int:
    sent = 0
    for item in items:
        if int(item.get("fence", 0)) > int(cutoff.timestamp()):
            continue  # its writer may still be sending it
        fence = int(now.timestamp())
        try:
            claim_repo.take_over_hook(p.store, item, fence, cutoff)
        except StaleWrite:
            continue
        if announce(p, {**item, "fence": fence}):
            sent += 1
    return sent
