"""Provider and insurer onboarding: accounts, self-service configuration, review, change requests.

Items (main table, partition ``PARTNER#{id}``):

- ``PARTNER``       the account (``state`` = account status, read by access.py on every signed
                    call); ``gsi1pk = PARTNERNAME#{lower name}`` for look-up by name. A guard item
                    ``PARTNERNAME#{lower name}`` / ``NAME`` keeps names unique.
- ``CONFIG#LIVE``   the configuration, ``state`` following PARTNER_CONFIG and a ``version`` bumped
                    on every write; ``ref`` = the pending change request; ``gsi3pk = PARTNERREVIEW``
                    while submitted; ``gsi2pk = PROVIDERS#active`` (or ``INSURERS#active``) while active.
- ``CHANGE#{id}``   change requests, ``state`` following CHANGE_REQUEST; ``gsi3pk =
                    PARTNERCHANGE#pending`` while pending.
- ``DOC#{id}``      qualification files issued for upload (pre-signed PUT).

Every write that moves a state is conditional on the state and version it read, so two reviewers
cannot both decide; approving a change request moves the live configuration and the request in
one transaction. Every submission, review and change is audited on entity ``partner/{id}`` with
``request_id`` = the submission id or the change request id.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from petcover.config import get_settings
from petcover.domain import regions
from petcover.domain.states import CHANGE_REQUEST, PARTNER_CONFIG
from petcover.errors import (
    BusinessRuleViolation,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleWrite,
    Unavailable,
)
from petcover.identity import Principal
from petcover.models.partners import (
    PERMISSIONS,
    AuditQuery,
    Binding,
    BindingInput,
    BindingSaved,
    ChangeRequest,
    ConfigInput,
    DocumentUpload,
    DocumentUploadRequest,
    FieldChange,
    FieldError,
    PartnerAccount,
    PartnerConfigView,
    PartnerCreate,
    PartnerDetail,
    ProviderConfig,
    ReviewItem,
    ReviewQueue,
    StoredConfig,
)
from petcover.ports import Item, Ports, Put, Update
from petcover.repositories import base as entities
from petcover.repositories import partners as keys
from petcover.services import audit, credentials
from petcover.services.audit import AuditRecord
from petcover.services.credentials import IssuedKey, KeyInfo

ENTITY = "partner"
CONFIG_SK = "CONFIG#LIVE"
REVIEW_QUEUE = "PARTNERREVIEW"
PENDING_CHANGES = "PARTNERCHANGE#pending"
ACTIVE_LISTING = {"provider": "PROVIDERS#active", "insurer": "INSURERS#active"}
EDITABLE = ("draft", "rejected")
UPLOAD_SECONDS = 900

Who = Principal | str


# ---------------------------------------------------------------- keys and small helpers


def _pk(partner_id: str) -> str:
    return keys.partner(partner_id)[0]


def config_key(partner_id: str) -> tuple[str, str]:
    return _pk(partner_id), CONFIG_SK


def change_key(partner_id: str, request_id: str) -> tuple[str, str]:
    return _pk(partner_id), f"CHANGE#{request_id}"


def document_key(partner_id: str, document_id: str) -> tuple[str, str]:
    return _pk(partner_id), f"DOC#{document_id}"


def normalise_name(name: str) -> str:
    return " ".join(name.split()).lower()


def _name_pk(name: str) -> str:
    return f"PARTNERNAME#{normalise_name(name)}"


def _new_id(prefix: str, p: Ports) -> str:
    """Sortable by time, unique by the random tail."""
    return f"{prefix}_{p.now().strftime('%Y%m%d%H%M%S')}{secrets.token_hex(4)}"


def _now(p: Ports) -> str:
    return p.now().isoformat()


def _today(p: Ports) -> date:
    return p.now().astimezone(ZoneInfo(get_settings().timezone)).date()


def _errors(items: Iterable[dict[str, str]], prefix: str = "") -> list[dict[str, str]]:
    return [{"field": f"{prefix}{e['field']}", "message": e["message"]} for e in items]


def _all_pages(fetch: Callable[[str | None], Any]) -> Iterator[Item]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        cursor = page.cursor
        if not cursor:
            return


# ---------------------------------------------------------------- accounts


def _account(item: Item) -> PartnerAccount:
    acc = entities.load(PartnerAccount, item)
    return acc.model_copy(update={"status": item.get("state", acc.status)})


def get_account(p: Ports, partner_id: str) -> PartnerAccount:
    item = p.store.get(*keys.partner(partner_id))
    if item is None:
        raise NotFound(f"There is no partner {partner_id}.", code="PARTNER_NOT_FOUND")
    return _account(item)


def create_partner(p: Ports, who: Who, body: PartnerCreate) -> PartnerAccount:
    """Ops open the account after the offline agreement; the name must be unique (case-insensitive)."""
    prefix = "prv" if body.kind == "provider" else "ins"
    partner_id = f"{prefix}_{secrets.token_hex(6)}"
    account = PartnerAccount(
        id=partner_id,
        kind=body.kind,
        name=body.name,
        agreement_ref=body.agreement_ref,
        permissions=list(body.permissions if body.permissions is not None else PERMISSIONS[body.kind]),
        status="active",
        created_at=_now(p),
        created_by=audit.actor_name(who),
    )
    pk, sk = keys.partner(partner_id)
    name_pk = _name_pk(body.name)
    try:
        p.store.transact(
            [
                Put(
                    entities.item(pk, sk, account, kind="partner", state="active", gsi1pk=name_pk, gsi1sk=partner_id),
                    if_absent=True,
                ),
                Put({"pk": name_pk, "sk": "NAME", "kind": "partner_name", "ref": partner_id}, if_absent=True),
            ]
        )
    except StaleWrite:
        raise Conflict(
            f"A partner named {body.name!r} already exists.",
            code="PARTNER_NAME_TAKEN",
            details={"field": "name"},
        ) from None
    audit.record(p, who, ENTITY, partner_id, "account_created", after=account.model_dump(mode="json"))
    return account


def find_by_name(p: Ports, name: str) -> str | None:
    """The id of the partner with this name (case and spacing ignored), from the name guard item."""
    item = p.store.get(_name_pk(name), "NAME")
    return str(item["ref"]) if item else None


def issue_key(p: Ports, who: Who, partner_id: str) -> IssuedKey:
    acc = get_account(p, partner_id)
    if acc.status == "closed":
        raise BusinessRuleViolation(f"Partner {partner_id} is closed; it gets no keys.", code="PARTNER_CLOSED")
    issued = credentials.issue(p, acc.kind, partner_id)
    audit.record(p, who, ENTITY, partner_id, "key_issued", after={"key_id": issued.key_id})
    return issued


def list_keys(p: Ports, partner_id: str) -> list[KeyInfo]:
    acc = get_account(p, partner_id)
    return credentials.list_keys(p, acc.kind, partner_id)


def revoke_key(p: Ports, who: Who, partner_id: str, key_id: str) -> KeyInfo:
    acc = get_account(p, partner_id)
    info = credentials.revoke(p, acc.kind, partner_id, key_id)
    audit.record(p, who, ENTITY, partner_id, "key_revoked", after={"key_id": key_id, "status": info.status})
    return info


def caller(p: Ports, principal: Principal) -> PartnerAccount:
    """The signed partner's own account: a provider or insurer, active, of the kind its key says."""
    if principal.kind not in ("provider", "insurer"):
        raise Forbidden("This call is for providers and insurers.", code="WRONG_PARTNER_KIND")
    item = p.store.get(*keys.partner(principal.id))
    if item is None:
        raise Forbidden("The signing key belongs to no partner account.", code="PARTNER_NOT_FOUND")
    acc = _account(item)
    if acc.kind != principal.kind:
        raise Forbidden("The signing key does not match the partner account.", code="WRONG_PARTNER_KIND")
    if acc.status != "active":
        raise Forbidden("This partner account is not active.", code="PARTNER_INACTIVE")
    return acc


