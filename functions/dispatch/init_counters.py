"""Midnight (Asia/Shanghai): today's dispatch counters at 0 for every rule scope (put if absent)."""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.dispatch import counters


@scheduled_job("DispatchCountersInitialised")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    return counters.init_counters(p)
