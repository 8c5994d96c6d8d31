"""The SLA configuration: read it with its effective limits and versions, replace it (audited).

The live configuration is what ``services.timeline`` applies to every node it records.
"""

from __future__ import annotations

import re
from typing import Any

from petcover.domain import sla
from petcover.errors import Conflict, InvalidInput, StaleWrite
from petcover.identity import Principal
from petcover.models.sla import EffectiveLimit, SlaConfigSaved, SlaConfigUpdate, SlaConfigVersion, SlaConfigView
from petcover.observability import logger
from petcover.ports import Item, Ports, Put
from petcover.repositories import sla as keys
from petcover.services import audit, timeline
from petcover.services.sla.times import iso

REGION_PREFIX = re.compile(r"^\d{2}(?:\d{2}(?:\d{2})?)?$")
SERVICE_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The node a limit counts from (and whether that flow is online), to show effective limits.
_COUNTS_FROM: dict[str, tuple[str, bool]] = {
    sla.ACCEPTED: (sla.ASSIGNED, False),
    sla.APPOINTMENT_CONFIRMED: (sla.ACCEPTED, False),
    sla.SHIPPED: (sla.ACCEPTED, True),
    sla.SERVED: (sla.APPOINTMENT_CONFIRMED, False),
    sla.COMPLETED: (sla.SERVED, False),
    sla.EXCEPTION_HANDLED: (sla.EXCEPTION_RAISED, False),
}


def region_prefix(code: str) -> str | None:
    """A GB/T 2260 code or prefix as the prefix ``is_remote`` matches: '540000' -> '54',
    '650100' -> '6501', '650102' and '6501' unchanged; None when it is not one."""
    c = code.strip()
    if not REGION_PREFIX.match(c):
        return None
    if len(c) == 6 and c.endswith("0000"):
        return c[:2]
    if len(c) == 6 and c.endswith("00"):
        return c[:4]
    return c


def validate_config(body: SlaConfigUpdate, version: int) -> sla.SlaConfig:
    """The domain's rules plus the platform's: known service-type shape, real region codes."""
    errors: list[dict[str, str]] = []
    for i, limit in enumerate(body.limits):
        if limit.service_type != sla.ANY_SERVICE and not SERVICE_TYPE.match(limit.service_type):
            errors.append(
                {
                    "field": f"limits.{i}.service_type",
                    "message": f"'{limit.service_type}' is not a service type (lowercase letters, digits, _) or '*'",
                }
            )
    prefixes: list[str] = []
    for i, code in enumerate(body.remote_regions):
        prefix = region_prefix(code)
        if prefix is None:
            errors.append(
                {
                    "field": f"remote_regions.{i}",
                    "message": f"'{code}' is not a region code or prefix (2, 4 or 6 digits, GB/T 2260)",
                }
            )
        else:
            prefixes.append(prefix)
    try:
        config = sla.parse_sla_config(
            {
                "version": version,
                "limits": [limit.model_dump() for limit in body.limits],
                "remote_extra_pct": body.remote_extra_pct,
                "core_stricter_pct": body.core_stricter_pct,
                "remote_regions": prefixes,
            }
        )
    except InvalidInput as exc:
        errors.extend(exc.details or [])
        config = None
    if errors or config is None:
        raise InvalidInput("The SLA configuration is invalid.", code="INVALID_SLA_CONFIG", details=errors)
    return config


def _same_rules(a: sla.SlaConfig, b: sla.SlaConfig) -> bool:
    def canon(c: sla.SlaConfig) -> dict[str, Any]:
        data = c.model_dump(mode="json", exclude={"version"})
        data["limits"] = sorted(data["limits"], key=lambda lim: (lim["node"], lim["service_type"]))
        return data

    return canon(a) == canon(b)


def _current(p: Ports) -> tuple[sla.SlaConfig, Item | None]:
    item = p.store.get(*keys.config_key())
    if item is None:
        return sla.DEFAULT_SLA, None
    return keys.load_config(item), item


