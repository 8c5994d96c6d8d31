"""The audit record of a change commits with the change: one transaction, or neither.

A record written after its change's commit is lost when the process dies in between; so every
change to the table carries ``audit.entry`` in its own transaction. Only actions outside the
table (moving queue messages) record first with ``audit.record`` and amend the outcome.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.catalog import ChannelCreate, ChannelUpdate, ContractCreate, ContractTerms
from petcover.models.partners import PartnerCreate
from petcover.models.sla import SlaConfigUpdate
from petcover.ports import Cond, Item, Ports, Put, WriteOp
from petcover.seed.products import PET_HEALTH
from petcover.services import audit, catalog, channels, credentials
from petcover.services.partners import accounts
from petcover.services.sla import config as sla_config
from petcover.services.webhooks import endpoints
from petcover.storage.memory import MemoryBlobs, MemorySecretBox, MemoryStore
from tests.support.fixtures import STAFF, publish_seed_products
from tests.support.providers import onboard_provider

ROOT = Path(__file__).resolve().parents[2]
# Actions whose change is not in the table: recorded before they run, then amended.
RECORDED_BEFORE = {
    ("shared/petcover/services/quota.py", "redrive"),
    ("shared/petcover/services/webhooks/dead_letters.py", "redrive"),
    ("shared/petcover/services/webhooks/endpoints.py", "resume"),
}


class WatchedStore(MemoryStore):
    """Remembers the items of every write call: (call, keys written)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, list[str]]] = []

    def put(self, item: Item, *, if_absent: bool = False, expect: Sequence[Cond] = ()) -> None:
        self.writes.append(("put", [item["pk"]]))
        super().put(item, if_absent=if_absent, expect=expect)

    def update(self, pk: str, sk: str, **kw: Any) -> Item:
        self.writes.append(("update", [pk]))
        return super().update(pk, sk, **kw)

    def transact(self, ops: Sequence[WriteOp]) -> None:
        self.writes.append(("transact", [op.item["pk"] if isinstance(op, Put) else op.pk for op in ops]))
        super().transact(ops)


@pytest.fixture
def p() -> Ports:
    return Ports(store=WatchedStore(), publisher=MemoryPublisher(), blobs=MemoryBlobs(), secrets=MemorySecretBox())


def _ops_changes(p: Ports) -> None:
    """One of each kind of staff change, through the services."""
    publish_seed_products(p)
    catalog.modify_product(p, STAFF, "pet-health", PET_HEALTH.model_copy(update={"name": "Pet health 2"}))
    catalog.publish_product(p, STAFF, "pet-health", 2)
    catalog.delist_product(p, STAFF, "return-shipping", reason="withdrawn from sale")
    channels.add_channel(p, STAFF, ChannelCreate(id="shop-a", name="Shop", callback_url="http://127.0.0.1:9/"))
    channels.update_channel(p, STAFF, "shop-a", ChannelUpdate(name="Shop A"))
    terms: Mapping[str, Any] = {"premium_multiplier": "1.0", "commission_pct": "10", "permissions": ["quote"]}
    create = ContractCreate(product_code="pet-health", effective_from=date(2020, 1, 1), **terms)
    catalog.create_contract(p, STAFF, "shop-a", create)
    catalog.modify_contract(
        p,
        STAFF,
        "shop-a",
        "pet-health",
        ContractTerms(effective_from=date(2020, 1, 1), **{**terms, "commission_pct": "12"}),
    )
    catalog.terminate_contract(p, STAFF, "shop-a", "pet-health", reason="contract ended")
    key = credentials.issue(p, "channel", "shop-a", audited=(STAFF, "channel", "issue_key"))
    credentials.revoke(p, "channel", "shop-a", key.key_id, audited=(STAFF, "channel", "revoke_key"))
    endpoints.pause(p, Principal("ops", "rita", ("ops",)), "shop-a", "receiver down")
    channels.set_channel_state(p, STAFF, "shop-a", "close", reason="the shop stopped trading")
    provider = onboard_provider(p, "Clinic One")  # documents, draft, submit, ops approval
    issued = accounts.issue_key(p, STAFF, provider)
    accounts.revoke_key(p, STAFF, provider, issued.key_id, reason="key leaked")
    accounts.create_partner(p, STAFF, PartnerCreate(kind="insurer", name="Insurer One", agreement_ref="AGR-2"))
    limits = sla_config.get_config(p).current.limits
    sla_config.put_config(p, STAFF, SlaConfigUpdate(limits=list(limits), remote_regions=["54"]))


def test_every_audit_record_commits_in_the_transaction_of_its_change(p: Ports) -> None:
    store = p.store
    assert isinstance(store, WatchedStore)
    _ops_changes(p)
    audited = [(call, keys) for call, keys in store.writes if any(k.startswith("AUDIT#") for k in keys)]
    alone = [(call, keys) for call, keys in audited if call != "transact" or all(k.startswith("AUDIT#") for k in keys)]
    assert len(audited) >= 25, audited  # the scenario did audit every change
    assert alone == [], "audit records written apart from their change"


def test_a_refused_change_leaves_no_audit_record(p: Ports) -> None:
    publish_seed_products(p)
    channels.add_channel(p, STAFF, ChannelCreate(id="shop-a", name="Shop", callback_url="http://127.0.0.1:9/"))
    create = ContractCreate(
        product_code="pet-health",
        effective_from=date(2020, 1, 1),
        premium_multiplier="1.0",
        commission_pct="10",
        permissions=["quote"],
    )
    catalog.create_contract(p, STAFF, "shop-a", create)
    with pytest.raises(Conflict):  # the same contract again: the transaction is refused, record and all
        catalog.create_contract(p, STAFF, "shop-a", create)
    assert [r.action for r in audit.by_entity(p, "contract", "shop-a/pet-health")] == ["create"]


def _audit_record_calls() -> set[tuple[str, str]]:
    """(file, enclosing function) of every ``audit.record(...)`` call in the product code."""
    found: set[tuple[str, str]] = set()
    for path in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for call in ast.walk(fn):
                f = call.func if isinstance(call, ast.Call) else None
                if isinstance(f, ast.Attribute) and f.attr == "record" and ast.unparse(f.value) == "audit":
                    found.add((str(path.relative_to(ROOT)), fn.name))
    return found


def test_only_actions_outside_the_table_record_apart_from_a_transaction() -> None:
    unexpected = _audit_record_calls() - RECORDED_BEFORE
    assert not unexpected, (
        f"{sorted(unexpected)}: a change to the table writes audit.entry(...) in its own transaction; "
        "audit.record is for actions outside the table, before they run"
    )
