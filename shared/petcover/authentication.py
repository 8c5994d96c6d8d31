"""Who is calling: partner signatures (channels, providers, insurers) and staff tokens.

The HTTP adapter calls ``partner_principal`` or ``staff_principal`` for every authenticated
request; nothing here knows about the adapter.

Key records and partner status are cached per container for a few seconds: a revoked key
or closed channel is refused within ``CACHE_SECONDS`` everywhere, and each signed call costs
one nonce write, plus a channel's rate-limit counter write once per batch of calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from petcover.config import get_settings
from petcover.errors import Forbidden, StaleWrite, Throttled, Unauthenticated
from petcover.identity import Principal
from petcover.ports import Ports
from petcover.repositories import access as keys

if TYPE_CHECKING:  # signatures load on the first signed call: staff-only handlers never need them
    from petcover import signing

CACHE_SECONDS = 5
_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def _cached(pk: str, sk: str, p: Ports) -> dict[str, Any] | None:
    hit = _cache.get((pk, sk))
    now = time.monotonic()
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]  # type: ignore[no-any-return]
    item = p.store.get(pk, sk, consistent=False)
    _cache[(pk, sk)] = (now, item)
    return item


def channel_item(p: Ports, channel_id: str) -> dict[str, Any] | None:
    """The channel's item as signed calls see it (cached for a few seconds like the rest)."""
    return _cached(*keys.channel(channel_id), p)


def clear_cache() -> None:
    _cache.clear()
    _windows.clear()


def lookup_key(key_id: str, p: Ports) -> signing.KeyRecord | None:
    from petcover import signing

    item = _cached(*keys.partner_key(key_id), p)
    if not item:
        return None
    d = json.loads(item["data"])
    sealed, context = keys.key_secret(item)
    return signing.KeyRecord(
        key_id=key_id,
        secret=p.box().open_secret(sealed, context),
        owner_id=d["owner_id"],
        owner_kind=d["owner_kind"],
        status=item.get("state", "active"),
    )


def remember_nonce(key_id: str, value: str, ttl: int, p: Ports) -> bool:
    pk, sk = keys.nonce(key_id, value)
    try:
        p.store.put({"pk": pk, "sk": sk, "expires_at": int(time.time()) + ttl}, if_absent=True)
        return True
    except StaleWrite:
        return False


def _of_cleared_channel(record: signing.KeyRecord | None, p: Ports) -> bool:
    """A key clearing out revoked: its channel is cleared (a final state)."""
    if record is None or record.status != "revoked" or record.owner_kind != "channel":
        return False
    item = _cached(*keys.channel(record.owner_id), p)
    return item is not None and item.get("state") == "cleared"


def partner_principal(
    headers: Mapping[str, str], method: str, path: str, query: Mapping[str, Any], body: bytes, p: Ports
) -> Principal:
    """The signer. A cleared-out channel's revoked key is still checked against its signature, so
    that its caller (and only its caller) hears ``CHANNEL_CLEARED`` rather than a bare revoked key."""
    from petcover import signing

    s = get_settings()
    cleared: list[str] = []

    def find(key_id: str) -> signing.KeyRecord | None:
        record = lookup_key(key_id, p)
        if record is not None and _of_cleared_channel(record, p):
            cleared.append(record.owner_id)
            return record.model_copy(update={"status": "active"})  # verified, then refused below
        return record

    record = signing.verify(
        headers,
        method,
        path,
        query,
        body,
        lookup_key=find,
        remember_nonce=lambda k, n, ttl: remember_nonce(k, n, ttl, p),
        now=int(p.now().timestamp()),
        window_seconds=s.signature_window_seconds,
    )
    if cleared:
        raise Forbidden(
            "This channel was cleared out: it takes no new business and its keys are revoked.",
            code="CHANNEL_CLEARED",
        )
    kind = record.owner_kind
    if kind == "channel":
        item = _cached(*keys.channel(record.owner_id), p)
        if not item:
            raise Unauthenticated("The key belongs to no channel.", code="UNKNOWN_KEY")
        state = item.get("state")
        if state == "closed":
            raise Forbidden("This channel is closed; its calls are refused.", code="CHANNEL_CLOSED")
        if state == "suspended":
            raise Forbidden("This channel is suspended.", code="CHANNEL_SUSPENDED")
        if state == "cleared":
            raise Forbidden(
                "This channel was cleared out: it takes no new business and its keys are revoked.",
                code="CHANNEL_CLEARED",
            )
        limit = int(json.loads(item["data"]).get("rate_limit", 50))
        enforce_rate(f"channel:{record.owner_id}", limit, p)
    else:
        item = _cached(*keys.partner(record.owner_id), p)
        if not item:
            raise Unauthenticated("The key belongs to no partner.", code="UNKNOWN_KEY")
        if item.get("state") in ("closed", "suspended"):
            raise Forbidden("This partner account is not active.", code="PARTNER_INACTIVE")
    return Principal(kind, record.owner_id, (), record.key_id)  # type: ignore[arg-type]