def _require(acc: PartnerAccount, permission: str) -> None:
    if permission not in acc.permissions:
        raise Forbidden(
            f"Your account does not have the permission {permission}.",
            code="PERMISSION_REQUIRED",
            details=[{"permission": permission, "fields": []}],
        )


# ---------------------------------------------------------------- live configuration


@dataclass(frozen=True)
class Live:
    doc: StoredConfig
    state: str
    version: int
    pending: str | None


def _live_from(item: Item) -> Live:
    return Live(
        doc=entities.load(StoredConfig, item),
        state=str(item["state"]),
        version=int(item["version"]),
        pending=item.get("ref"),
    )


def live(p: Ports, partner_id: str) -> Live | None:
    item = p.store.get(*config_key(partner_id))
    return _live_from(item) if item is not None else None


def _must_live(p: Ports, partner_id: str) -> Live:
    cur = live(p, partner_id)
    if cur is None:
        raise NotFound(
            f"Partner {partner_id} has no configuration yet; save and submit one first.",
            code="CONFIG_NOT_FOUND",
        )
    return cur


def _not_editable(state: str) -> IllegalTransition:
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


def _config_race(p: Ports, partner_id: str, action: str) -> StaleWrite:
    """After a lost conditional write: an illegal move now says why, otherwise it is a plain race."""
    cur = live(p, partner_id)
    if cur is not None:
        PARTNER_CONFIG.next_state(cur.state, action)  # raises IllegalTransition when decided meanwhile
    return StaleWrite("The configuration changed meanwhile; reload it and try again.", code="STALE_WRITE")


