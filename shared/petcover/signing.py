"""Partner request signing (HMAC-SHA256 with a key id) and signing of the webhooks we send.

Request headers: ``X-Pc-Key-Id``, ``X-Pc-Timestamp`` (unix seconds), ``X-Pc-Nonce``
(8..64 chars of ``[A-Za-z0-9_-]``) and ``X-Pc-Signature`` (lowercase hex HMAC-SHA256 of the
canonical string under the key's secret).

Canonical string, six lines joined by ``"\\n"`` (no trailing newline)::

    METHOD              upper case
    /path               as sent, without any API Gateway stage prefix, not re-encoded
    canonical query     RFC 3986-encoded key=value pairs sorted by key then value, joined by "&"
    timestamp           exactly as in X-Pc-Timestamp
    nonce               exactly as in X-Pc-Nonce
    body sha256         lowercase hex of the raw body bytes (sha256 of b"" when empty)

Webhooks we send: ``X-Pc-Event-Id``, ``X-Pc-Timestamp`` and ``X-Pc-Signature`` = ``v1=<hex>`` per
secret, space-separated: lowercase hex HMAC-SHA256 over ``f"{timestamp}\\n{event_id}\\n".encode() +
body``. During a secret rotation the header carries two (the new secret's first), as Stripe and
Standard Webhooks do, so a receiver holding either secret verifies. The event id is signed so a
captured delivery cannot be replayed under a fresh id past the receiver's de-duplication.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from pydantic import ConfigDict, Field

from petcover.errors import Unauthenticated
from petcover.models.base import Model

KEY_ID_HEADER = "X-Pc-Key-Id"
TIMESTAMP_HEADER = "X-Pc-Timestamp"
NONCE_HEADER = "X-Pc-Nonce"
SIGNATURE_HEADER = "X-Pc-Signature"
EVENT_ID_HEADER = "X-Pc-Event-Id"
WEBHOOK_SIGNATURE_VERSION = "v1"

DEFAULT_WINDOW_SECONDS = 300
CANONICAL_COMPONENTS = ("method", "path", "query", "timestamp", "nonce", "body_sha256")

_KEY_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")

Query = Mapping[str, str | list[str]] | str | None


class KeyRecord(Model):
    """One signing key of a partner. Two may be active for the same owner during rotation."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    secret: str = Field(repr=False)  # keep the secret out of logs and reprs
    owner_id: str
    owner_kind: Literal["channel", "provider", "insurer"]
    status: Literal["active", "revoked"] = "active"


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _encode(value: str) -> str:
    # RFC 3986 unreserved characters stay, everything else is %XX of the UTF-8 bytes.
    return quote(value, safe="-_.~")


def canonical_query(query: Query) -> str:
    """Encode and sort query parameters; a raw query string is decoded first (``+`` is a space)."""
    pairs: list[tuple[str, str]] = []
    if query is None:
        return ""
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    else:
        for key, value in query.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, v) for v in value)
    encoded = sorted((_encode(k), _encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_string(method: str, path: str, query: Query, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, canonical_query(query), timestamp, nonce, body_sha256(body)])


def sign(secret: str, canonical: str) -> str:
    if not secret:
        raise ValueError("signing secret must not be empty")
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(18)  # 24 chars of [A-Za-z0-9_-]


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    query: Query,
    body: bytes,
    *,
    now: int,
    nonce: str | None = None,
) -> dict[str, str]:
    nonce = nonce if nonce is not None else new_nonce()
    if not _NONCE_RE.fullmatch(nonce):
        raise ValueError("nonce must be 8 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")
    timestamp = str(now)
    signature = sign(secret, canonical_string(method, path, query, timestamp, nonce, body))
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature,
    }


def _same(a: str, b: str) -> bool:
    # Compare as bytes: compare_digest refuses non-ASCII str, and callers control ``b``.
    return hmac.compare_digest(a.encode(), b.encode())


