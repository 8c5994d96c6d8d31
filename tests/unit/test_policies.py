import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from petcover.domain import calendar
from petcover.errors import BusinessRuleViolation, Conflict, IllegalTransition, NotFound
from petcover.identity import Principal
from petcover.models.policies import CancelRequest, EndorseRequest, RenewRequest, UnderwriteRequest
from petcover.models.risk import RuleSetPublish
from petcover.services import catalog, ledger, policies, policy_expiry
from petcover.services.risk import rules
from tests.support.clock import Clock
from tests.support.fixtures import STAFF, catalogue

SHOP_A = Principal("channel", "shop-a")
SHOP_B = Principal("channel", "shop-b")


def _req(order: str, pet: str = "pet-1", plan: str = "basic", **insured: object) -> UnderwriteRequest:
    facts = {"insured_id": pet, "species": "dog", "breed_size": "medium", "age_months": 30, "region": "110105"}
    facts.update(insured)
    return UnderwriteRequest.model_validate(
        {
            "product_code": "pet-health",
            "plan_code": plan,
            "insured": facts,
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
        }
    )


@pytest.fixture
def p(fake_ports):
    catalogue(fake_ports, ("shop-a", "shop-b"))
    return fake_ports


def test_underwrite_issues_a_policy_with_quota_balances(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-1"))
    assert pol.number.startswith("PC") and pol.status == "active"
    assert pol.product_version == 1 and pol.contract_version == 1
    got = policies.get_for(p, SHOP_A, pol.number)
    quotas = {b.code: (b.quota, b.available) for b in got.benefits}
    assert quotas["annual-checkup"] == (1, 1) and quotas["medicine-delivery"] == (6, 6)
    assert got.remaining_sum_insured == got.sum_insured


def test_refusal_lists_every_failed_rule_in_words(p):
    with pytest.raises(BusinessRuleViolation) as err:
        policies.underwrite(p, SHOP_A, _req("o-2", species="parrot", age_months=300, region="650102"))
    codes = {d["code"] for d in err.value.details}
    assert {"SPECIES_NOT_COVERED", "AGE_TOO_HIGH"} <= codes
    assert all(d["message"].endswith(".") for d in err.value.details)


def test_at_most_one_active_policy_per_pet_and_duplicate_order(p):
    policies.underwrite(p, SHOP_A, _req("o-3", pet="pet-9"))
    with pytest.raises(BusinessRuleViolation) as err:
        policies.underwrite(p, SHOP_A, _req("o-4", pet="pet-9"))
    assert "TOO_MANY_ACTIVE_POLICIES" in {d["code"] for d in err.value.details}
    with pytest.raises(Conflict) as dup:
        policies.underwrite(p, SHOP_A, _req("o-3", pet="pet-10"))
    assert dup.value.code == "DUPLICATE_ORDER"


def test_a_channel_sees_only_its_own_policies(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-5"))
    with pytest.raises(NotFound):
        policies.get_for(p, SHOP_B, pol.number)
    assert policies.find_by_order(p, "shop-b", "o-5", missing_ok=True) is None
    assert policies.get_for(p, STAFF, pol.number).number == pol.number


def test_policy_numbers_are_unique_under_concurrency(p):
    numbers: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        pol = policies.underwrite(p, SHOP_A, _req(f"c-{i}", pet=f"pet-c{i}"))
        with lock:
            numbers.append(pol.number)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(numbers) == 16 and len(set(numbers)) == 16


def test_endorse_changes_plan_keeps_history_and_moves_money(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-6"))
    out = policies.endorse(p, SHOP_A, pol.number, EndorseRequest(plan_code="plus", reason="upgrade"))
    assert out.policy.plan_code == "plus" and out.policy.version == 2
    assert out.premium_change > 0
    hist = policies.history(p, SHOP_A, pol.number)
    assert [v.action for v in hist.versions] == ["issue", "endorse"]
    with pytest.raises(BusinessRuleViolation):
        policies.endorse(p, SHOP_A, pol.number, EndorseRequest(plan_code="plus", reason="again"))


def test_cancel_refunds_pro_rata_and_is_final(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-7"))
    out = policies.cancel(p, SHOP_A, pol.number, CancelRequest(reason="changed mind"))
    assert out.policy.status == "cancelled"
    assert Decimal(0) < out.refund <= pol.premium
    with pytest.raises(IllegalTransition):
        policies.cancel(p, SHOP_A, pol.number, CancelRequest(reason="again"))
    assert ("PolicyCancelled", {"policy_number": pol.number, "channel_id": "shop-a", "reason": "changed mind"}) in [
        (t, {k: v for k, v in d.items() if k != "correlation_id"}) for t, d in p.publisher.events
    ]


def test_return_shipping_is_not_refundable_once_shipped(p):
    req = UnderwriteRequest.model_validate(
        {
            "product_code": "return-shipping",
            "plan_code": "standard",
            "insured": {"insured_id": "order-77"},
            "channel_order_id": "rs-1",
            "holder": {"name": "Han Meimei"},
        }
    )
    pol = policies.underwrite(p, SHOP_A, req)
    out = policies.cancel(p, SHOP_A, pol.number, CancelRequest(reason="x", goods_shipped=True))
    assert out.refund == Decimal("0.00")


def test_renewal_refused_with_offer_new_product_when_delisted(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-8"))
    late = datetime.now(UTC) + timedelta(days=340)
    p.clock = lambda: late
    catalog.delist_product(p, STAFF, "pet-health", reason="withdrawn from sale")
    catalog.clear_caches()
    with pytest.raises(BusinessRuleViolation) as err:
        policies.renew(p, SHOP_A, pol.number, RenewRequest(channel_order_id="o-8-r"))
    assert err.value.code == "RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT"


def test_renewal_creates_a_new_term(p):
    pol = policies.underwrite(p, SHOP_A, _req("o-9"))
    with pytest.raises(BusinessRuleViolation) as early:
        policies.renew(p, SHOP_A, pol.number, RenewRequest(channel_order_id="o-9-r"))
    assert early.value.code == "TOO_EARLY_TO_RENEW"
    late = datetime.now(UTC) + timedelta(days=350)
    p.clock = lambda: late
    new = policies.renew(p, SHOP_A, pol.number, RenewRequest(channel_order_id="o-9-r"))
    assert new.renewed_from == pol.number and new.start_date == pol.end_date


def test_statement_totals_reconcile_to_statistics(p):
    a = policies.underwrite(p, SHOP_A, _req("s-1", pet="s1"))
    policies.underwrite(p, SHOP_A, _req("s-2", pet="s2"))
    policies.endorse(p, SHOP_A, a.number, EndorseRequest(plan_code="plus", reason="up"))
    refund = policies.cancel(p, SHOP_A, a.number, CancelRequest(reason="bye")).refund
    month = calendar.month_of(p.now())
    entries = ledger.statement_entries(p, "shop-a", month)
    assert {e.event for e in entries} == {"issue", "endorse", "refund"}
    rows = ledger.statistics(p, ["shop-a"], {"pet-health": ["basic", "plus"]}, "month", month, month)
    premium = sum((r.premium for r in rows), Decimal(0))
    refunds = sum((r.refunds for r in rows), Decimal(0))
    assert sum(r.policies for r in rows) == 2
    assert premium - refunds == sum((e.amount for e in entries), Decimal(0))
    assert refunds == refund
    csv_text = ledger.statement_csv(entries)
    assert csv_text.splitlines()[-1].startswith("TOTAL,")


def test_expiry_job_expires_only_ended_policies(p):
    pol = policies.underwrite(p, SHOP_A, _req("e-1"))
    p.clock = Clock(calendar.start_of(pol.end_date) - timedelta(minutes=1))
    assert policy_expiry.expire_due(p)["expired"] == 0
    p.clock = Clock(calendar.start_of(pol.end_date) + timedelta(minutes=10))
    assert policy_expiry.expire_due(p)["expired"] == 1
    assert policies.get_for(p, SHOP_A, pol.number).status == "expired"


def test_underwrite_store_calls_are_a_handful(p):
    store = p.store
    before = dict(store.calls)
    policies.underwrite(p, SHOP_A, _req("n-1", pet="calls"))
    used = {k: v - before.get(k, 0) for k, v in store.calls.items() if v - before.get(k, 0)}
    # counter ADD + contract read + active-policies query + one transaction (products are cached)
    # + the product's insurer routing rules (none here: underwritten in-house)
    # + the risk rule set in force (cached per container like the products: read once here)
    assert sum(used.values()) <= 7, used


def test_an_endorsement_reprices_with_the_risk_rate_factor_in_its_breakdown(p):
    """A plan change prices both plans as a quote does, the risk rate factor line included."""
    plain = policies.underwrite(p, SHOP_A, _req("o-rate-1", pet="pet-r1"))
    unrated = policies.endorse(p, SHOP_A, plain.number, EndorseRequest(plan_code="plus", reason="upgrade"))
    assert plain.quote is not None and unrated.policy.quote is not None
    assert unrated.premium_change == unrated.policy.quote.premium - plain.quote.premium  # the whole term is left
    assert [line.dimension for line in unrated.policy.quote.lines] == [line.dimension for line in plain.quote.lines]
    rule = {"id": "beijing", "kind": "rate_factor", "stages": ["underwrite"], "factor": "1.5"}
    rules.publish(p, STAFF, RuleSetPublish(version=1, rules=[{**rule, "when": {"region_prefix": "11"}}], note="t"))
    rated = policies.underwrite(p, SHOP_A, _req("o-rate-2", pet="pet-r2"))
    assert rated.quote is not None and rated.quote.lines[-1].dimension == "risk"
    out = policies.endorse(p, SHOP_A, rated.number, EndorseRequest(plan_code="plus", reason="upgrade"))
    new_quote = out.policy.quote
    assert new_quote is not None and new_quote.plan_code == "plus"
    assert new_quote.lines[-1] == rated.quote.lines[-1]  # the same line: dimension risk, rule beijing, x1.5
    assert new_quote.lines[-1].rule == "beijing" and new_quote.lines[-1].factor == Decimal("1.5")
    assert new_quote.unrounded_premium == unrated.policy.quote.unrounded_premium * Decimal("1.5")
    assert out.premium_change == new_quote.premium - rated.quote.premium
    assert out.policy.premium == rated.premium + out.premium_change == new_quote.premium
    stored = policies.get_for(p, SHOP_A, rated.number)
    assert stored.quote == new_quote and stored.premium == new_quote.premium
    other = policies.underwrite(p, SHOP_A, _req("o-rate-3", pet="pet-r3", region="310115"))
    moved = policies.endorse(p, SHOP_A, other.number, EndorseRequest(plan_code="plus", reason="upgrade"))
    assert moved.policy.quote is not None and all(line.dimension != "risk" for line in moved.policy.quote.lines)