# ---------------------------------------------------------------- validation


def _duplicates(values: Sequence[Any], field: str, attr: str) -> list[dict[str, str]]:
    seen: dict[Any, int] = {}
    out = []
    for i, v in enumerate(values):
        if v in seen:
            out.append({"field": f"{field}.{i}.{attr}", "message": f"Duplicate of {field}.{seen[v]}"})
        else:
            seen[v] = i
    return out


def own_upload(p: Ports, partner_id: str, file_key: str) -> bool:
    parts = file_key.split("/")
    if len(parts) != 5 or parts[0] != "partners" or parts[1] != partner_id or parts[2] != "documents":
        return False
    item = p.store.get(*document_key(partner_id, parts[3]))
    return item is not None and json.loads(item["data"]).get("file_key") == file_key


def _binding_errors(p: Ports, bindings: Sequence[Binding]) -> list[dict[str, str]]:
    errs: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for i, b in enumerate(bindings):
        f = f"bindings.{i}"
        if b.provider_id in seen:
            errs.append({"field": f"{f}.provider_id", "message": f"Duplicate of bindings.{seen[b.provider_id]}"})
            continue
        seen[b.provider_id] = i
        item = p.store.get(*keys.partner(b.provider_id))
        acc = _account(item) if item is not None else None
        if acc is None or acc.kind != "provider":
            errs.append({"field": f"{f}.provider_id", "message": f"There is no provider {b.provider_id}"})
            continue
        if acc.status == "closed":
            errs.append({"field": f"{f}.provider_id", "message": f"Provider {b.provider_id} is closed"})
            continue
        prov = live(p, b.provider_id)
        if prov is None or not prov.doc.config.services:
            errs.append(
                {
                    "field": f"{f}.provider_id",
                    "message": f"Provider {b.provider_id} has not configured its services yet",
                }
            )
            continue
        offered = {s.service_type for s in prov.doc.config.services}
        if b.service_types is not None:
            if not b.service_types:
                errs.append(
                    {
                        "field": f"{f}.service_types",
                        "message": "Give at least one service type, or leave it out to buy every type "
                        "the provider offers",
                    }
                )
            first: dict[str, int] = {}
            for j, st in enumerate(b.service_types):
                if st in first:
                    errs.append(
                        {"field": f"{f}.service_types.{j}", "message": f"Duplicate of {f}.service_types.{first[st]}"}
                    )
                    continue
                first[st] = j
                if st not in offered:
                    errs.append(
                        {
                            "field": f"{f}.service_types.{j}",
                            "message": f"Provider {b.provider_id} does not offer {st}",
                        }
                    )
        if b.regions is not None:
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
            served = [r.area() for r in prov.doc.config.regions]
            for j, r in enumerate(b.regions):
                if f"{f}.regions.{j}" not in bad and not regions.area_covered(r.area(), served):
                    errs.append(
                        {
                            "field": f"{f}.regions.{j}",
                            "message": f"Provider {b.provider_id} does not serve region {r.code}",
                        }
                    )
    return errs


def consistency_errors(p: Ports, acc: PartnerAccount, cfg: ConfigInput) -> list[dict[str, str]]:
    """Errors a draft may not be saved with: wrong codes, parents, duplicates, foreign files."""
    errs: list[dict[str, str]] = []
    errs.extend(_duplicates([c.name.lower() for c in cfg.contacts], "contacts", "name"))
    if acc.kind == "provider":
        if cfg.bindings:
            errs.append({"field": "bindings", "message": "Only insurers bind providers"})
        errs.extend(_duplicates([s.service_type for s in cfg.services], "services", "service_type"))
        errs.extend(regions.validate_areas([r.area() for r in cfg.regions], "regions"))
        errs.extend(_duplicates([(d.type, d.number) for d in cfg.documents], "documents", "number"))
        for i, d in enumerate(cfg.documents):
            if d.file_key is not None and not own_upload(p, acc.id, d.file_key):
                errs.append(
                    {
                        "field": f"documents.{i}.file_key",
                        "message": "Unknown file: use the file_key returned by POST /partner/documents",
                    }
                )
    else:
        for section in ("services", "regions", "documents"):
            if getattr(cfg, section):
                errs.append({"field": section, "message": "Not used for insurers"})
        if cfg.daily_capacity is not None:
            errs.append({"field": "daily_capacity", "message": "Not used for insurers"})
        errs.extend(_binding_errors(p, cfg.bindings))
    return errs


def completeness_errors(acc: PartnerAccount, cfg: ConfigInput, today: date) -> list[dict[str, str]]:
    """What a submission (or a change request) still needs."""
    errs: list[dict[str, str]] = []
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


