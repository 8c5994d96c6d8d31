"""Every 5 minutes (or fired on demand): the safety net of automatic claims, deciding those still
queued after ``auto.SAFETY_NET_AFTER`` (their own ClaimDecisionQueue message normally decides them).

On demand the event's ``detail`` may name one claim (``{"claim_number": "CL..."}``) or cap the
run (``{"limit": 50}``).
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.claims import auto


@scheduled_job("AutoClaimsRun")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    number = detail.get("claim_number")
    if number:
        return {"claim_number": number, "outcome": auto.auto_decide(p, str(number))}
    limit = int(detail.get("limit") or 200)
    return auto.run_auto_claims(p, limit=max(1, min(limit, 1000))).model_dump()
