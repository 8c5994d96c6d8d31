"""The insurer's catalogue: products (versioned), channels, contracts between them.

Products: a HEAD item per product code names the latest and the published version; each
version is its own item and, once published, never changes. Policies store the product and
contract versions they were sold under, so a later modify never touches them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from petcover.domain import policy_terms, states
from petcover.domain.catalog import ProductSpec, ProductVersion
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, StaleWrite
from petcover.identity import Principal
from petcover.models.catalog import (
    Contract,
    ContractCreate,
    ContractTerms,
    ProductHead,
    ProductOut,
)
from petcover.ports import Ports, Put, Update
from petcover.repositories import catalog as keys
from petcover.repositories import partners as partner_keys
from petcover.services import audit

# Published product versions are immutable: cache them per container for the hot quote path.
_version_cache: dict[tuple[str, int], ProductVersion] = {}
_head_cache: dict[str, tuple[float, ProductHead]] = {}
HEAD_CACHE_SECONDS = 5
# Contracts are read by every channel call: cached per container like keys and channel status.
_contract_cache: dict[tuple[str, str], tuple[float, Contract | None]] = {}
_contracts_cache: dict[str, tuple[float, list[Contract]]] = {}
CONTRACT_CACHE_SECONDS = 5


@contextmanager
def unless_changed(what: str, code: str) -> Iterator[None]:
    """A conditional write that lost a race becomes a 409 the caller can act on."""
    try:
        yield
    except StaleWrite:
        raise Conflict(f"The {what} changed meanwhile; reload and retry.", code=code) from None


def get_head(p: Ports, code: str, *, cached: bool = False) -> ProductHead:
    if cached:
        hit = _head_cache.get(code)
        if hit and time.monotonic() - hit[0] < HEAD_CACHE_SECONDS:
            return hit[1]
    item = p.store.get(*keys.product_head(code))
    if item is None:
        raise NotFound(f"Product {code} does not exist.", code="PRODUCT_NOT_FOUND")
    head = keys.load_head(item)
    _head_cache[code] = (time.monotonic(), head)
    return head


def get_version(p: Ports, code: str, version: int) -> ProductVersion:
    hit = _version_cache.get((code, version))
    if hit:
        return hit
    item = p.store.get(*keys.product_version(code, version))
    if item is None:
        raise NotFound(f"Product {code} has no version {version}.", code="PRODUCT_VERSION_NOT_FOUND")
    pv = keys.load_version(item)
    if pv.status != "draft":
        _version_cache[(code, version)] = pv
    return pv


def get_product(p: Ports, code: str, version: int | None = None) -> ProductOut:
    head = get_head(p, code)
    return ProductOut(head=head, version=get_version(p, code, version or head.latest_version))


def list_products(p: Ports) -> list[ProductHead]:
    page = p.store.query(keys.PRODUCT_LIST, index="gsi1", limit=500)
    return [keys.load_head(i) for i in page.items]


def create_product(p: Ports, who: Principal, spec: ProductSpec) -> ProductOut:
    now = p.now()
    pv = ProductVersion.from_spec(spec, version=1, status="draft", created_at=now)
    head = ProductHead(code=spec.code, name=spec.name, kind=spec.kind, status="draft", latest_version=1)
    try:
        p.store.transact(
            [
                Put(keys.new_head_item(head), if_absent=True),
                Put(keys.new_version_item(pv), if_absent=True),
                audit.entry(p, who, "product", spec.code, "create", after=pv.model_dump(mode="json")),
            ]
        )
    except StaleWrite:
        raise Conflict(f"Product {spec.code} already exists; modify it instead.", code="PRODUCT_EXISTS") from None
    return ProductOut(head=head, version=pv)


def modify_product(p: Ports, who: Principal, code: str, spec: ProductSpec) -> ProductOut:
    """Every modification is a new draft version; published versions never change."""
    if spec.code != code:
        raise BusinessRuleViolation("The product code cannot change.", code="PRODUCT_CODE_IMMUTABLE")
    head = get_head(p, code)
    states.PRODUCT.next_state(head.status, "modify")
    new_version = head.latest_version + 1
    pv = ProductVersion.from_spec(spec, version=new_version, status="draft", created_at=p.now())
    new_head = head.model_copy(update={"latest_version": new_version, "name": spec.name})
    with unless_changed("product", "PRODUCT_CHANGED"):
        p.store.transact(
            [
                Update(
                    *keys.product_head(code),
                    set={"data": new_head.model_dump_json(), "version": new_version},
                    expect=[("version", "=", head.latest_version)],
                ),
                Put(keys.new_version_item(pv), if_absent=True),
                audit.entry(
                    p,
                    who,
                    "product",
                    code,
                    "modify",
                    before={"version": head.latest_version},
                    after=pv.model_dump(mode="json"),
                ),
            ]
        )
    return ProductOut(head=new_head, version=pv)


def publish_product(p: Ports, who: Principal, code: str, version: int | None) -> ProductOut:
    head = get_head(p, code)
    if head.status == "delisted":
        states.PRODUCT.next_state("delisted", "publish")
    target = version or head.latest_version
    pv = get_version(p, code, target)
    if pv.status != "draft":
        raise Conflict(f"Version {target} of {code} is already {pv.status}.", code="ALREADY_PUBLISHED")
    now = p.now()
    published = pv.model_copy(update={"status": "published", "published_at": now})
    new_head = head.model_copy(update={"status": "published", "published_version": target})
    with unless_changed("product", "PRODUCT_CHANGED"):
        p.store.transact(
            [
                Update(
                    *keys.product_version(code, target),
                    set={"state": "published", "data": published.model_dump_json()},
                    expect=[("state", "=", "draft")],
                ),
                Update(
                    *keys.product_head(code),
                    set={"state": "published", "data": new_head.model_dump_json()},
                    expect=[("version", "=", head.latest_version)],
                ),
                audit.entry(
                    p,
                    who,
                    "product",
                    code,
                    "publish",
                    before={"status": head.status},
                    after={"status": "published", "version": target},
                ),
            ]
        )
    _head_cache.pop(code, None)
    return ProductOut(head=new_head, version=published)


def delist_product(p: Ports, who: Principal, code: str, *, reason: str) -> ProductHead:
    head = get_head(p, code)
    states.PRODUCT.next_state(head.status, "delist")
    new_head = head.model_copy(update={"status": "delisted"})
    with unless_changed("product", "PRODUCT_CHANGED"):
        p.store.transact(
            [
                Update(
                    *keys.product_head(code),
                    set={"state": "delisted", "data": new_head.model_dump_json()},
                    expect=[("state", "=", head.status)],
                ),
                audit.entry(
                    p,
                    who,
                    "product",
                    code,
                    "delist",
                    before={"status": head.status},
                    after={"status": "delisted"},
                    reason=reason,
                ),
            ]
        )
    _head_cache.pop(code, None)
    return new_head


def on_sale(p: Ports, code: str) -> ProductVersion:
    """The version new policies are sold on; refuses unpublished or delisted products."""
    head = get_head(p, code, cached=True)
    if head.status != "published" or head.published_version is None:
        raise BusinessRuleViolation(
            f"Product {code} is {head.status}; it cannot be sold.",
            code="PRODUCT_NOT_ON_SALE" if head.status != "delisted" else "PRODUCT_DELISTED",
        )
    return get_version(p, code, head.published_version)


# ------------------------------------------------------------------ contracts
def get_contract(p: Ports, channel_id: str, product_code: str, version: int | None = None) -> Contract:
    item = p.store.get(*keys.contract_key(channel_id, product_code, version))
    if item is None:
        raise NotFound(f"Channel {channel_id} has no contract for product {product_code}.", code="CONTRACT_NOT_FOUND")
    return keys.load_contract(item)


def list_contracts(p: Ports, channel_id: str) -> list[Contract]:
    page = p.store.query(partner_keys.channel_pk(channel_id), sk_prefix=keys.CONTRACT_PREFIX, limit=500)
    return [keys.load_contract(i) for i in page.items if not keys.is_contract_version(i)]


def create_contract(p: Ports, who: Principal, channel_id: str, req: ContractCreate) -> Contract:
    if p.store.get(*partner_keys.channel(channel_id)) is None:
        raise NotFound(f"Channel {channel_id} does not exist.", code="CHANNEL_NOT_FOUND")
    head = get_head(p, req.product_code)
    if head.status != "published":
        raise BusinessRuleViolation(
            f"Product {req.product_code} is {head.status}; only a published product can be authorised.",
            code="PRODUCT_NOT_PUBLISHED",
        )
    contract = Contract(channel_id=channel_id, version=1, status="active", created_at=p.now(), **req.model_dump())
    current, first_version = keys.new_contract_items(contract)
    record = audit.entry(
        p, who, "contract", f"{channel_id}/{req.product_code}", "create", after=contract.model_dump(mode="json")
    )
    try:
        p.store.transact([Put(current, if_absent=True), Put(first_version, if_absent=True), record])
    except StaleWrite:
        raise Conflict(
            f"Channel {channel_id} already has a contract for {req.product_code}; modify it instead.",
            code="CONTRACT_EXISTS",
        ) from None
    _forget_contract(channel_id, req.product_code)
    return contract


def modify_contract(p: Ports, who: Principal, channel_id: str, product_code: str, terms: ContractTerms) -> Contract:
    current = get_contract(p, channel_id, product_code)
    states.CONTRACT.next_state(current.status, "modify")
    new = current.model_copy(update={**terms.model_dump(), "version": current.version + 1, "created_at": p.now()})
    with unless_changed("contract", "CONTRACT_CHANGED"):
        p.store.transact(
            [
                Update(
                    *keys.contract_key(channel_id, product_code),
                    set={"data": new.model_dump_json(), "version": new.version},
                    expect=[("version", "=", current.version), ("state", "=", "active")],
                ),
                Put(keys.contract_version_item(new), if_absent=True),
                audit.entry(
                    p,
                    who,
                    "contract",
                    f"{channel_id}/{product_code}",
                    "modify",
                    before=current.model_dump(mode="json"),
                    after=new.model_dump(mode="json"),
                ),
            ]
        )
    _forget_contract(channel_id, product_code)
    return new


def terminate_contract(p: Ports, who: Principal, channel_id: str, product_code: str, *, reason: str) -> Contract:
    current = get_contract(p, channel_id, product_code)
    states.CONTRACT.next_state(current.status, "terminate")
    new = current.model_copy(update={"status": "terminated", "terminated_at": p.now()})
    record = audit.entry(
        p,
        who,
        "contract",
        f"{channel_id}/{product_code}",
        "terminate",
        before={"status": "active"},
        after={"status": "terminated"},
        reason=reason,
    )
    with unless_changed("contract", "CONTRACT_CHANGED"):
        p.store.transact(
            [
                Update(
                    *keys.contract_key(channel_id, product_code),
                    set={"state": "terminated", "data": new.model_dump_json()},
                    expect=[("state", "=", "active")],
                ),
                record,
            ]
        )
    _forget_contract(channel_id, product_code)
    return new


def _contract(p: Ports, channel_id: str, product_code: str) -> Contract | None:
    """The channel's current contract for a product, cached per container for a few seconds."""
    hit = _contract_cache.get((channel_id, product_code))
    if hit and time.monotonic() - hit[0] < CONTRACT_CACHE_SECONDS:
        return hit[1]
    item = p.store.get(*keys.contract_key(channel_id, product_code), consistent=False)
    contract = None if item is None else keys.load_contract(item)
    _contract_cache[(channel_id, product_code)] = (time.monotonic(), contract)
    return contract