def _builtin_version() -> SlaConfigVersion:
    return SlaConfigVersion(
        version=sla.DEFAULT_SLA.version, at="", by="system", reason="built-in default", config=sla.DEFAULT_SLA
    )


def _load_version(p: Ports, version: int) -> SlaConfigVersion | None:
    item = p.store.get(*keys.config_version_key(version))
    return keys.load_config_version(item) if item else None


def _adjusted_seconds(config: sla.SlaConfig, limit: sla.SlaLimit, *, remote: bool, core: bool) -> int:
    current, online = _COUNTS_FROM[limit.node]
    probe = config.model_copy(update={"remote_regions": ["~REMOTE"]})  # a region that is surely remote
    found = sla.limit_for(
        probe,
        current,
        limit.service_type,
        region="~REMOTE" if remote else "",
        core_provider=core,
        online=online,
    )
    return int(found[1].total_seconds()) if found else 0


def effective_limits(config: sla.SlaConfig) -> list[EffectiveLimit]:
    """Each limit in seconds, plain and with the remote / core adjustments (and both)."""
    return [
        EffectiveLimit(
            node=limit.node,
            service_type=limit.service_type,
            base_seconds=_adjusted_seconds(config, limit, remote=False, core=False),
            remote_seconds=_adjusted_seconds(config, limit, remote=True, core=False),
            core_seconds=_adjusted_seconds(config, limit, remote=False, core=True),
            remote_core_seconds=_adjusted_seconds(config, limit, remote=True, core=True),
        )
        for limit in config.limits
    ]


def get_config(p: Ports, versions: int = 20) -> SlaConfigView:
    config, item = _current(p)
    # The newest ``versions`` only: one page on purpose.
    page = p.store.query(keys.CONFIG_PK, sk_prefix=keys.VERSION_PREFIX, descending=True, limit=versions)
    stored = [keys.load_config_version(i) for i in page.items]
    latest = next((v for v in stored if v.version == config.version), None)
    return SlaConfigView(
        current=config,
        is_default=item is None,
        updated_at=latest.at if latest else None,
        updated_by=latest.by if latest else None,
        effective=effective_limits(config),
        versions=stored,
    )


def put_config(p: Ports, who: Principal | str, body: SlaConfigUpdate) -> SlaConfigSaved:
    """Store a new version and make it current, in one transaction; audited."""
    current, item = _current(p)
    if body.expected_version is not None and body.expected_version != current.version:
        raise Conflict(
            f"The SLA configuration is at version {current.version}, not {body.expected_version}; "
            "reload it and apply your change again.",
            code="SLA_CONFIG_CHANGED",
            details={"current_version": current.version},
        )
    version = current.version + 1
    config = validate_config(body, version)
    if _same_rules(config, current):
        existing = _load_version(p, current.version) if item is not None else None
        return SlaConfigSaved(changed=False, version=existing or _builtin_version())

    actor = audit.actor_name(who)
    record = SlaConfigVersion(version=version, at=iso(p.now()), by=actor, reason=body.reason, config=config)
    current_item = keys.current_config_item(config, actor)
    audited = audit.entry(
        p,
        who,
        "sla_config",
        "current",
        "updated",
        before=current.model_dump(mode="json"),
        after=config.model_dump(mode="json"),
        request_id=f"sla-config-v{version}",
        reason=body.reason,
    )
    try:
        p.store.transact(
            [
                Put(keys.config_version_item(record), if_absent=True),
                Put(current_item, if_absent=True)
                if item is None
                else Put(current_item, expect=[("version", "=", current.version)]),
                audited,
            ]
        )
    except StaleWrite:
        raise Conflict(
            "The SLA configuration was changed by someone else meanwhile; reload it and try again.",
            code="SLA_CONFIG_CHANGED",
        ) from None
    timeline.forget_configuration()
    logger.info("sla config updated", extra={"version": version, "actor": actor})
    return SlaConfigSaved(changed=True, version=record)
