"""The checks a configuration must pass, with the stored facts they need: the provider's own
uploaded files, and for an insurer the accounts and live configurations of the providers it binds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from petcover import outbound
from petcover.domain import calendar
from petcover.domain import partner_config as rules
from petcover.domain.partner_config import FieldErrors
from petcover.errors import InvalidInput
from petcover.models.partners import Binding, ConfigInput, PartnerAccount
from petcover.ports import Ports
from petcover.repositories import partners as keys
from petcover.services.partners.documents import own_upload


def _today(p: Ports) -> date:
    return calendar.today(p.now())


def _live_bound_provider(p: Ports, f: str, b: Binding) -> tuple[FieldErrors, keys.Live | None]:
    """The bound provider's live configuration, or the errors saying why it cannot be bought from."""
    item = p.store.get(*keys.partner(b.provider_id))
    acc = keys.load_account(item) if item is not None else None
    if acc is None or acc.kind != "provider":
        return [{"field": f"{f}.provider_id", "message": f"There is no provider {b.provider_id}"}], None
    if acc.status == "closed":
        return [{"field": f"{f}.provider_id", "message": f"Provider {b.provider_id} is closed"}], None
    prov = keys.get_live(p, b.provider_id)
    if prov is None or not prov.doc.config.services:
        message = f"Provider {b.provider_id} has not configured its services yet"
        return [{"field": f"{f}.provider_id", "message": message}], None
    return [], prov


def _binding_errors(p: Ports, bindings: Sequence[Binding]) -> FieldErrors:
    errs: FieldErrors = []
    seen: dict[str, int] = {}
    for i, b in enumerate(bindings):
        f = f"bindings.{i}"
        if b.provider_id in seen:
            errs.append({"field": f"{f}.provider_id", "message": f"Duplicate of bindings.{seen[b.provider_id]}"})
            continue
        seen[b.provider_id] = i
        found, prov = _live_bound_provider(p, f, b)
        errs.extend(found)
        if prov is None:
            continue
        offered = {s.service_type for s in prov.doc.config.services}
        served = [r.area() for r in prov.doc.config.regions]
        errs.extend(rules.binding_scope_errors(f, b, offered, served))
    return errs


def _contact_url_errors(cfg: ConfigInput) -> FieldErrors:
    """Robot URLs we may never call (loopback, private, metadata ... addresses)."""
    errs: FieldErrors = []
    for i, c in enumerate(cfg.contacts):
        problem = outbound.saved_url_problem(c.webhook_url)
        if problem is not None:
            errs.append({"field": f"contacts.{i}.webhook_url", "message": f"Not an address we may call: {problem}"})
    return errs


def consistency_errors(p: Ports, acc: PartnerAccount, cfg: ConfigInput) -> FieldErrors:
    """Errors a draft may not be saved with: wrong codes, parents, duplicates, foreign files, unsafe URLs."""
    errs = rules.shape_errors(acc, cfg) + _contact_url_errors(cfg)
    if acc.kind != "provider":
        return errs + _binding_errors(p, cfg.bindings)
    for i, d in enumerate(cfg.documents):
        if d.file_key is not None and not own_upload(p, acc.id, d.file_key):
            errs.append(
                {
                    "field": f"documents.{i}.file_key",
                    "message": "Unknown file: use the file_key returned by POST /partner/documents",
                }
            )
    return errs


def problems(p: Ports, acc: PartnerAccount, cfg: ConfigInput) -> FieldErrors:
    """Everything a submission, approval or change request would be refused for."""
    return consistency_errors(p, acc, cfg) + rules.completeness_errors(acc, cfg, _today(p))


def invalid(errs: FieldErrors, prefix: str = "") -> InvalidInput:
    return InvalidInput(
        "The configuration is not complete or not consistent.",
        code="CONFIG_INVALID",
        details=rules.prefixed(errs, prefix),
    )
