"""Who is signed in, and the partner's own configuration and change requests.

A change request goes through the partner change service (``partners.changes``) exactly as the
partner's signed ``POST /partner/changes`` does: ops review it before it takes effect.
"""

from __future__ import annotations

from petcover.identity import Principal
from petcover.models.partners import ChangeRequest, ConfigInput
from petcover.models.portal import PortalAccount, PortalUser
from petcover.ports import Ports
from petcover.services.partners import changes, overview
from petcover.services.partners.accounts import caller


def me(p: Ports, who: Principal) -> PortalUser:
    acc = caller(p, who)
    user = (who.key_id or "").removeprefix("user:")
    return PortalUser(
        kind="insurer" if acc.kind == "insurer" else "provider", partner_id=acc.id, partner_name=acc.name, user=user
    )


def account(p: Ports, who: Principal) -> PortalAccount:
    return PortalAccount(detail=overview.me(p, who), changes=changes.list_changes(p, who.id))


def request_change(p: Ports, who: Principal, proposed: ConfigInput, reason: str) -> ChangeRequest:
    return changes.request_change(p, who, proposed, reason)