def problems(p: Ports, acc: PartnerAccount, cfg: ConfigInput) -> list[dict[str, str]]:
    return consistency_errors(p, acc, cfg) + completeness_errors(acc, cfg, _today(p))


def _invalid(errs: list[dict[str, str]], prefix: str = "") -> InvalidInput:
    return InvalidInput(
        "The configuration is not complete or not consistent.",
        code="CONFIG_INVALID",
        details=_errors(errs, prefix),
    )


# ---------------------------------------------------------------- diff and permissions


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


KEYED_SECTIONS = ("services", "regions", "contacts", "documents", "bindings")


def _canon(v: Any) -> Any:
    """Order-insensitive form of a value, for comparison only."""
    if isinstance(v, list):
        return sorted((_canon(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    return v


def diff(before: ConfigInput | None, after: ConfigInput) -> list[FieldChange]:
    """Field-by-field differences; collection entries are addressed by key, e.g. ``regions[110105]``."""
    b = (before or ConfigInput()).model_dump(mode="json")
    a = after.model_dump(mode="json")
    out: list[FieldChange] = []
    for section in ConfigInput.model_fields:
        bv, av = b[section], a[section]
        if section not in KEYED_SECTIONS:
            if _canon(bv) != _canon(av):
                change = "added" if bv is None else "removed" if av is None else "changed"
                out.append(FieldChange(field=section, change=change, before=bv, after=av))
            continue
        bk = {_entry_key(section, e): e for e in bv}
        ak = {_entry_key(section, e): e for e in av}
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


def _needed(kind: str, ch: FieldChange) -> set[str]:
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
        for perm in sorted(_needed(acc.kind, ch) - set(acc.permissions)):
            missing.setdefault(perm, []).append(ch.field)
    if missing:
        raise Forbidden(
            f"Your account may not make these changes (missing: {', '.join(sorted(missing))}).",
            code="PERMISSION_REQUIRED",
            details=[{"permission": k, "fields": v} for k, v in sorted(missing.items())],
        )


# ---------------------------------------------------------------- views


def _view(p: Ports, acc: PartnerAccount, cur: Live) -> PartnerConfigView:
    return PartnerConfigView.model_validate(
        {
            **cur.doc.model_dump(),
            "state": cur.state,
            "version": cur.version,
            "pending_change_id": cur.pending,
            "problems": problems(p, acc, cur.doc.config),
        }
    )


def _change_from(item: Item) -> ChangeRequest:
    cr = entities.load(ChangeRequest, item)
    return cr.model_copy(update={"state": item.get("state", cr.state)})


def get_change(p: Ports, partner_id: str, request_id: str) -> ChangeRequest:
    item = p.store.get(*change_key(partner_id, request_id))
    if item is None:
        raise NotFound(f"There is no change request {request_id} for partner {partner_id}.", code="CHANGE_NOT_FOUND")
    return _change_from(item)


def detail(p: Ports, partner_id: str) -> PartnerDetail:
    acc = get_account(p, partner_id)
    return _detail(p, acc)


def _detail(p: Ports, acc: PartnerAccount) -> PartnerDetail:
    cur = live(p, acc.id)
    pending = get_change(p, acc.id, cur.pending) if cur is not None and cur.pending else None
    return PartnerDetail(account=acc, config=_view(p, acc, cur) if cur is not None else None, pending_change=pending)


def me(p: Ports, principal: Principal) -> PartnerDetail:
    return _detail(p, caller(p, principal))


# ---------------------------------------------------------------- self-service: draft and submit


def save_draft(p: Ports, principal: Principal, cfg: ConfigInput) -> PartnerConfigView:
    """Create or replace the configuration while it is a draft (or was rejected)."""
    acc = caller(p, principal)
    return _save_draft(p, principal, acc, cfg)


def _save_draft(p: Ports, who: Who, acc: PartnerAccount, cfg: ConfigInput) -> PartnerConfigView:
    cur = live(p, acc.id)
    if cur is not None and cur.state not in EDITABLE:
        raise _not_editable(cur.state)
    changes = diff(cur.doc.config if cur else None, cfg)
    check_permissions(acc, changes)
    errs = consistency_errors(p, acc, cfg)
    if errs:
        raise _invalid(errs)
    if cur is not None and not changes:
        return _view(p, acc, cur)
    now, actor = _now(p), audit.actor_name(who)
    pk, sk = config_key(acc.id)
    if cur is None:
        doc = StoredConfig(partner_id=acc.id, kind=acc.kind, config=cfg, updated_at=now, updated_by=actor)
        try:
            p.store.put(entities.item(pk, sk, doc, kind="partner_config", state="draft", version=1), if_absent=True)
        except StaleWrite:
            raise StaleWrite(
                "The configuration was created meanwhile; reload it and try again.", code="STALE_WRITE"
            ) from None
        saved = Live(doc, "draft", 1, None)
    else:
        doc = cur.doc.model_copy(update={"config": cfg, "updated_at": now, "updated_by": actor})
        try:
            p.store.update(
                pk,
                sk,
                set={"data": entities.dump(doc)},
                add={"version": 1},
                expect=[("state", "=", cur.state), ("version", "=", cur.version)],
            )
        except StaleWrite:
            raise _config_race(p, acc.id, "submit") from None
        saved = Live(doc, cur.state, cur.version + 1, cur.pending)
    audit.record(
        p,
        who,
        ENTITY,
        acc.id,
        "config_draft_saved",
        after={"version": saved.version, "changes": [c.model_dump(mode="json") for c in changes]},
    )
    return _view(p, acc, saved)


def submit(p: Ports, principal: Principal) -> PartnerConfigView:
    """draft|rejected -> submitted, after every completeness and consistency check passes."""
    acc = caller(p, principal)
    cur = live(p, acc.id)
    if cur is None:
        raise NotFound("There is no configuration to submit; save a draft first.", code="CONFIG_NOT_FOUND")
    new_state = PARTNER_CONFIG.next_state(cur.state, "submit")
    errs = problems(p, acc, cur.doc.config)
    if errs:
        raise _invalid(errs)
    now = _now(p)
    submission_id = _new_id("sub", p)
    doc = cur.doc.model_copy(
        update={
            "submission_id": submission_id,
            "submitted_at": now,
            "submitted_by": audit.actor_name(principal),
            "reviewed_at": None,
            "reviewed_by": None,
            "review_reason": None,
        }
    )
    try:
        p.store.update(
            *config_key(acc.id),
            set={
                "state": new_state,
                "data": entities.dump(doc),
                "gsi3pk": REVIEW_QUEUE,
                "gsi3sk": f"{now}#{acc.id}",
            },
            add={"version": 1},
            expect=[("state", "=", cur.state), ("version", "=", cur.version)],
        )
    except StaleWrite:
        raise _config_race(p, acc.id, "submit") from None
    audit.record(
        p,
        principal,
        ENTITY,
        acc.id,
        "config_submitted",
        after=doc.config.model_dump(mode="json"),
        request_id=submission_id,
    )
    return _view(p, acc, Live(doc, new_state, cur.version + 1, cur.pending))


# ---------------------------------------------------------------- ops review of the first configuration


def _decide_config(p: Ports, who: Who, partner_id: str, action: str, reason: str | None) -> PartnerConfigView:
    acc = get_account(p, partner_id)
    cur = _must_live(p, partner_id)
    new_state = PARTNER_CONFIG.next_state(cur.state, action)
    if action == "approve":
        errs = problems(p, acc, cur.doc.config)
        if errs:
            raise BusinessRuleViolation(
                "The configuration no longer passes the checks; reject it with the reason instead.",
                code="CONFIG_INVALID",
                details=errs,
            )
    now = _now(p)
    update: dict[str, Any] = {"reviewed_at": now, "reviewed_by": audit.actor_name(who), "review_reason": reason}
    if action == "approve":
        update["activated_at"] = now
    doc = cur.doc.model_copy(update=update)
    listing = {"gsi2pk": ACTIVE_LISTING[acc.kind], "gsi2sk": partner_id} if new_state == "active" else {}
    try:
        p.store.update(
            *config_key(partner_id),
            set={
                "state": new_state,
                "data": entities.dump(doc),
                "gsi3pk": None,
                "gsi3sk": None,
                "gsi2pk": None,
                "gsi2sk": None,
                **listing,
            },
            add={"version": 1},
            expect=[("state", "=", cur.state), ("version", "=", cur.version)],
        )
    except StaleWrite:
        raise _config_race(p, partner_id, action) from None
    audit.record(
        p,
        who,
        ENTITY,
        partner_id,
        f"config_{'approved' if action == 'approve' else 'rejected'}",
        before={"state": cur.state, "version": cur.version},
        after={"state": new_state, "version": cur.version + 1},
        request_id=doc.submission_id,
        reason=reason,
    )
    return _view(p, acc, Live(doc, new_state, cur.version + 1, cur.pending))


def approve_config(p: Ports, who: Who, partner_id: str, note: str | None = None) -> PartnerConfigView:
    """submitted -> active: a provider becomes a dispatch candidate."""
    return _decide_config(p, who, partner_id, "approve", note)


def reject_config(p: Ports, who: Who, partner_id: str, reason: str) -> PartnerConfigView:
    """submitted -> rejected, with the reason; the partner edits and submits again."""
    if not reason.strip():
        raise InvalidInput("A reason is required to reject.", code="REASON_REQUIRED")
    return _decide_config(p, who, partner_id, "reject", reason.strip())


def review_queue(p: Ports) -> ReviewQueue:
    submitted: list[ReviewItem] = []
    for item in _all_pages(lambda c: p.store.query(REVIEW_QUEUE, index="gsi3", cursor=c)):
        if item.get("state") != "submitted":
            continue  # the index lags a decision by a moment
        cur = _live_from(item)
        acc = get_account(p, cur.doc.partner_id)
        submitted.append(
            ReviewItem(
                partner_id=acc.id,
                partner_name=acc.name,
                kind=acc.kind,
                agreement_ref=acc.agreement_ref,
                submission_id=cur.doc.submission_id,
                submitted_at=cur.doc.submitted_at,
                version=cur.version,
                config=cur.doc.config,
                problems=[FieldError(**e) for e in problems(p, acc, cur.doc.config)],
            )
        )
    pending = [
        _change_from(i)
        for i in _all_pages(lambda c: p.store.query(PENDING_CHANGES, index="gsi3", cursor=c))
        if i.get("state") == "pending"
    ]
    return ReviewQueue(submitted=submitted, pending_changes=pending)


# ---------------------------------------------------------------- change requests


def request_change(p: Ports, principal: Principal, proposed: ConfigInput, reason: str) -> ChangeRequest:
    """Propose a new configuration for an active partner; nothing changes until ops approve."""
    acc = caller(p, principal)
    return _request_change(p, principal, acc, proposed, reason, prefix="config.")


def _request_change(
    p: Ports, who: Who, acc: PartnerAccount, proposed: ConfigInput, reason: str, prefix: str
) -> ChangeRequest:
    cur = _must_live(p, acc.id)
    PARTNER_CONFIG.next_state(cur.state, "request_change")
    if cur.pending:
        raise Conflict(
            f"Change request {cur.pending} is already awaiting review; wait for the decision first.",
            code="CHANGE_PENDING",
            details={"request_id": cur.pending},
        )
    changes = diff(cur.doc.config, proposed)
    if not changes:
        raise InvalidInput("The proposed configuration is the same as the live one.", code="NO_CHANGES")
    check_permissions(acc, changes)
    errs = problems(p, acc, proposed)
    if errs:
        raise _invalid(errs, prefix)
    now = _now(p)
    request_id = _new_id("chg", p)
    cr = ChangeRequest(
        id=request_id,
        partner_id=acc.id,
        partner_name=acc.name,
        kind=acc.kind,
        state="pending",
        reason=reason.strip(),
        base_version=cur.version,
        proposed=proposed,
        diff=changes,
        requested_at=now,
        requested_by=audit.actor_name(who),
    )
    pk, sk = change_key(acc.id, request_id)
    try:
        p.store.transact(
            [
                Update(
                    *config_key(acc.id),
                    set={"ref": request_id},
                    expect=[("state", "=", "active"), ("version", "=", cur.version), ("ref", "not_exists", None)],
                ),
                Put(
                    entities.item(
                        pk,
                        sk,
                        cr,
                        kind="partner_change",
                        state="pending",
                        gsi3pk=PENDING_CHANGES,
                        gsi3sk=f"{now}#{request_id}",
                    ),
                    if_absent=True,
                ),
            ]
        )
    except StaleWrite:
        again = live(p, acc.id)
        if again is not None and again.pending:
            raise Conflict(
                f"Change request {again.pending} is already awaiting review; wait for the decision first.",
                code="CHANGE_PENDING",
                details={"request_id": again.pending},
            ) from None
        raise StaleWrite(
            "The live configuration changed meanwhile; reload it and request the change again.",
            code="STALE_WRITE",
        ) from None
    audit.record(
        p,
        who,
        ENTITY,
        acc.id,
        "change_requested",
        after={"base_version": cur.version, "diff": [c.model_dump(mode="json") for c in changes]},
        request_id=request_id,
        reason=cr.reason,
    )
    return cr


def list_changes(p: Ports, partner_id: str, state: str | None = None) -> list[ChangeRequest]:
    get_account(p, partner_id)
    items = _all_pages(lambda c: p.store.query(_pk(partner_id), sk_prefix="CHANGE#", cursor=c, descending=True))
    out = [_change_from(i) for i in items]
    return [c for c in out if state is None or c.state == state]


def _change_race(p: Ports, partner_id: str, request_id: str, action: str) -> StaleWrite:
    cur = get_change(p, partner_id, request_id)
    CHANGE_REQUEST.next_state(cur.state, action)  # raises IllegalTransition when decided meanwhile
    return StaleWrite(
        "The configuration changed meanwhile; reload the change request and try again.", code="STALE_WRITE"
    )


def approve_change(p: Ports, who: Who, partner_id: str, request_id: str, note: str | None = None) -> ChangeRequest:
    """Apply the proposed configuration atomically: live version check + request state in one transaction."""
    acc = get_account(p, partner_id)
    cr = get_change(p, partner_id, request_id)
    CHANGE_REQUEST.next_state(cr.state, "approve")
    cur = _must_live(p, partner_id)
    if cur.version != cr.base_version or cur.pending != request_id or cur.state != "active":
        raise Conflict(
            f"The live configuration is at version {cur.version} but the request was made on version "
            f"{cr.base_version}; reject it and ask the partner for a new one.",
            code="CHANGE_OUTDATED",
            details={"live_version": cur.version, "base_version": cr.base_version},
        )
    errs = problems(p, acc, cr.proposed)
    if errs:
        raise BusinessRuleViolation(
            "The proposed configuration no longer passes the checks; reject it with the reason instead.",
            code="CONFIG_INVALID",
            details=errs,
        )
    now = _now(p)
    doc = cur.doc.model_copy(
        update={
            "config": cr.proposed,
            "updated_at": now,
            "updated_by": cr.requested_by,
            "last_change_id": request_id,
        }
    )
    done = cr.model_copy(
        update={
            "state": CHANGE_REQUEST.next_state(cr.state, "approve"),
            "reviewed_at": now,
            "reviewed_by": audit.actor_name(who),
            "review_reason": note,
            "applied_version": cur.version + 1,
        }
    )
    try:
        p.store.transact(
            [
                Update(
                    *config_key(partner_id),
                    set={"data": entities.dump(doc), "ref": None},
                    add={"version": 1},
                    expect=[("state", "=", "active"), ("version", "=", cr.base_version), ("ref", "=", request_id)],
                ),
                Update(
                    *change_key(partner_id, request_id),
                    set={"state": done.state, "data": entities.dump(done), "gsi3pk": None, "gsi3sk": None},
                    expect=[("state", "=", "pending")],
                ),
            ]
        )
    except StaleWrite:
        raise _change_race(p, partner_id, request_id, "approve") from None
    audit.record(
        p,
        who,
        ENTITY,
        partner_id,
        "change_approved",
        before=cur.doc.config.model_dump(mode="json"),
        after=cr.proposed.model_dump(mode="json"),
        request_id=request_id,
        reason=note,
    )
    return done


def reject_change(p: Ports, who: Who, partner_id: str, request_id: str, reason: str) -> ChangeRequest:
    """The request is closed with the reason; the live configuration stays as it was."""
    if not reason.strip():
        raise InvalidInput("A reason is required to reject.", code="REASON_REQUIRED")
    get_account(p, partner_id)
    cr = get_change(p, partner_id, request_id)
    new_state = CHANGE_REQUEST.next_state(cr.state, "reject")
    done = cr.model_copy(
        update={
            "state": new_state,
            "reviewed_at": _now(p),
            "reviewed_by": audit.actor_name(who),
            "review_reason": reason.strip(),
        }
    )
    ops: list[Update] = [
        Update(
            *change_key(partner_id, request_id),
            set={"state": new_state, "data": entities.dump(done), "gsi3pk": None, "gsi3sk": None},
            expect=[("state", "=", "pending")],
        )
    ]
    cur = live(p, partner_id)
    if cur is not None and cur.pending == request_id:
        ops.append(Update(*config_key(partner_id), set={"ref": None}, expect=[("ref", "=", request_id)]))
    try:
        p.store.transact(ops)
    except StaleWrite:
        raise _change_race(p, partner_id, request_id, "reject") from None
    audit.record(p, who, ENTITY, partner_id, "change_rejected", request_id=request_id, reason=done.review_reason)
    return done


# ---------------------------------------------------------------- documents and bindings


def document_upload(p: Ports, principal: Principal, body: DocumentUploadRequest) -> DocumentUpload:
    """A pre-signed PUT for one qualification file; its ``file_key`` goes into the configuration."""
    acc = caller(p, principal)
    if acc.kind != "provider":
        raise Forbidden("Only providers upload qualification documents.", code="WRONG_PARTNER_KIND")
    _require(acc, "maintain_qualifications")
    if p.blobs is None:
        raise Unavailable("Document storage is not available; retry later.")
    document_id = _new_id("doc", p)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", body.file_name).strip("._")[:80] or "file"
    file_key = f"partners/{acc.id}/documents/{document_id}/{safe}"
    url = p.blobs.presign_put(file_key, body.content_type, UPLOAD_SECONDS)
    now = _now(p)
    record = {
        "document_id": document_id,
        "file_key": file_key,
        "type": body.type,
        "file_name": body.file_name,
        "content_type": body.content_type,
        "created_at": now,
    }
    pk, sk = document_key(acc.id, document_id)
    p.store.put({"pk": pk, "sk": sk, "kind": "partner_document", "data": json.dumps(record)}, if_absent=True)
    audit.record(p, principal, ENTITY, acc.id, "document_upload_issued", after=record)
    return DocumentUpload(
        document_id=document_id,
        file_key=file_key,
        upload_url=url,
        headers={"Content-Type": body.content_type},
        expires_in=UPLOAD_SECONDS,
    )


def bind_provider(p: Ports, principal: Principal, provider_id: str, body: BindingInput) -> BindingSaved:
    """An insurer binds (or re-scopes) a provider: edits the draft, or requests a change once active."""
    acc = caller(p, principal)
    if acc.kind != "insurer":
        raise Forbidden("Only insurers bind providers.", code="WRONG_PARTNER_KIND")
    _require(acc, "bind_providers")
    if (body.service_types is not None or body.regions is not None) and (
        "configure_service_rules" not in acc.permissions
    ):
        _require(acc, "configure_service_rules")
    try:
        binding = Binding(provider_id=provider_id, service_types=body.service_types, regions=body.regions)
    except ValidationError:
        raise InvalidInput(
            "The provider id is malformed.",
            code="VALIDATION_FAILED",
            details=[{"field": "providerId", "message": "1 to 64 of A-Z, a-z, 0-9, '_' or '-'"}],
        ) from None
    cur = live(p, acc.id)
    base = cur.doc.config if cur is not None else ConfigInput()
    bindings = [binding if b.provider_id == provider_id else b for b in base.bindings]
    if not any(b.provider_id == provider_id for b in base.bindings):
        bindings.append(binding)
    proposed = base.model_copy(update={"bindings": bindings})
    if cur is None or cur.state in EDITABLE:
        view = _save_draft(p, principal, acc, proposed)
        return BindingSaved(provider_id=provider_id, applied_to="draft", config_state=view.state)
    if cur.state != "active":
        raise _not_editable(cur.state)
    if not body.reason:
        raise InvalidInput(
            "The configuration is active, so this binding becomes a change request: give a reason.",
            code="REASON_REQUIRED",
            details=[{"field": "reason", "message": "Field required while the configuration is active"}],
        )
    cr = _request_change(p, principal, acc, proposed, body.reason, prefix="")
    return BindingSaved(
        provider_id=provider_id, applied_to="change_request", config_state="active", change_request_id=cr.id
    )


# ---------------------------------------------------------------- audit


def audit_trail(p: Ports, q: AuditQuery) -> list[AuditRecord]:
    """Every account, submission, review and change record, by partner id, partner name or request id."""
    if q.request_id:
        return audit.by_request(p, q.request_id, limit=q.limit)
    if q.partner_id:
        get_account(p, q.partner_id)
        return audit.by_entity(p, ENTITY, q.partner_id, limit=q.limit)
    assert q.partner_name is not None
    found = p.store.query(_name_pk(q.partner_name), index="gsi1").items
    if not found:
        raise NotFound(f"There is no partner named {q.partner_name!r}.", code="PARTNER_NOT_FOUND")
    records = [r for item in found for r in audit.by_entity(p, ENTITY, _account(item).id, limit=q.limit)]
    records.sort(key=lambda r: (r.at, r.id), reverse=True)
    return records[: q.limit]


# ---------------------------------------------------------------- for dispatch


def _provider_config(acc: PartnerAccount, item: Item) -> ProviderConfig:
    cur = _live_from(item)
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


def active_provider_config(p: Ports, provider_id: str) -> ProviderConfig | None:
    """The live configuration of an active, reviewed provider with an active account; else None.

    Strongly consistent: reflects an approved change request as soon as the approval returned.
    """
    item = p.store.get(*config_key(provider_id))
    if item is None or item.get("state") != "active":
        return None
    acc_item = p.store.get(*keys.partner(provider_id))
    if acc_item is None or acc_item.get("state") != "active":
        return None
    acc = _account(acc_item)
    if acc.kind != "provider":
        return None
    return _provider_config(acc, item)


def active_providers(p: Ports) -> list[ProviderConfig]:
    """Every dispatch candidate, ordered by provider id.

    Read from the ``PROVIDERS#active`` index, so a decision made a moment ago may not show yet;
    confirm the chosen provider with ``active_provider_config`` before assigning to it.
    """
    out: list[ProviderConfig] = []
    for item in _all_pages(lambda c: p.store.query(ACTIVE_LISTING["provider"], index="gsi2", cursor=c)):
        if item.get("state") != "active":
            continue
        provider_id = str(item["gsi2sk"])
        acc_item = p.store.get(*keys.partner(provider_id), consistent=False)
        if acc_item is None or acc_item.get("state") != "active":
            continue
        out.append(_provider_config(_account(acc_item), item))
    return out


def insurer_bindings(p: Ports, insurer_id: str) -> list[Binding]:
    """The providers an active insurer buys from (empty unless its configuration is active)."""
    cur = live(p, insurer_id)
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