def get_header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (API Gateway keeps the caller's casing)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


_HEADER_RULES = (
    (KEY_ID_HEADER, _KEY_ID_RE, "1 to 128 printable characters without spaces"),
    (TIMESTAMP_HEADER, _TIMESTAMP_RE, "unix time in whole seconds"),
    (NONCE_HEADER, _NONCE_RE, "8 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"),
    (SIGNATURE_HEADER, _SIGNATURE_RE, "64 lowercase hex characters (HMAC-SHA256)"),
)


def _header_problems(headers: Mapping[str, str] | None) -> list[tuple[str, str]]:
    problems = []
    for name, pattern, expected in _HEADER_RULES:
        value = get_header(headers, name)
        if value is None or value == "":
            problems.append((name, f"Missing {name} header."))
        elif not pattern.fullmatch(value):
            problems.append((name, f"Malformed {name} header: expected {expected}."))
    return problems


def verify(
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: Query,
    body: bytes,
    *,
    lookup_key: Callable[[str], KeyRecord | None],
    remember_nonce: Callable[[str, str, int], bool],
    now: int,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> KeyRecord:
    """Authenticate a signed request and return the key that signed it, or raise Unauthenticated."""
    problems = _header_problems(headers)
    if problems:
        raise Unauthenticated(
            " ".join(message for _, message in problems),
            code="MISSING_SIGNATURE",
            details={"headers": [name for name, _ in problems]},
        )
    key_id = get_header(headers, KEY_ID_HEADER) or ""
    timestamp = get_header(headers, TIMESTAMP_HEADER) or ""
    nonce = get_header(headers, NONCE_HEADER) or ""
    signature = get_header(headers, SIGNATURE_HEADER) or ""

    if abs(now - int(timestamp)) > window_seconds:
        raise Unauthenticated(
            f"Request timestamp is more than {window_seconds} seconds away from server time; check the client clock.",
            code="STALE_TIMESTAMP",
            details={"server_time": now, "timestamp": int(timestamp), "window_seconds": window_seconds},
        )
    record = lookup_key(key_id)
    if record is None or record.key_id != key_id:
        raise Unauthenticated(f"Unknown signing key {key_id!r}.", code="UNKNOWN_KEY")
    if record.status != "active":
        raise Unauthenticated(f"Signing key {key_id!r} has been revoked.", code="REVOKED_KEY")

    expected = sign(record.secret, canonical_string(method, path, query, timestamp, nonce, body))
    if not _same(expected, signature):
        raise Unauthenticated(
            "Signature does not match the request; compare your canonical string with the signature self-check.",
            code="BAD_SIGNATURE",
        )
    # Only after the signature is valid, so nobody can burn another partner's nonces.
    # A timestamp up to one window in the future stays acceptable for two windows.
    if not remember_nonce(key_id, nonce, 2 * window_seconds):
        raise Unauthenticated("This nonce was already used; send a fresh nonce.", code="REPLAYED_NONCE")
    return record


def explain(
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: Query,
    body: bytes,
    *,
    lookup_key: Callable[[str], KeyRecord | None],
    now: int,
    their_canonical: str | None = None,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> dict[str, Any]:
    """Signature self-check: what we computed and where the caller differs.

    Never returns the secret nor the expected signature, and records no nonce.
    """
    key_id = get_header(headers, KEY_ID_HEADER)
    timestamp = get_header(headers, TIMESTAMP_HEADER) or ""
    nonce = get_header(headers, NONCE_HEADER) or ""
    signature = get_header(headers, SIGNATURE_HEADER) or ""
    problems = [message for _, message in _header_problems(headers)]

    canonical = canonical_string(method, path, query, timestamp, nonce, body)
    in_window = _TIMESTAMP_RE.fullmatch(timestamp) is not None and abs(now - int(timestamp)) <= window_seconds
    if timestamp and not in_window:
        problems.append(f"Timestamp is outside the {window_seconds} second window (server time {now}).")

    record = lookup_key(key_id) if key_id else None
    if record is not None and record.key_id != key_id:
        record = None
    key_status = "missing" if not key_id else ("unknown" if record is None else record.status)
    if key_status == "unknown":
        problems.append("Unknown key id.")
    elif key_status == "revoked":
        problems.append("Key is revoked.")
    matches = record is not None and _same(sign(record.secret, canonical), signature)
    if record is not None and not matches:
        problems.append("Signature does not match our canonical string.")

    result: dict[str, Any] = {
        "canonical_string": canonical,
        "canonical_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "key_id": key_id,
        "key_status": key_status,
        "signature_matches": matches,
        "timestamp_in_window": in_window,
        "server_time": now,
        "problems": problems,
    }
    if their_canonical is not None:
        ours = canonical.split("\n")
        theirs = their_canonical.split("\n")
        if len(theirs) != len(ours):
            problems.append(f"Canonical string must have {len(ours)} lines joined by \\n, got {len(theirs)}.")
        if "\r" in their_canonical:
            problems.append("Canonical lines must be joined by \\n only, not \\r\\n.")
        result["differing_components"] = [
            name for i, name in enumerate(CANONICAL_COMPONENTS) if i >= len(theirs) or theirs[i] != ours[i]
        ]
    return result


def webhook_signature(secret: str, timestamp: str, event_id: str, body: bytes) -> str:
    if not secret:
        raise ValueError("webhook secret must not be empty")
    message = f"{timestamp}\n{event_id}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_headers(secrets: Sequence[str], body: bytes, *, event_id: str, now: int) -> dict[str, str]:
    """Headers of one delivery, signed by every secret given (the new one first during a rotation)."""
    if not secrets:
        raise ValueError("a webhook needs at least one secret")
    timestamp = str(now)
    signatures = " ".join(
        f"{WEBHOOK_SIGNATURE_VERSION}={webhook_signature(s, timestamp, event_id, body)}" for s in secrets
    )
    return {EVENT_ID_HEADER: event_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signatures}


def webhook_signatures(header: str) -> list[str]:
    """The signatures of our version in an ``X-Pc-Signature`` header (``v1=<hex>``, space-separated)."""
    prefix = f"{WEBHOOK_SIGNATURE_VERSION}="
    return [part[len(prefix) :].lower() for part in header.split() if part.startswith(prefix)]


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> bool:
    """Receiver side (partners, the local sink, tests): True when one signature is by ``secret`` and fresh."""
    event_id = get_header(headers, EVENT_ID_HEADER)
    timestamp = get_header(headers, TIMESTAMP_HEADER)
    header = get_header(headers, SIGNATURE_HEADER)
    if not event_id or not timestamp or not header or not _TIMESTAMP_RE.fullmatch(timestamp):
        return False
    if abs(now - int(timestamp)) > window_seconds:
        return False
    expected = webhook_signature(secret, timestamp, event_id, body)
    return any(_same(expected, candidate) for candidate in webhook_signatures(header))
