"""API shapes of the catalogue: products, channels, contracts, keys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, ConfigDict, Field, StringConstraints

from petcover.domain.catalog import ProductSpec, ProductVersion
from petcover.domain.money import DecimalRules
from petcover.identity import PERMISSIONS, Permission
from petcover.models.base import Model
from petcover.models.common import Reason
from petcover.models.webhooks import EndpointStatus

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
ALL_PERMISSIONS = PERMISSIONS


class _In(Model):
    model_config = ConfigDict(extra="forbid")


class ProductHead(Model):
    code: str
    name: str
    kind: str
    status: Literal["draft", "published", "delisted"]
    latest_version: int
    published_version: int | None = None


class ProductOut(Model):
    head: ProductHead
    version: ProductVersion


class ProductList(Model):
    items: list[ProductHead]


class PublishRequest(_In):
    version: int | None = Field(None, ge=1, description="Version to publish; the latest by default.")


CALLBACK_URL = (
    "Where we POST signed webhooks: https, and its host must resolve to public addresses only "
    "(no loopback, private, link-local, shared, multicast, reserved or metadata address; 400 UNSAFE_URL)."
)


class ChannelCreate(_In):
    id: Slug
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    callback_url: AnyHttpUrl = Field(description=CALLBACK_URL)
    rate_limit: int = Field(50, ge=1, le=10_000, description="Requests per second.")


class ChannelUpdate(_In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    callback_url: AnyHttpUrl | None = Field(None, description=CALLBACK_URL)
    rate_limit: int | None = Field(None, ge=1, le=10_000)


class Channel(Model):
    id: str
    name: str
    callback_url: str
    rate_limit: int
    status: Literal["active", "suspended", "frozen", "closed", "cleared"]
    created_at: datetime
    closed_at: datetime | None = None
    cleared_at: datetime | None = None
    webhook: EndpointStatus | None = Field(
        None, description="The webhook endpoint's state (active or paused); given when one channel is read."
    )


class ChannelList(Model):
    items: list[Channel]


SECRET_SHOWN_ONCE = (
    "The webhook secret is shown in this answer only: store it now. A retry with the same Idempotency-Key "
    "answers null; POST /ops/channels/{channelId}/webhook/secret/rotate issues a new one."
)


class ChannelCreated(Channel):
    webhook_secret: str | None = Field(
        description="Signs every webhook we send to this channel (X-Pc-Signature, see docs/webhooks.md). Shown once."
    )
    note: str = SECRET_SHOWN_ONCE


class WebhookSecretRotate(_In):
    overlap_hours: int = Field(
        24,
        ge=0,
        le=168,
        description="How long the current secret keeps signing beside the new one (0: it stops now).",
    )
    reason: Reason | None = None


class WebhookSecretRotated(Model):
    channel_id: str
    webhook_secret: str = Field(description="The new secret; shown in this answer only.")
    previous_signs_until: datetime | None = Field(
        description="Until then each webhook carries two signatures, by the new and the previous secret."
    )
    note: str = "The new secret is shown in this answer only: store it now."


class ContractTerms(_In):
    premium_multiplier: Annotated[Decimal, DecimalRules(4, low="ge0", high=10)] = Decimal("1")
    commission_pct: Annotated[Decimal, DecimalRules(2, low="ge0", high=100)] = Decimal("0")
    permissions: list[Permission] = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None


class ContractCreate(ContractTerms):
    product_code: Slug


class Contract(Model):
    channel_id: str
    product_code: str
    version: int
    premium_multiplier: Decimal
    commission_pct: Decimal
    permissions: list[str]
    effective_from: date
    effective_to: date | None = None
    status: Literal["active", "terminated"]
    created_at: datetime
    terminated_at: datetime | None = None


class ContractList(Model):
    items: list[Contract]


class KeyList(Model):
    items: list[dict[str, str]]


class SignatureCheckRequest(_In):
    """Describe the request you signed; we answer with the canonical string we computed."""

    method: Annotated[str, StringConstraints(min_length=3, max_length=7)]
    path: Annotated[str, StringConstraints(pattern=r"^/", max_length=2048)]
    query: dict[str, str | list[str]] | None = None
    body: str = ""
    headers: dict[str, str]
    canonical: str | None = Field(None, description="Your canonical string, to find which part differs.")


class SignatureCheckResult(Model):
    canonical_string: str
    canonical_sha256: str
    key_id: str | None = None
    key_status: str
    signature_matches: bool
    timestamp_in_window: bool
    server_time: int
    problems: list[str]
    differing_components: list[str] | None = None


__all__ = ["ProductSpec"]


class ProductQuery(Model):
    version: int | None = Field(None, ge=1)


class ContractRate(Model):
    """One version of a contract's terms: what the channel paid and earned from when."""

    version: int
    premium_multiplier: Decimal
    commission_pct: Decimal
    effective_from: date
    effective_to: date | None = None
    created_at: datetime


class ContractRateHistory(Model):
    channel_id: str
    product_code: str
    status: Literal["active", "terminated"]
    rates: list[ContractRate]


class ChannelClearedOut(Model):
    """A channel cleared out: its keys revoked, no new business; its open policies, as stored."""

    channel: Channel
    reason: str
    revoked_keys: list[str]
    open_policies: list[str] = Field(description="Active (or awaiting their insurer) when it was cleared out.")
