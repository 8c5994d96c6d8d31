"""An insurer binds a provider, or changes what it buys from one: the binding goes into the draft
configuration, or becomes a change request once the configuration is active.
"""

from __future__ import annotations

from pydantic import ValidationError

from petcover.domain import partner_config as rules
from petcover.errors import Forbidden, InvalidInput
from petcover.identity import Principal
from petcover.models.partners import Binding, BindingInput, BindingSaved, ConfigInput, PartnerAccount
from petcover.ports import Ports
from petcover.services.partners.accounts import caller
from petcover.services.partners.changes import propose_change
from petcover.services.partners.config import live, store_draft


def _binding(provider_id: str, body: BindingInput) -> Binding:
    try:
        return Binding(provider_id=provider_id, service_types=body.service_types, regions=body.regions)
    except ValidationError:
        raise InvalidInput(
            "The provider id is malformed.",
            code="VALIDATION_FAILED",
            details=[{"field": "providerId", "message": "1 to 64 of A-Z, a-z, 0-9, '_' or '-'"}],
        ) from None


def _binding_insurer(p: Ports, principal: Principal, body: BindingInput) -> PartnerAccount:
    """The calling insurer, with the permissions this binding needs."""
    acc = caller(p, principal)
    if acc.kind != "insurer":
        raise Forbidden("Only insurers bind providers.", code="WRONG_PARTNER_KIND")
    rules.require_permission(acc, "bind_providers")
    if (body.service_types is not None or body.regions is not None) and (
        "configure_service_rules" not in acc.permissions
    ):
        rules.require_permission(acc, "configure_service_rules")
    return acc


def bind_provider(p: Ports, principal: Principal, provider_id: str, body: BindingInput) -> BindingSaved:
    """An insurer binds (or re-scopes) a provider: edits the draft, or requests a change once active."""
    acc = _binding_insurer(p, principal, body)
    binding = _binding(provider_id, body)
    cur = live(p, acc.id)
    base = cur.doc.config if cur is not None else ConfigInput()
    bindings = [binding if b.provider_id == provider_id else b for b in base.bindings]
    if not any(b.provider_id == provider_id for b in base.bindings):
        bindings.append(binding)
    proposed = base.model_copy(update={"bindings": bindings})
    if cur is None or cur.state in rules.EDITABLE:
        view = store_draft(p, principal, acc, proposed)
        return BindingSaved(provider_id=provider_id, applied_to="draft", config_state=view.state)
    if cur.state != "active":
        raise rules.not_editable(cur.state)
    if not body.reason:
        raise InvalidInput(
            "The configuration is active, so this binding becomes a change request: give a reason.",
            code="REASON_REQUIRED",
            details=[{"field": "reason", "message": "Field required while the configuration is active"}],
        )
    cr = propose_change(p, principal, acc, proposed, body.reason, prefix="")
    return BindingSaved(
        provider_id=provider_id, applied_to="change_request", config_state="active", change_request_id=cr.id
    )
