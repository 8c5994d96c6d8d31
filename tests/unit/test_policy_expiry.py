"""The expiry run: it expires on the business day a term ends, catches up every day it missed,
resumes where it stopped and says how many it expired, per day and in total.

Runs go through the scheduled job itself (functions/policies/expire.py), as EventBridge calls it.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from typing import Any

import pytest

from petcover.errors import StaleWrite
from petcover.models.policies import Policy
from petcover.ports import Ports
from petcover.repositories import policies as policy_repo
from petcover.services import policies, policy_expiry
from tests.support.business_time import SHOP, TIMES, around, issue_on, local, world
from tests.support.clock import Clock

NEW_YEAR = date(2027, 1, 1)


def run(p: Ports) -> dict[str, Any]:
    from policies.expire import handler

    result: dict[str, Any] = handler.job(p, {})
    return result


def status(p: Ports, pol: Policy) -> str:
    return policies.get_for(p, SHOP, pol.number).status


def ending_on(p: Ports, clock: Clock, end: date, n: int, tag: str) -> list[Policy]:
    """``n`` policies whose 365-day term ends at 00:00 on ``end``."""
    return [issue_on(p, clock, end - timedelta(days=365), order=f"{tag}-{i}", pet=f"{tag}-pet-{i}") for i in range(n)]


@pytest.mark.parametrize("clock_time", TIMES)
def test_the_run_expires_a_term_from_the_business_midnight_it_ends(fake_ports: Ports, clock_time: str) -> None:
    clock = world(fake_ports)
    [pol] = ending_on(fake_ports, clock, NEW_YEAR, 1, "e")
    clock.set(around(NEW_YEAR, clock_time))
    result = run(fake_ports)
    ended = clock_time != "23:59"
    assert result["expired"] == int(ended)
    assert status(fake_ports, pol) == ("expired" if ended else "active")


def test_a_missed_night_is_caught_up_with_counts_per_day(fake_ports: Ports, caplog: pytest.LogCaptureFixture) -> None:
    clock = world(fake_ports)
    day = NEW_YEAR
    ending_on(fake_ports, clock, day - timedelta(days=2), 1, "a")
    ending_on(fake_ports, clock, day - timedelta(days=1), 2, "b")
    ending_on(fake_ports, clock, day, 3, "c")
    clock.set(local(day - timedelta(days=3), 0, 10))
    assert run(fake_ports)["expired"] == 0  # the last run that happened
    clock.set(local(day, 0, 10))  # two nights missed
    caplog.set_level(logging.INFO)
    result = run(fake_ports)
    assert result == {
        "through": day.isoformat(),
        "days": [
            {"day": "2026-12-30", "expired": 1},
            {"day": "2026-12-31", "expired": 2},
            {"day": "2027-01-01", "expired": 3},
        ],
        "expired": 6,
    }
    logged = [(r.getMessage(), r.__dict__.get("day"), r.__dict__.get("expired")) for r in caplog.records]
    assert ("policies expired", "2026-12-31", 2) in logged and ("policy expiry run", None, 6) in logged
    assert policy_repo.expiry_watermark(fake_ports.store) == day
    assert run(fake_ports) == {"through": day.isoformat(), "days": [], "expired": 0}  # a second run that night


def test_the_first_run_looks_back_for_terms_that_ended_before_it(fake_ports: Ports) -> None:
    clock = world(fake_ports)
    [old] = ending_on(fake_ports, clock, NEW_YEAR - timedelta(days=200), 1, "old")
    clock.set(local(NEW_YEAR, 0, 10))
    result = run(fake_ports)
    assert result["expired"] == 1 and status(fake_ports, old) == "expired"
    assert len(result["days"]) == policy_expiry.FIRST_RUN_LOOKBACK_DAYS and result["days"][-1]["day"] == "2027-01-01"


class FailingOnce:
    """A store whose update of one item fails once, as a throttled or timed-out call would."""

    def __init__(self, store: Any, pk: str) -> None:
        self._store, self._pk, self.failed = store, pk, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def update(self, pk: str, sk: str, **kw: Any) -> Any:
        if pk == self._pk and not self.failed:
            self.failed = True
            raise RuntimeError("throttled")
        return self._store.update(pk, sk, **kw)


def test_a_run_that_stops_half_way_resumes_at_the_day_it_was_on(fake_ports: Ports) -> None:
    clock = world(fake_ports)
    [first] = ending_on(fake_ports, clock, NEW_YEAR - timedelta(days=1), 1, "a")
    [second] = ending_on(fake_ports, clock, NEW_YEAR, 1, "b")
    clock.set(local(NEW_YEAR - timedelta(days=2), 0, 10))
    run(fake_ports)
    clock.set(local(NEW_YEAR, 0, 10))
    real = fake_ports.store
    fake_ports.store = FailingOnce(real, policy_repo.policy_pk(second.number))  # type: ignore[assignment]
    with pytest.raises(RuntimeError):
        run(fake_ports)
    assert status(fake_ports, first) == "expired" and status(fake_ports, second) == "active"
    assert policy_repo.expiry_watermark(real) == NEW_YEAR - timedelta(days=1)  # the day it finished
    clock.advance(minutes=5)  # the retry (or the next night)
    assert run(fake_ports)["days"] == [{"day": "2027-01-01", "expired": 1}]
    assert status(fake_ports, second) == "expired"


def test_overlapping_runs_expire_each_policy_once(fake_ports: Ports) -> None:
    clock = world(fake_ports)
    ended = ending_on(fake_ports, clock, NEW_YEAR, 24, "c")
    clock.set(local(NEW_YEAR - timedelta(days=1), 0, 10))
    run(fake_ports)
    clock.set(local(NEW_YEAR, 0, 10))
    results: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def one() -> None:
        start.wait()
        results.append(run(fake_ports))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["expired"] for r in results) == 24
    assert {status(fake_ports, pol) for pol in ended} == {"expired"}
    assert policy_repo.expiry_watermark(fake_ports.store) == NEW_YEAR


def test_the_watermark_only_moves_forward(fake_ports: Ports) -> None:
    at = local(NEW_YEAR)
    assert policy_repo.expiry_done(fake_ports.store, NEW_YEAR, 3, at)
    assert not policy_repo.expiry_done(fake_ports.store, NEW_YEAR - timedelta(days=1), 0, at)
    assert not policy_repo.expiry_done(fake_ports.store, NEW_YEAR, 0, at)
    assert policy_repo.expiry_watermark(fake_ports.store) == NEW_YEAR
    with pytest.raises(StaleWrite):
        fake_ports.store.update(*policy_repo.expiry_watermark_key(), expect=[("ref", "<", "2026-01-01")])
