from datetime import date

import pytest

from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, IllegalTransition
from petcover.models.catalog import ChannelCreate, ContractCreate, ContractTerms
from petcover.seed.products import PET_HEALTH
from petcover.services import catalog, channels
from tests.support.fixtures import STAFF, channel_with_contracts, publish_seed_products


def test_modify_makes_a_new_version_and_published_one_never_changes(fake_ports):
    p = fake_ports
    catalog.create_product(p, STAFF, PET_HEALTH)
    catalog.publish_product(p, STAFF, "pet-health", None)
    changed = PET_HEALTH.model_copy(update={"name": "Pet health 2027"})
    out = catalog.modify_product(p, STAFF, "pet-health", changed)
    assert out.version.version == 2 and out.version.status == "draft"
    assert catalog.get_version(p, "pet-health", 1).name == PET_HEALTH.name
    # New sales still use the published version until version 2 is published.
    assert catalog.on_sale(p, "pet-health").version == 1
    catalog.publish_product(p, STAFF, "pet-health", 2)
    catalog._head_cache.clear()
    assert catalog.on_sale(p, "pet-health").version == 2


def test_publishing_twice_is_refused(fake_ports):
    catalog.create_product(fake_ports, STAFF, PET_HEALTH)
    catalog.publish_product(fake_ports, STAFF, "pet-health", None)
    with pytest.raises(Conflict) as err:
        catalog.publish_product(fake_ports, STAFF, "pet-health", 1)
    assert err.value.code == "ALREADY_PUBLISHED"


def test_delisted_product_cannot_be_modified_or_delisted_again(fake_ports):
    catalog.create_product(fake_ports, STAFF, PET_HEALTH)
    catalog.publish_product(fake_ports, STAFF, "pet-health", None)
    catalog.delist_product(fake_ports, STAFF, "pet-health", reason="withdrawn from sale")
    with pytest.raises(IllegalTransition):
        catalog.modify_product(fake_ports, STAFF, "pet-health", PET_HEALTH)
    with pytest.raises(IllegalTransition):
        catalog.delist_product(fake_ports, STAFF, "pet-health", reason="withdrawn from sale")
    catalog._head_cache.clear()
    with pytest.raises(BusinessRuleViolation) as err:
        catalog.on_sale(fake_ports, "pet-health")
    assert err.value.code == "PRODUCT_DELISTED"


def test_a_draft_cannot_be_delisted(fake_ports):
    catalog.create_product(fake_ports, STAFF, PET_HEALTH)
    with pytest.raises(IllegalTransition):
        catalog.delist_product(fake_ports, STAFF, "pet-health", reason="withdrawn from sale")


def test_unpublished_product_cannot_be_authorised(fake_ports):
    p = fake_ports
    catalog.create_product(p, STAFF, PET_HEALTH)
    channels.add_channel(p, STAFF, ChannelCreate(id="shop-a", name="Shop", callback_url="http://127.0.0.1:9/"))
    with pytest.raises(BusinessRuleViolation) as err:
        catalog.create_contract(
            p,
            STAFF,
            "shop-a",
            ContractCreate(product_code="pet-health", permissions=["quote"], effective_from=date(2026, 1, 1)),
        )
    assert err.value.code == "PRODUCT_NOT_PUBLISHED"


def test_terminated_contract_refuses_new_business(fake_ports):
    p = fake_ports
    publish_seed_products(p)
    channel_with_contracts(p, "shop-a", products=("pet-health",))
    assert catalog.authorize(p, "shop-a", "pet-health", "underwrite", date(2026, 11, 22)).version == 1
    catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="agreement ended")
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "underwrite", date(2026, 11, 22))
    assert err.value.code == "CONTRACT_TERMINATED"
    with pytest.raises(IllegalTransition):
        catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="agreement ended")


def test_contract_modify_keeps_old_version_and_checks_permissions(fake_ports):
    p = fake_ports
    publish_seed_products(p)
    channel_with_contracts(p, "shop-a", products=("pet-health",), permissions=("quote",))
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-a", "pet-health", "underwrite", date(2026, 11, 22))
    assert err.value.code == "OPERATION_NOT_IN_CONTRACT"
    terms = ContractTerms(
        premium_multiplier="1.1", permissions=["quote", "underwrite"], effective_from=date(2026, 1, 1)
    )
    new = catalog.modify_contract(p, STAFF, "shop-a", "pet-health", terms)
    assert new.version == 2
    assert catalog.get_contract(p, "shop-a", "pet-health", 1).permissions == ["quote"]
    assert catalog.authorize(p, "shop-a", "pet-health", "underwrite", date(2026, 11, 22)).version == 2


def test_contract_for_another_channel_is_not_shared(fake_ports):
    p = fake_ports
    publish_seed_products(p)
    channel_with_contracts(p, "shop-a", products=("pet-health",))
    channel_with_contracts(p, "shop-b", products=("return-shipping",))
    with pytest.raises(Forbidden) as err:
        catalog.authorize(p, "shop-b", "pet-health", "quote", date(2026, 11, 22))
    assert err.value.code == "NO_CONTRACT"


def test_every_ops_change_is_audited(fake_ports):
    from petcover.services import audit

    p = fake_ports
    publish_seed_products(p)
    trail = audit.by_entity(p, "product", "pet-health")
    assert [r.action for r in trail] == ["publish", "create"]
    assert trail[0].before == {"status": "draft"}
    assert all(r.actor == "ops:setup" for r in trail)
    assert len(audit.by_actor(p, "ops:setup")) >= 6


def test_closed_channel_cannot_change(fake_ports):
    from petcover.models.catalog import ChannelUpdate

    p = fake_ports
    channels.add_channel(p, STAFF, ChannelCreate(id="shop-a", name="Shop", callback_url="http://127.0.0.1:9/"))
    channels.set_channel_state(p, STAFF, "shop-a", "close", "agreement ended")
    with pytest.raises(Conflict):
        channels.update_channel(p, STAFF, "shop-a", ChannelUpdate(rate_limit=5))
    with pytest.raises(IllegalTransition):
        channels.set_channel_state(p, STAFF, "shop-a", "close", "agreement ended")