@dataclass
class _Window:
    """One owner's second as this container sees it: calls admitted but not yet counted in the table."""

    second: int
    pending: int = 0
    full: bool = False  # the table refused a batch: the rest of this second is refused here too


_windows: dict[str, _Window] = {}
_windows_lock = threading.Lock()


def enforce_rate(owner: str, per_second: int, p: Ports) -> None:
    """Fixed one-second window, counted in the table in batches of a tenth of the limit.

    Each container admits up to ``batch - 1`` calls of a second on its own and then adds the batch
    to the shared counter in one conditional ADD, refusing the call if that would pass the limit. A
    limit of 50 costs one round trip per 5 calls instead of one per call; a container can admit at
    most ``batch - 1`` calls over the limit in a second (limits under 20 are counted exactly).
    """
    refused = Throttled(f"Rate limit of {per_second} requests per second exceeded.", retry_after=1, code="RATE_LIMITED")
    second = int(p.now().timestamp())
    batch = max(1, per_second // 10)
    with _windows_lock:
        window = _windows.get(owner)
        if window is None or window.second != second:
            window = _windows[owner] = _Window(second)
        if window.full:
            raise refused
        window.pending += 1
        if window.pending < batch:
            return
        count, window.pending = window.pending, 0
    pk, sk = keys.rate(owner, second)
    try:
        p.store.update(
            pk, sk, add={"n": count}, set={"expires_at": second + 60}, expect=[("n", "<=?", per_second - count)]
        )
    except StaleWrite:
        window.full = True
        raise refused from None


def staff_principal(authorization: str | None, authorizer: Mapping[str, Any], p: Ports) -> Principal:
    """Ops staff: a bearer token minted by the CLI, or claims from an API Gateway authorizer."""
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if claims and claims.get("sub"):
        roles = tuple(r for r in str(claims.get("custom:roles", "")).split(",") if r)
        return Principal("ops", str(claims["sub"]), roles)
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("A bearer token is required for ops calls.", code="TOKEN_MISSING")
    token = authorization.split(" ", 1)[1].strip()
    secret = get_settings().ops_token_secret.get_secret_value()
    # Imported here: only ops routes verify tokens, and PyJWT (with cryptography, where installed)
    # would otherwise weigh on every partner and public route's cold start.
    from petcover import tokens

    c = tokens.verify(secret, token, now=int(p.now().timestamp()))
    return Principal("ops", c.sub, tuple(c.roles))


def portal_principal(authorization: str | None, p: Ports) -> Principal:
    """Provider or insurer staff in the portal: a Cognito ID token (AWS) or a local demo token.

    The principal is the partner the user's group names (``provider:P1`` -> provider P1), so the
    services' own ownership rules apply unchanged; ``key_id`` keeps the user (``user:<sub>``)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("A bearer token is required for portal calls.", code="TOKEN_MISSING")
    s = get_settings()
    # Imported here: only the portal verifies ID tokens.
    from petcover import cognito

    pool = (
        cognito.Pool(s.region, s.portal_user_pool_id, s.portal_client_id)
        if s.portal_user_pool_id and s.portal_client_id
        else None
    )
    c = cognito.verify(
        authorization.split(" ", 1)[1].strip(),
        now=int(p.now().timestamp()),
        pool=pool,
        local_secret=s.ops_token.get_secret_value(),
    )
    item = _cached(*keys.partner(c.partner_id), p)
    if not item or json.loads(item["data"]).get("kind") != c.kind:
        raise Forbidden(f"There is no {c.kind} {c.partner_id} for this user.", code="PORTAL_SCOPE_MISSING")
    if item.get("state") in ("closed", "suspended"):
        raise Forbidden("This partner account is not active.", code="PARTNER_INACTIVE")
    return Principal(c.kind, c.partner_id, (), f"user:{c.sub}")
