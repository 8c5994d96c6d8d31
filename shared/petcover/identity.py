"""Who is calling: the principal, staff roles and contract permissions.

This module knows nothing of HTTP or storage: the adapter authenticates a request into a
``Principal`` (see ``petcover.authentication``) and services receive it as a plain value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PrincipalKind = Literal["anonymous", "channel", "provider", "insurer", "ops"]

# Staff roles; ``admin`` holds every role.
ROLES: tuple[str, ...] = ("underwriter", "sales", "finance", "service", "ops", "admin")

# What a channel's contract may allow it to do with a product.
Permission = Literal["quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book"]
PERMISSIONS: tuple[str, ...] = ("quote", "underwrite", "query", "endorse", "renew", "cancel", "claim", "book")
# Where the product a channel call concerns comes from: the request body's product_code, the
# object the path names, or each item of a batch (``petcover.authorization``).
ProductSource = Literal["body", "policy", "order", "claim", "appointment", "items"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str
    roles: tuple[str, ...] = ()
    key_id: str | None = None
    # The API Gateway request id of the call (audit records carry it); None outside a request.
    request_id: str | None = field(default=None, compare=False)

    @property
    def is_staff(self) -> bool:
        return self.kind == "ops"


ANONYMOUS = Principal("anonymous", "anonymous")


def role_allows(have: tuple[str, ...] | list[str], allowed: tuple[str, ...]) -> bool:
    """True when ``have`` holds any of ``allowed``; admin holds every role."""
    return "admin" in have or any(r in have for r in allowed)
