"""Rules of a partner's configuration that need no storage: its shape, completeness, the diff
between two versions and the permissions a change needs.

Errors are ``{"field", "message"}`` dicts, field paths as in the API (``documents.0.file_key``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from petcover.domain import regions
from petcover.domain.states import PARTNER_CONFIG
from petcover.errors import Forbidden, IllegalTransition
from petcover.models.partners import Binding, ConfigInput, FieldChange, PartnerAccount

FieldErrors = list[dict[str, str]]

# Configuration states the partner may still edit in place.
EDITABLE = ("draft", "rejected")


def prefixed(items: Iterable[dict[str, str]], prefix: str = "") -> FieldErrors:
    return [{"field": f"{prefix}{e['field']}", "message": e["message"]} for e in items]


def not_editable(state: str) -> IllegalTransition:
    if state == "submitted":
        message = "Partner configuration is submitted and awaiting review; it cannot be edited until ops decide."
    elif state == "active":
        message = "Partner configuration is active; request a change instead."
    else:
        message = f"Partner configuration is {state}; it cannot be edited now."
    return IllegalTransition(
        message,
        code="ILLEGAL_TRANSITION",
        details={
            "machine": PARTNER_CONFIG.name,
            "from": state,
            "action": "edit",
            "allowed": PARTNER_CONFIG.allowed_actions(state),
        },
    )


# ---------------------------------------------------------------- shape and completeness


def duplicates(values: Sequence[Any], field: str, attr: str) -> FieldErrors:
    seen: dict[Any, int] = {}
    out = []
    for i, v in enumerate(values):
        if v in seen:
            out.append({"field": f"{field}.{i}.{attr}", "message": f"Duplicate of {field}.{seen[v]}"})
        else:
            seen[v] = i
    return out


def shape_errors(acc: PartnerAccount, cfg: ConfigInput) -> FieldErrors:
    """Consistency errors visible in the configuration alone: codes, duplicates, sections of the other kind.

    Uploaded files and bound providers are checked against storage after these.
    """
    errs: FieldErrors = []
    errs.extend(duplicates([c.name.lower() for c in cfg.contacts], "contacts", "name"))
    if acc.kind == "provider":
        if cfg.bindings:
            errs.append({"field": "bindings", "message": "Only insurers bind providers"})
        errs.extend(duplicates([s.service_type for s in cfg.services], "services", "service_type"))
        errs.extend(regions.validate_areas([r.area() for r in cfg.regions], "regions"))
        errs.extend(duplicates([(d.type, d.number) for d in cfg.documents], "documents", "number"))
        return errs
    for section in ("services", "regions", "documents"):
        if getattr(cfg, section):
            errs.append({"field": section, "message": "Not used for insurers"})
    if cfg.daily_capacity is not None:
        errs.append({"field": "daily_capacity", "message": "Not used for insurers"})
    return errs


def completeness_errors(acc: PartnerAccount, cfg: ConfigInput, today: date) -> FieldErrors:
    """What a submission (or a change request) still needs."""
    errs: FieldErrors = []
    if not cfg.contacts:
        errs.append({"field": "contacts", "message": "Add at least one contact for alerts"})
    if acc.kind == "insurer":
        if not cfg.bindings:
            errs.append({"field": "bindings", "message": "Bind at least one provider"})
        return errs
    if not cfg.services:
        errs.append({"field": "services", "message": "Choose at least one service type"})
    if not cfg.regions:
        errs.append({"field": "regions", "message": "Give at least one service region"})
    if cfg.daily_capacity is None:
        errs.append({"field": "daily_capacity", "message": "Set the daily capacity"})
    if not any(d.type == "business_licence" for d in cfg.documents):
        errs.append({"field": "documents", "message": "Add the business licence"})
    for i, d in enumerate(cfg.documents):
        if d.expires_on is not None and d.expires_on < today:
            errs.append(
                {
                    "field": f"documents.{i}.expires_on",
                    "message": f"Licence {d.number} expired on {d.expires_on.isoformat()}",
                }
            )
        if d.file_key is None:
            errs.append({"field": f"documents.{i}.file_key", "message": "Upload the document file first"})
    return errs


# ---------------------------------------------------------------- what a binding may buy


def _service_type_errors(f: str, b: Binding, service_types: Sequence[str], offered: set[str]) -> FieldErrors:
    errs: FieldErrors = []
    if not service_types:
        errs.append(
            {
                "field": f"{f}.service_types",
                "message": "Give at least one service type, or leave it out to buy every type the provider offers",
            }
        )
    first: dict[str, int] = {}
    for j, st in enumerate(service_types):
        if st in first:
            errs.append({"field": f"{f}.service_types.{j}", "message": f"Duplicate of {f}.service_types.{first[st]}"})
            continue
        first[st] = j
        if st not in offered:
            errs.append({"field": f"{f}.service_types.{j}", "message": f"Provider {b.provider_id} does not offer {st}"})
    return errs


def _region_errors(f: str, b: Binding, served: Sequence[regions.Area]) -> FieldErrors:
    assert b.regions is not None
    errs: FieldErrors = []
    if not b.regions:
        errs.append(
            {
                "field": f"{f}.regions",
                "message": "Give at least one region, or leave it out to buy every region the provider serves",
            }
        )
    area_errs = regions.validate_areas([r.area() for r in b.regions], f"{f}.regions")
    errs.extend(area_errs)
    bad = {e["field"] for e in area_errs}
    for j, r in enumerate(b.regions):
        if f"{f}.regions.{j}" not in bad and not regions.area_covered(r.area(), served):
            errs.append(
                {"field": f"{f}.regions.{j}", "message": f"Provider {b.provider_id} does not serve region {r.code}"}
            )
    return errs


def binding_scope_errors(field: str, b: Binding, offered: set[str], served: Sequence[regions.Area]) -> FieldErrors:
    """The service types and regions a binding buys must be ones the provider offers and serves."""
    errs: FieldErrors = []
    if b.service_types is not None:
        errs.extend(_service_type_errors(field, b, b.service_types, offered))
    if b.regions is not None:
        errs.extend(_region_errors(field, b, served))
    return errs


# ---------------------------------------------------------------- diff


KEYED_SECTIONS = ("services", "regions", "contacts", "documents", "bindings")


def _entry_key(section: str, e: dict[str, Any]) -> str:
    if section == "services":
        return str(e["service_type"])
    if section == "regions":
        return str(e.get("district") or e.get("city") or e["province"])
    if section == "contacts":
        return str(e["name"])
    if section == "documents":
        return f"{e['type']}:{e['number']}"
    return str(e["provider_id"])  # bindings


def _canon(v: Any) -> Any:
    """Order-insensitive form of a value, for comparison only."""
    if isinstance(v, list):
        return sorted((_canon(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    return v


def _section_diff(section: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[FieldChange]:
    out: list[FieldChange] = []
    bk = {_entry_key(section, e): e for e in before}
    ak = {_entry_key(section, e): e for e in after}
    for key in list(bk) + [k for k in ak if k not in bk]:
        path = f"{section}[{key}]"
        if key not in ak:
            out.append(FieldChange(field=path, change="removed", before=bk[key], after=None))
        elif key not in bk:
            out.append(FieldChange(field=path, change="added", before=None, after=ak[key]))
        else:
            for name, new in ak[key].items():
                old = bk[key].get(name)
                if _canon(old) != _canon(new):
                    out.append(FieldChange(field=f"{path}.{name}", change="changed", before=old, after=new))
    return out


def diff(before: ConfigInput | None, after: ConfigInput) -> list[FieldChange]:
    """Field-by-field differences; collection entries are addressed by key, e.g. ``regions[110105]``."""
    b = (before or ConfigInput()).model_dump(mode="json")
    a = after.model_dump(mode="json")
    out: list[FieldChange] = []
    for section in ConfigInput.model_fields:
        bv, av = b[section], a[section]
        if section in KEYED_SECTIONS:
            out.extend(_section_diff(section, bv, av))
        elif _canon(bv) != _canon(av):
            change = "added" if bv is None else "removed" if av is None else "changed"
            out.append(FieldChange(field=section, change=change, before=bv, after=av))
    return out


# ---------------------------------------------------------------- permissions


SECTION_PERMISSION = {
    "provider": {
        "services": "maintain_service_info",
        "daily_capacity": "maintain_service_info",
        "contacts": "maintain_service_info",
        "regions": "configure_service_regions",
        "documents": "maintain_qualifications",
    },
    "insurer": {},  # contacts need no permission; bindings are decided per change below
}


def needed_permissions(kind: str, ch: FieldChange) -> set[str]:
    section = re.split(r"[.\[]", ch.field, maxsplit=1)[0]
    if kind == "insurer" and section == "bindings":
        if ch.change == "changed":
            return {"configure_service_rules"}
        needed = {"bind_providers"}
        if (
            ch.change == "added"
            and isinstance(ch.after, dict)
            and (ch.after.get("service_types") is not None or ch.after.get("regions") is not None)
        ):
            needed.add("configure_service_rules")
        return needed
    perm = SECTION_PERMISSION[kind].get(section)
    return {perm} if perm else set()


def check_permissions(acc: PartnerAccount, changes: Sequence[FieldChange]) -> None:
    missing: dict[str, list[str]] = {}
    for ch in changes:
        for perm in sorted(needed_permissions(acc.kind, ch) - set(acc.permissions)):
            missing.setdefault(perm, []).append(ch.field)
    if missing:
        raise Forbidden(
            f"Your account may not make these changes (missing: {', '.join(sorted(missing))}).",
            code="PERMISSION_REQUIRED",
            details=[{"permission": k, "fields": v} for k, v in sorted(missing.items())],
        )


def require_permission(acc: PartnerAccount, permission: str) -> None:
    if permission not in acc.permissions:
        raise Forbidden(
            f"Your account does not have the permission {permission}.",
            code="PERMISSION_REQUIRED",
            details=[{"permission": permission, "fields": []}],
        )
