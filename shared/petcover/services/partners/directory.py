"""The provider directory that dispatch reads: active providers, the providers an insurer buys
from, and partners looked up by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from petcover.domain import regions
from petcover.models.partners import Binding, PartnerAccount, ProviderConfig
from petcover.ports import Item, Ports
from petcover.repositories import partners as keys
from petcover.repositories.base import paginate


def find_by_name(p: Ports, name: str) -> str | None:
    """The id of the partner with this name (case and spacing ignored), from the name guard item."""
    item = p.store.get(*keys.name_key(name))
    return keys.named_partner_id(item) if item else None


def _provider_config(acc: PartnerAccount, item: Item) -> ProviderConfig:
    cur = keys.load_live(item)
    cfg = cur.doc.config
    return ProviderConfig(
        provider_id=acc.id,
        name=acc.name,
        version=cur.version,
        services=cfg.services,
        regions=cfg.regions,
        daily_capacity=cfg.daily_capacity or 0,
        contacts=cfg.contacts,
        activated_at=cur.doc.activated_at,
    )


def account_active(p: Ports, partner_id: str) -> bool:
    """True while the partner's account is neither suspended nor closed (strongly consistent)."""
    item = p.store.get(*keys.partner(partner_id))
    return item is not None and item.get("state") == "active"


def active_provider_config(p: Ports, provider_id: str) -> ProviderConfig | None:
    """The live configuration of an active, reviewed provider with an active account; else None.

    Strongly consistent: reflects an approved change request as soon as the approval returned.
    """
    item = p.store.get(*keys.config_key(provider_id))
    if item is None or item.get("state") != "active":
        return None
    acc_item = p.store.get(*keys.partner(provider_id))
    if acc_item is None or acc_item.get("state") != "active":
        return None
    acc = keys.load_account(acc_item)
    if acc.kind != "provider":
        return None
    return _provider_config(acc, item)


def active_provider_configs(p: Ports, provider_ids: Sequence[str]) -> dict[str, ProviderConfig]:
    """``active_provider_config`` for several providers in one strongly consistent round trip."""
    ids = list(dict.fromkeys(provider_ids))
    if not ids:
        return {}
    found = p.store.get_many([k for pid in ids for k in (keys.config_key(pid), keys.partner(pid))])
    out: dict[str, ProviderConfig] = {}
    for pid in ids:
        item, acc_item = found.get(keys.config_key(pid)), found.get(keys.partner(pid))
        if item is None or item.get("state") != "active" or acc_item is None or acc_item.get("state") != "active":
            continue
        acc = keys.load_account(acc_item)
        if acc.kind == "provider":
            out[pid] = _provider_config(acc, item)
    return out


def active_providers(p: Ports) -> list[ProviderConfig]:
    """Every dispatch candidate, ordered by provider id.

    Read from the ``PROVIDERS#active`` index, so a decision made a moment ago may not show yet;
    confirm the chosen provider with ``active_provider_config`` before assigning to it.
    """
    out: list[ProviderConfig] = []
    for item in paginate(p.store, keys.listing_pk("provider"), index="gsi2"):
        if item.get("state") != "active":
            continue
        acc_item = p.store.get(*keys.partner(keys.listed_partner_id(item)), consistent=False)
        if acc_item is None or acc_item.get("state") != "active":
            continue
        out.append(_provider_config(keys.load_account(acc_item), item))
    return out


def insurer_bindings(p: Ports, insurer_id: str) -> list[Binding]:
    """The providers an active insurer buys from (empty unless its configuration is active)."""
    cur = keys.get_live(p, insurer_id)
    if cur is None or cur.state != "active" or cur.doc.kind != "insurer":
        return []
    return list(cur.doc.config.bindings)


def bound_providers(p: Ports, insurer_id: str, service_type: str, region_code: str) -> list[ProviderConfig]:
    """Active providers the insurer buys ``service_type`` in ``region_code`` from."""
    out: list[ProviderConfig] = []
    for b in insurer_bindings(p, insurer_id):
        if b.service_types is not None and service_type not in b.service_types:
            continue
        if b.regions is not None and not regions.any_covers((r.area() for r in b.regions), region_code):
            continue
        cfg = active_provider_config(p, b.provider_id)
        if cfg is not None and cfg.offers(service_type) and cfg.covers(region_code):
            out.append(cfg)
    return out
