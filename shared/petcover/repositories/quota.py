"""The quota ledger of a policy's service benefits: counters, deductions and reconciliation marks.

Keys (main table):
  POLICY#{n} / QUOTA#{benefit}        the benefit's counters (quota, used, held, available), in the
                                      policy's partition
  DEDUCT#{appointment} / DEDUCT       the deduction marker (conditional put: once per appointment);
                                      gsi2 DEDUCTED#{policy} / {benefit}#{appointment}
  RECON#{day} / {policy}#{benefit}    quota activity of a business day: what the daily
                                      reconciliation checks (TTL 90 days)
  RECONREPORT#{day} / {at}            a reconciliation report with mismatches (TTL 90 days)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from petcover.ports import Item, Ports, Put
from petcover.repositories.appointments import benefit_prefix
from petcover.repositories.base import paginate
from petcover.repositories.policies import policy_pk

if TYPE_CHECKING:  # only annotated here: the quota path does not load the fulfilment models
    from petcover.models.fulfilment import ReconcileReport

QUOTA_PREFIX = "QUOTA#"
DEDUCT = "DEDUCT"
RECON_TTL_SECONDS = 90 * 86400


def quota_key(policy_number: str, benefit_code: str) -> tuple[str, str]:
    return policy_pk(policy_number), f"{QUOTA_PREFIX}{benefit_code}"


def find_quota(p: Ports, policy_number: str, benefit_code: str) -> Item | None:
    return p.store.get(*quota_key(policy_number, benefit_code))


def benefit_codes(p: Ports, policy_number: str) -> list[str]:
    """The benefits of a policy that have a quota item (a policy has a handful: one page)."""
    page = p.store.query(policy_pk(policy_number), sk_prefix=QUOTA_PREFIX, limit=100)
    return [str(i["sk"]).removeprefix(QUOTA_PREFIX) for i in page.items]


# ---------------------------------------------------------------- deductions


def deduct_key(appointment_id: str) -> tuple[str, str]:
    return f"DEDUCT#{appointment_id}", DEDUCT


def deducted_pk(policy_number: str) -> str:
    """gsi2: the deductions of a policy, sorted by benefit."""
    return f"DEDUCTED#{policy_number}"


def deduction(appointment_id: str, policy_number: str, benefit_code: str, at: datetime) -> Put:
    """The marker of one appointment's deduction (conditional: once per appointment)."""
    pk, sk = deduct_key(appointment_id)
    return Put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "quota_deduction",
            "ref": appointment_id,
            "owner": policy_number,
            "gsi2pk": deducted_pk(policy_number),
            "gsi2sk": f"{benefit_prefix(benefit_code)}{appointment_id}",
            "data": json.dumps({"at": at.isoformat(), "benefit_code": benefit_code}),
        },
        if_absent=True,
    )


def find_deduction(p: Ports, appointment_id: str) -> Item | None:
    return p.store.get(*deduct_key(appointment_id))


def deduction_time(item: Item) -> datetime:
    return datetime.fromisoformat(json.loads(item["data"])["at"])


def deducted_appointments(p: Ports, policy_number: str, benefit_code: str) -> set[str]:
    pk = deducted_pk(policy_number)
    return {
        str(i["ref"]) for i in paginate(p.store, pk, index="gsi2", sk_prefix=benefit_prefix(benefit_code), limit=200)
    }


# ---------------------------------------------------------------- reconciliation


def activity_pk(day: str) -> str:
    return f"RECON#{day}"


def activity_key(day: str, policy_number: str, benefit_code: str) -> tuple[str, str]:
    return activity_pk(day), f"{policy_number}#{benefit_code}"


def activity(day: str, policy_number: str, benefit_code: str, now: datetime) -> Put:
    """Marks the policy+benefit for the reconciliation of business day ``day``."""
    pk, sk = activity_key(day, policy_number, benefit_code)
    return Put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "quota_activity",
            "ref": policy_number,
            "expires_at": int(now.timestamp()) + RECON_TTL_SECONDS,
        }
    )


def active_benefits(p: Ports, day: str) -> Iterator[tuple[str, str]]:
    """(policy number, benefit code) of every quota that moved on business day ``day``."""
    for item in paginate(p.store, activity_pk(day), limit=500):
        policy_number, _, benefit = str(item["sk"]).partition("#")
        yield policy_number, benefit


def reconciliation_report(day: str, at: datetime, report: ReconcileReport) -> Item:
    """A report with mismatches, kept under the business day it ran on."""
    return {
        "pk": f"RECONREPORT#{day}",
        "sk": at.isoformat(),
        "kind": "quota_reconciliation",
        "n": len(report.mismatches),
        "expires_at": int(at.timestamp()) + RECON_TTL_SECONDS,
        "data": report.model_dump_json(),
    }
