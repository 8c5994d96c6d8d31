"""Daily at 03:00 Asia/Shanghai: last month's settlement of every channel and active provider not yet run.

After the monthly quality assessment (the 1st, 02:00): a provider statement carries the deduction of
its grade, and one whose month is not assessed yet fails and is picked up by the next day's run.

The first run of a month settles everyone; the others find their statements made (one read each) and
pick up what failed. A back-fill can name the month in the event: {"month": "2026-11"}.
"""

from typing import Any

from petcover.ports import Ports
from petcover.schedules import scheduled_job
from petcover.services.money import settlements


@scheduled_job("SettlementsRun")
def handler(p: Ports, event: dict[str, Any]) -> dict[str, Any]:
    month = event.get("month") if isinstance(event.get("month"), str) else None
    return settlements.run_all(p, month)
