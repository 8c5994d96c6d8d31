"""The contract rule, where it is applied, and what the adapter's check costs in store round trips."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from petcover import authentication
from petcover.authorization import Prefetched
from petcover.errors import BusinessRuleViolation, Forbidden
from petcover.identity import PERMISSIONS
from petcover.models.catalog import ContractTerms
from petcover.models.fulfilment import BatchRequest
from petcover.ports import Ports, Put
from petcover.repositories import catalog as catalog_keys
from petcover.repositories import policies as policy_repo
from petcover.services import catalog, credentials, policies
from petcover.services.fulfilment import batches, booking, views
from petcover.storage.memory import MemoryStore
from tests.support import events
from tests.support.bookings import SHOP, online, setup_world
from tests.support.calls import handler_of, sign
from tests.support.fixtures import STAFF, channel_with_contracts, publish_seed_products

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "petcover"
DAY = date(2026, 11, 22)


@pytest.fixture
def p(fake_ports: Ports) -> Ports:
    publish_seed_products(fake_ports)
    channel_with_contracts(fake_ports, "shop-a", products=("pet-health",))
    return fake_ports


def _terms(p: Ports, **over: Any) -> None:
    current = catalog.get_contract(p, "shop-a", "pet-health")
    terms = {"permissions": current.permissions, "effective_from": current.effective_from, **over}
    catalog.modify_contract(p, STAFF, "shop-a", "pet-health", ContractTerms.model_validate(terms))


# ---------------------------------------------------------------- the rule


def test_a_change_needs_an_active_contract_in_effect_a_read_only_the_permission(p):
    _terms(p, permissions=["query", "book"])
    catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="contract ended")
    assert catalog.authorize(p, "shop-a", "pet-health", "query", DAY, reading=True).status == "terminated"
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "book", DAY)
    assert err.value.code == "CONTRACT_TERMINATED"
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "quote", DAY, reading=True)  # not granted: refused anyway
    assert err.value.code == "OPERATION_NOT_IN_CONTRACT"


def test_a_contract_that_has_ended_still_lets_its_channel_read(p):
    _terms(p, effective_to=DAY - timedelta(days=1))
    assert catalog.authorize(p, "shop-a", "pet-health", "query", DAY, reading=True).version == 2
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "claim", DAY)
    assert err.value.code == "CONTRACT_NOT_IN_EFFECT"


def test_a_read_needs_the_permission_in_the_current_version(p):
    _terms(p, permissions=[x for x in PERMISSIONS if x != "query"])
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "query", DAY, reading=True)
    assert (err.value.code, err.value.details["permission"]) == ("OPERATION_NOT_IN_CONTRACT", "query")


def test_a_renewal_the_contract_no_longer_allows_is_offered_as_a_new_product(p):
    catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="contract ended")
    with pytest.raises(BusinessRuleViolation) as err:
        catalog.authorize(p, "shop-a", "pet-health", "renew", DAY)
    assert err.value.code == "RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT"
    assert err.value.details == {"reason": "CONTRACT_TERMINATED"}


def test_a_batch_needs_some_contract_that_allows_the_permission(p):
    catalog.authorize_any(p, "shop-a", "book", DAY)
    catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="contract ended")
    with pytest.raises(Forbidden) as err:
        catalog.authorize_any(p, "shop-a", "book", DAY)
    assert err.value.code == "CONTRACT_TERMINATED"
    catalog.authorize_any(p, "shop-a", "query", DAY, reading=True)
    with pytest.raises(Forbidden) as err:
        catalog.authorize_any(p, "shop-b", "query", DAY, reading=True)
    assert err.value.code == "NO_CONTRACT"


def test_a_contract_change_made_elsewhere_is_seen_within_the_cache_window(p, monkeypatch):
    """This container drops its copy when it changes a contract; another one's change shows within
    CONTRACT_CACHE_SECONDS (here the change is written straight to the table, as another container would)."""
    now = [1000.0]
    monkeypatch.setattr(catalog.time, "monotonic", lambda: now[0])
    catalog.authorize(p, "shop-a", "pet-health", "book", DAY)
    item = p.store.get(*catalog_keys.contract_key("shop-a", "pet-health"))
    assert item is not None
    p.store.put({**item, "state": "terminated"})
    catalog.authorize(p, "shop-a", "pet-health", "book", DAY)  # still the cached copy
    now[0] += catalog.CONTRACT_CACHE_SECONDS
    with pytest.raises(Forbidden):
        catalog.authorize(p, "shop-a", "pet-health", "book", DAY)


def test_the_rule_is_applied_in_one_place():
    """The adapter checks every channel call; besides it only bulk issue (ops issuing for a channel)
    and batch booking (each item, when it is booked) call the rule. No service checks a call again."""
    allowed = {"authorization.py", "services/bulk.py", "services/fulfilment/booking.py"}
    callers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\bcatalog\.authorize(_any)?\(", path.read_text())
    }
    assert callers == allowed, callers


def test_a_batch_item_is_checked_against_its_own_product_when_it_is_booked(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    accepted = batches.create_batch(
        p, SHOP, BatchRequest(items=[{**online().model_dump(mode="json"), "policy_number": number}]), "b-1"
    )
    current = catalog.get_contract(p, "shop-a", "pet-health")
    terms = {"permissions": ["quote", "query"], "effective_from": current.effective_from}
    catalog.modify_contract(p, STAFF, "shop-a", "pet-health", ContractTerms.model_validate(terms))
    (message,) = p.publisher.drain(batches.BOOKING_QUEUE)  # type: ignore[attr-defined]
    assert batches.process_batch_item(p, message) == "rejected"
    status = batches.batch_status(p, SHOP, accepted.batch_id)
    assert status.items[0].error is not None and status.items[0].error["code"] == "OPERATION_NOT_IN_CONTRACT"


# ---------------------------------------------------------------- reads made once


def test_a_read_made_while_authorising_is_handed_once_to_the_same_read_and_dropped_by_a_write():
    inner = MemoryStore()
    inner.put({"pk": "A", "sk": "1", "data": "x"})
    store = Prefetched(inner)
    assert store.get("A", "1") is not None
    assert store.get("A", "2", consistent=False) is None  # eventually consistent: not kept
    store.stop_recording()
    assert inner.calls["get"] == 2
    assert store.get("A", "1") == {"pk": "A", "sk": "1", "data": "x"}
    assert inner.calls["get"] == 2  # handed over, not read again
    store.get("A", "1")
    assert inner.calls["get"] == 3  # once only
    again = Prefetched(inner)
    again.get("A", "1")
    again.stop_recording()
    again.put({"pk": "A", "sk": "1", "data": "y"})
    assert again.get("A", "1") == {"pk": "A", "sk": "1", "data": "y"}  # the write dropped the old read


def _signed(p: Ports, function: str, key: tuple[str, str], path: dict[str, str]) -> dict[str, Any]:
    ev = events.api(function, path_params=path)
    return sign(ev, *key, now=int(p.now().timestamp()))


def _round_trips(p: Ports, function: str, key: tuple[str, str], path: dict[str, str]) -> int:
    store = p.store
    assert isinstance(store, MemoryStore)
    handler_of(function)(_signed(p, function, key, path), None)  # caches warm: key, channel, contract
    before = sum(store.calls.values())
    resp = handler_of(function)(_signed(p, function, key, path), None)
    assert resp["statusCode"] == 200, resp
    return sum(store.calls.values()) - before


def _service_round_trips(p: Ports, read: Any) -> int:
    store = p.store
    assert isinstance(store, MemoryStore)
    before = sum(store.calls.values())
    read()
    return sum(store.calls.values()) - before


SIGNED_CALL = 1  # the nonce's conditional put (the rate-limit ADD is batched: tests/unit/test_rate_limit.py)


@pytest.fixture(autouse=True)
def _rate_limit_counted_elsewhere(monkeypatch):
    monkeypatch.setattr(authentication, "enforce_rate", lambda *args: None)


def test_the_permission_check_of_a_read_costs_no_round_trip_and_one_for_an_appointment(fake_ports):
    """GET /policies/{n}: the policy is read once (by the check, handed to the operation)."""
    p = fake_ports
    _, number = setup_world(p)
    appointment = booking.book_appointment(p, SHOP, number, online()).appointment_id
    key = credentials.issue(p, "channel", "shop-a")
    key_pair = (key.key_id, key.secret)

    policy_read = _service_round_trips(p, lambda: policies.get_for(p, SHOP, number))
    assert _round_trips(p, "GetPolicyFunction", key_pair, {"number": number}) == SIGNED_CALL + policy_read == 2

    history = _service_round_trips(p, lambda: policies.history(p, SHOP, number))
    assert _round_trips(p, "PolicyHistoryFunction", key_pair, {"number": number}) == SIGNED_CALL + history

    appt = _service_round_trips(p, lambda: views.get_for_channel(p, SHOP, appointment))
    got = _round_trips(p, "GetAppointmentFunction", key_pair, {"appointmentId": appointment})
    assert got == SIGNED_CALL + appt + 1  # the appointment's policy, for its product


def test_a_cold_contract_cache_costs_one_read(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    key = credentials.issue(p, "channel", "shop-a")
    warm = _round_trips(p, "GetPolicyFunction", (key.key_id, key.secret), {"number": number})
    catalog.clear_caches()
    store = p.store
    assert isinstance(store, MemoryStore)
    before = sum(store.calls.values())
    resp = handler_of("GetPolicyFunction")(
        _signed(p, "GetPolicyFunction", (key.key_id, key.secret), {"number": number}), None
    )
    assert resp["statusCode"] == 200 and json.loads(resp["body"])["number"] == number
    assert sum(store.calls.values()) - before == warm + 1


def test_the_check_never_serves_an_item_older_than_the_operations_own_write(fake_ports):
    """A write inside the operation drops what the check read, so a later read is fresh."""
    p = fake_ports
    _, number = setup_world(p)
    store = Prefetched(p.store)
    first = store.get(*policy_repo.policy_key(number))
    assert first is not None
    store.stop_recording()
    store.transact([Put({**first, "state": "cancelled"})])
    assert (store.get(*policy_repo.policy_key(number)) or {})["state"] == "cancelled"
