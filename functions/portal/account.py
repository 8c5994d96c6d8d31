"""/portal/me, /portal/account, /portal/changes: who is signed in, their configuration and changes."""

from petcover.api import Call, api, portal
from petcover.models.partners import ChangeRequest, ChangeRequestCreate
from petcover.models.portal import PortalAccount, PortalUser
from petcover.services.portal import account

TAGS = ("portal",)


@api(
    summary="Who is signed in to the portal, and for which provider or insurer",
    auth=portal("provider", "insurer"),
    response=PortalUser,
    metric="PortalUserRead",
    tags=TAGS,
    route=("GET", "/portal/me"),
)
def me(call: Call) -> PortalUser:
    return account.me(call.ports, call.principal)


@api(
    summary="My account, configuration, pending change and change requests",
    auth=portal("provider", "insurer"),
    response=PortalAccount,
    metric="PortalAccountRead",
    tags=TAGS,
    route=("GET", "/portal/account"),
)
def get_account(call: Call) -> PortalAccount:
    return account.account(call.ports, call.principal)


@api(
    summary="Request a change to my active configuration (ops review it)",
    auth=portal("provider", "insurer"),
    body=ChangeRequestCreate,
    response=ChangeRequest,
    status=201,
    idempotent=True,
    metric="PortalChangeRequested",
    tags=TAGS,
    errors=("CONFIG_NOT_FOUND", "CONFIG_INVALID", "CHANGE_PENDING", "NO_CHANGES", "ILLEGAL_TRANSITION"),
    route=("POST", "/portal/changes"),
)
def request_change(call: Call[ChangeRequestCreate]) -> ChangeRequest:
    return account.request_change(call.ports, call.principal, call.body.config, call.body.reason)
