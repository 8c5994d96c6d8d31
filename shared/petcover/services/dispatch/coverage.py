"""Coverage gaps: where orders found no rule or no provider, counted by region and service type."""

from __future__ import annotations

from petcover.errors import StaleWrite, Unavailable
from petcover.models.dispatch import CoverageGapList
from petcover.ports import Ports
from petcover.repositories import dispatch as repo

GAP_WRITE_TRIES = 3


def record_gap(
    p: Ports,
    region: str,
    service_type: str,
    appointment_id: str,
    kind: str,
    reason: str,
    missing_skus: list[str] | None = None,
    rule: str | None = None,
) -> None:
    """One more occurrence (created on the first): ``kind`` is no_rule, no_provider or no_stock
    (then ``missing_skus`` names what no candidate had); ``rule`` the rule that left the order
    without a candidate."""
    now = p.now()
    key = repo.gap_key(region, service_type)
    data = repo.gap_data(region, service_type, now, appointment_id, kind, reason, missing_skus, rule or kind)
    for _ in range(GAP_WRITE_TRIES):
        try:
            repo.count_gap(p.store, key, data)
            return
        except StaleWrite:
            pass
        try:
            repo.create_gap(p.store, key, data, first_seen=now)
            return
        except StaleWrite:
            pass  # created meanwhile: count on it
    raise Unavailable("The coverage-gap counter is contended; retry shortly.")


def coverage_gaps(p: Ports, limit: int = 50, cursor: str | None = None) -> CoverageGapList:
    """The gaps on one page, most frequent first."""
    items, next_cursor = repo.gaps_page(p.store, limit, cursor)
    items.sort(key=lambda g: (-g.count, g.region_code, g.service_type))
    return CoverageGapList(items=items, cursor=next_cursor)
