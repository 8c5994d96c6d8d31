"""What finance lists: money requests (the review queue and the decided ones), settlements (a party's or
a month's), fee schedule versions and the nightly reconciliation reports. Each is one bounded Query on
an index (never a scan), one page at a time.
"""

from __future__ import annotations

from petcover.errors import InvalidInput
from petcover.models.money import MoneyList, MoneyListQuery, MoneyRequest, ReconciliationDay
from petcover.ports import Ports
from petcover.repositories import fees as fees_repo
from petcover.repositories import money_requests as requests_repo
from petcover.repositories import settlements as repo

REQUEST_STATES = {"pending": ("requested",), "decided": ("approved", "rejected")}
SETTLEMENT_STATES = ("issued", "settled", "approved", "paid")
FILTER_REFUSED = "MONEY_LIST_FILTER_REFUSED"


def listing(p: Ports, view: str, q: MoneyListQuery) -> MoneyList:
    if view == "money-requests":
        return money_requests(p, q)
    if view == "settlements":
        return settlements(p, q)
    if view == "fee-schedules":
        return fee_schedules(p, q)
    return reconciliation_reports(p, q)


def _refuse(field: str, message: str) -> InvalidInput:
    """A filter that does not fit the list the view names (the query model alone cannot tell)."""
    return InvalidInput(
        f"This list cannot be filtered so: {message}.",
        code=FILTER_REFUSED,
        details=[{"field": field, "message": message}],
    )


def money_requests(p: Ports, q: MoneyListQuery) -> MoneyList:
    """Pending: oldest first (the queue); decided or one decided state: newest first."""
    status = q.status or "pending"
    states = REQUEST_STATES.get(status, (status,))
    if any(s not in ("requested", "approved", "rejected") for s in states):
        raise _refuse("status", "a money request is pending, decided, requested, approved or rejected")
    if len(states) == 1:
        items, cursor = requests_repo.page(p.store, states[0], q.limit, q.cursor, newest_first=status != "pending")
        return MoneyList(view="money-requests", money_requests=items, cursor=cursor)
    if q.cursor:
        raise _refuse("cursor", "name approved or rejected to page through decided requests")
    merged: list[MoneyRequest] = []
    for state in states:
        merged += requests_repo.page(p.store, state, q.limit, None, newest_first=True)[0]
    merged.sort(key=lambda r: r.decided_at or r.requested_at, reverse=True)
    return MoneyList(view="money-requests", money_requests=merged[: q.limit])


def settlements(p: Ports, q: MoneyListQuery) -> MoneyList:
    if q.status is not None and q.status not in SETTLEMENT_STATES:
        raise _refuse("status", "a settlement is issued, settled, approved or paid")
    if (q.party is None) != (q.party_id is None):
        raise _refuse("party_id", "party and party_id go together")
    if q.party is not None and q.party_id is not None:
        page = repo.of_party(p.store, q.party, q.party_id, q.month, q.limit, q.cursor)
    elif q.month is not None:
        page = repo.of_month(p.store, q.month, q.limit, q.cursor)
    else:
        raise _refuse("month", "name a month, or a party and party_id")
    found = [repo.settlement_of(i) for i in page.items]
    return MoneyList(
        view="settlements",
        settlements=[s for s in found if q.status in (None, s.status)],
        cursor=page.cursor,
    )


def fee_schedules(p: Ports, q: MoneyListQuery) -> MoneyList:
    """One service type: every version, latest first; none named: the latest version of each schedule."""
    if q.service_type is not None:
        schedule = fees_repo.get_schedule(p.store, q.service_type)
        versions = sorted(schedule.versions if schedule else [], key=lambda v: v.version, reverse=True)
        return MoneyList(view="fee-schedules", fee_versions=versions[: q.limit])
    page = fees_repo.schedules_page(p.store, q.limit, q.cursor)
    latest = []
    for item in page.items:
        s = fees_repo.schedule_of(item)
        latest += [v for v in s.versions if v.version == s.latest]
    return MoneyList(view="fee-schedules", fee_versions=latest, cursor=page.cursor)


def reconciliation_reports(p: Ports, q: MoneyListQuery) -> MoneyList:
    page = repo.reports_page(p.store, q.month, q.limit, q.cursor)
    days = []
    for item in page.items:
        r = repo.report_of(item)
        days.append(
            ReconciliationDay(
                day=r["day"],
                status=r["status"],
                run_at=r["run_at"],
                differences=len(r.get("differences", [])),
                configuration_gaps=len(r.get("configuration_gaps", [])),
                journals=int(r.get("counts", {}).get("journals", 0)),
            )
        )
    return MoneyList(view="reconciliation-reports", reconciliation_reports=days, cursor=page.cursor)