def _contracts(p: Ports, channel_id: str) -> list[Contract]:
    hit = _contracts_cache.get(channel_id)
    if hit and time.monotonic() - hit[0] < CONTRACT_CACHE_SECONDS:
        return hit[1]
    contracts = list_contracts(p, channel_id)
    _contracts_cache[channel_id] = (time.monotonic(), contracts)
    return contracts


def _forget_contract(channel_id: str, product_code: str) -> None:
    """This container sees its own contract changes at once; others within CONTRACT_CACHE_SECONDS."""
    _contract_cache.pop((channel_id, product_code), None)
    _contracts_cache.pop(channel_id, None)


def contract_of(p: Ports, channel_id: str, product_code: str) -> Contract:
    """The terms a channel call runs under (the adapter has already checked the permission)."""
    contract = _contract(p, channel_id, product_code)
    if contract is None:
        raise Forbidden(f"Your channel has no contract for product {product_code}.", code="NO_CONTRACT")
    return contract


def _refusal(
    contract: Contract | None, product_code: str, permission: str, today: date, reading: bool
) -> Forbidden | None:
    """Why ``contract`` does not allow ``permission`` today, or None.

    A read needs only the permission in the contract's current version: a channel keeps reading its
    own policies, claims and appointments after the contract is terminated or has ended. Every other
    operation also needs the contract active and in effect today.
    """
    if contract is None:
        return Forbidden(f"Your channel is not authorised to sell product {product_code}.", code="NO_CONTRACT")
    if not reading and contract.status != "active":
        return Forbidden(
            f"The contract for {product_code} is terminated; no new business is accepted.",
            code="CONTRACT_TERMINATED",
        )
    in_effect = contract.effective_from <= today and not (contract.effective_to and today > contract.effective_to)
    if not reading and not in_effect:
        return Forbidden(f"The contract for {product_code} is not in effect today.", code="CONTRACT_NOT_IN_EFFECT")
    if permission not in contract.permissions:
        return Forbidden(
            f"Operation '{permission}' is not in your contract for {product_code}.",
            code="OPERATION_NOT_IN_CONTRACT",
            details={"permission": permission, "product_code": product_code},
        )
    return None


