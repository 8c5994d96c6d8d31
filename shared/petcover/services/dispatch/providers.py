"""Which providers may take an order: the container's cached list of active ones, and their fit."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from petcover.domain import regions
from petcover.domain.dispatch import RegionRule
from petcover.models.dispatch import DispatchMessage
from petcover.models.partners import ProviderConfig
from petcover.ports import Ports, WriteOp
from petcover.repositories import partners as partner_keys
from petcover.services.partners import directory

PROVIDER_CACHE_SECONDS = 10.0

ProvidersFn = Callable[[Ports], Sequence[ProviderConfig]]
ConfirmFn = Callable[[Ports, str], ProviderConfig | None]

_providers: weakref.WeakKeyDictionary[Any, tuple[float, list[ProviderConfig]]] = weakref.WeakKeyDictionary()
_providers_lock = threading.Lock()


def clear_cache() -> None:
    with _providers_lock:
        _providers.clear()


def forget(p: Ports) -> None:
    """Drop this store's cached list (a provider in it turned out to be inactive)."""
    with _providers_lock:
        _providers.pop(p.store, None)


def active_configs(p: Ports, providers: ProvidersFn | None) -> list[ProviderConfig]:
    """``providers(p)`` when given, else the active providers, cached for ``PROVIDER_CACHE_SECONDS``."""
    if providers is not None:
        return list(providers(p))
    with _providers_lock:
        hit = _providers.get(p.store)
    if hit is not None and time.monotonic() - hit[0] < PROVIDER_CACHE_SECONDS:
        return hit[1]
    configs = directory.active_providers(p)
    with _providers_lock:
        _providers[p.store] = (time.monotonic(), configs)
    return configs


def with_unlisted(p: Ports, listed: list[ProviderConfig], named: Sequence[str]) -> dict[str, ProviderConfig]:
    """The listed providers by id, plus those of ``named`` missing from the list that are active after
    all: a provider activated since the list was cached (or not yet in the eventually consistent
    index) that a rule just published names. One consistent read, only when a named one is missing;
    a find refreshes the cached list."""
    by_id = {c.provider_id: c for c in listed}
    missing = [pid for pid in named if pid not in by_id]
    if missing:
        found = directory.active_provider_configs(p, missing)
        if found:
            forget(p)
        by_id.update(found)
    return by_id


def standing_checks(cfg: ProviderConfig) -> list[WriteOp]:
    """What the decision's transaction holds a cached configuration to: the provider's account and
    configuration still active, at the version the decision was made on. A suspension or an approved
    change since the cache was filled refuses the commit (then ``confirm_active`` reads it afresh)."""
    return list(partner_keys.provider_standing_checks(cfg.provider_id, cfg.version))


def confirm_active(p: Ports, provider_id: str) -> ProviderConfig | None:
    """The provider's live configuration if it is active and reviewed, else None (strongly consistent)."""
    return directory.active_provider_config(p, provider_id)


def bound_ids(p: Ports, msg: DispatchMessage) -> set[str] | None:
    """Providers the product's insurer binds for this order's service and region; None when it binds none."""
    if not msg.insurer_id:
        return None
    bindings = directory.insurer_bindings(p, msg.insurer_id)
    if not bindings:
        return None
    return {
        b.provider_id
        for b in bindings
        if (b.service_types is None or msg.service_type in b.service_types)
        and (b.regions is None or regions.any_covers((r.area() for r in b.regions), msg.region_code))
    }


def misfit(cfg: ProviderConfig, msg: DispatchMessage) -> str | None:
    """Why an active provider's own configuration rules it out for this order, if it does."""
    if not cfg.offers(msg.service_type):
        return f"does not offer {msg.service_type} (provider configuration v{cfg.version})"
    if not cfg.covers(msg.region_code):
        return f"does not serve region {msg.region_code} (provider configuration v{cfg.version})"
    return None


def fitting(
    rule: RegionRule, msg: DispatchMessage, by_id: Mapping[str, ProviderConfig]
) -> tuple[set[str], dict[str, str]]:
    """The rule's active providers whose configuration fits the order, and why the others' does not."""
    unfit: dict[str, str] = {}
    allowed: set[str] = set()
    for share in rule.providers:
        cfg = by_id.get(share.provider_id)
        if cfg is None:
            continue
        why = misfit(cfg, msg)
        if why:
            unfit[share.provider_id] = why
        else:
            allowed.add(share.provider_id)
    return allowed, unfit
