"""A policy's page in the staff console: the policy with its quota balances, its versions, ledger
lines, appointments, claims and the webhooks sent about them. Every part is one bounded Query
(the webhooks: one per appointment and claim shown, their latest entries)."""

from __future__ import annotations

from petcover.models.policy_page import ObjectWebhooks, PolicyPage
from petcover.ports import Ports
from petcover.repositories import appointments as appointment_records
from petcover.repositories import claims as claim_repo
from petcover.repositories import ledger as ledger_repo
from petcover.repositories import policies as policy_repo
from petcover.services import policies
from petcover.services.webhooks import log

PART = 20  # rows of each list on the page; the cursors page on
WEBHOOK_ENTRIES = 5


def _webhooks(p: Ports, object_type: str, object_id: str) -> ObjectWebhooks:
    entries = log.delivery_log(p, object_type, object_id, limit=WEBHOOK_ENTRIES).items
    return ObjectWebhooks(
        object_type=object_type,
        object_id=object_id,
        deliveries=entries,
        log_path=f"/ops/webhooks/{object_type}/{object_id}/deliveries",
    )


def policy_page(p: Ports, number: str) -> PolicyPage:
    pol, _ = policies.load_policy(p, number)  # POLICY_NOT_FOUND
    ledger, ledger_cursor = ledger_repo.policy_entries(p.store, number, limit=PART, cursor=None)
    page = appointment_records.policy_appointments_page(p, number, limit=PART, cursor=None)
    appts = [appointment_records.appointment_from_item(i) for i in page.items]
    claims, claims_cursor = claim_repo.of_policy(p.store, number, limit=PART, cursor=None)
    hooks = [_webhooks(p, "appointment", a.appointment_id) for a in appts]
    hooks += [_webhooks(p, "claim", c.claim_number) for c in claims]
    return PolicyPage(
        policy=pol,
        versions=policy_repo.versions(p.store, number),
        ledger=ledger,
        ledger_cursor=ledger_cursor,
        appointments=appts,
        appointments_cursor=page.cursor,
        claims=claims,
        claims_cursor=claims_cursor,
        webhooks=[h for h in hooks if h.deliveries],
    )