def authorize(
    p: Ports, channel_id: str, product_code: str, permission: str, today: date, *, reading: bool = False
) -> Contract:
    """The contract under which a channel may perform ``permission`` on a product today.

    The one rule for contract permissions: the HTTP adapter applies it to every channel call, bulk
    issue to each file and batch booking to each item (``_refusal`` says what it allows).
    """
    contract = _contract(p, channel_id, product_code)
    refused = _refusal(contract, product_code, permission, today, reading)
    if refused is None:
        assert contract is not None
        return contract
    if permission == "renew" and refused.code in policy_terms.RENEWAL_BLOCKERS:
        raise BusinessRuleViolation(
            f"This policy cannot be renewed: {refused.message} Offer the customer a new product.",
            code="RENEWAL_NOT_AVAILABLE_OFFER_NEW_PRODUCT",
            details={"reason": refused.code},
        )
    raise refused


def authorize_any(p: Ports, channel_id: str, permission: str, today: date, *, reading: bool = False) -> None:
    """Some contract of the channel allows ``permission`` (a batch over several products)."""
    refusals = {
        c.product_code: _refusal(c, c.product_code, permission, today, reading) for c in _contracts(p, channel_id)
    }
    if any(r is None for r in refusals.values()):
        return
    codes = {r.code for r in refusals.values() if r is not None}
    raise Forbidden(
        f"No contract of your channel allows operation '{permission}'" + ("." if reading else " today."),
        code=codes.pop() if len(codes) == 1 else ("OPERATION_NOT_IN_CONTRACT" if codes else "NO_CONTRACT"),
        details={"permission": permission, "refusals": {k: r.code for k, r in refusals.items() if r is not None}},
    )


def clear_caches() -> None:
    """Per-container caches; tests that swap stores clear them."""
    _version_cache.clear()
    _head_cache.clear()
    _contract_cache.clear()
    _contracts_cache.clear()
