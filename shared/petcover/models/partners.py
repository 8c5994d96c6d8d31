"""Provider and insurer onboarding: accounts, configuration, change requests (API shapes)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, SecretStr, StringConstraints, field_validator, model_validator

from petcover.config import get_settings
from petcover.domain import regions
from petcover.models.base import Model
from petcover.models.fulfilment import OpenOrder

PartnerKind = Literal["provider", "insurer"]
AccountStatus = Literal["active", "suspended", "closed"]
ConfigState = Literal["draft", "submitted", "active", "rejected"]
ChangeState = Literal["pending", "approved", "rejected"]
Permission = Literal[
    "bind_providers",
    "configure_service_rules",
    "configure_service_regions",
    "maintain_service_info",
    "maintain_qualifications",
]
PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    "insurer": ("bind_providers", "configure_service_rules"),
    "provider": ("configure_service_regions", "maintain_service_info", "maintain_qualifications"),
}
# Online: the provider ships (kits, medicine); offline: the pet comes to the provider's store.
ServiceMode = Literal["online_shipping", "offline_store"]
DocumentType = Literal[
    "business_licence",
    "animal_clinic_licence",
    "veterinary_licence",
    "drug_licence",
    "other",
]
ChatKind = Literal["dingtalk", "wecom", "feishu", "slack"]
UPLOAD_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Same shape as a catalogue benefit's service_type, so dispatch can match orders to providers.
ServiceType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
PartnerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Input(Model):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- accounts


class PartnerCreate(_Input):
    kind: PartnerKind
    name: Name
    # Reference of the offline agreement the account is opened under (reviewers check against it).
    agreement_ref: ShortText
    # Omitted: every permission of the kind.
    permissions: list[Permission] | None = None

    @model_validator(mode="after")
    def _permissions_fit_kind(self) -> PartnerCreate:
        """permissions, when given, are ones the partner's kind can hold."""
        if self.permissions is not None:
            allowed = PERMISSIONS[self.kind]
            wrong = [p for p in self.permissions if p not in allowed]
            if wrong:
                raise ValueError(
                    f"permissions {', '.join(wrong)} are not for {self.kind}s (allowed: {', '.join(allowed)})"
                )
            if len(set(self.permissions)) != len(self.permissions):
                raise ValueError("permissions must not repeat")
        return self


class PartnerAccount(Model):
    id: str
    kind: PartnerKind
    name: str
    agreement_ref: str
    permissions: list[Permission]
    status: AccountStatus = "active"
    created_at: str
    created_by: str
    # The last suspension, resumption or closure: why, when and by whom.
    status_reason: str | None = None
    status_changed_at: str | None = None
    status_changed_by: str | None = None


class StatusChange(_Input):
    reason: Text = Field(description="Why (kept in the account and its audit trail).")


class PartnerStatus(Model):
    account: PartnerAccount
    open_orders: list[OpenOrder] = Field(
        description="Orders the provider holds and has not finished, for operations to reassign (empty for insurers)."
    )


# ---------------------------------------------------------------- configuration


class RegionEntry(_Input):
    """A whole province, a whole city of it, or one district of that city."""

    province: RegionCode
    city: RegionCode | None = None
    district: RegionCode | None = None

    @property
    def code(self) -> str:
        return self.district or self.city or self.province

    def area(self) -> regions.Area:
        return regions.Area(self.province, self.city, self.district)


class ServiceOffering(_Input):
    service_type: ServiceType
    mode: ServiceMode


class AlertContact(_Input):
    """Where alerts for this partner go: a group chat robot and the person to mention in it."""

    name: Name
    channel: ChatKind
    webhook_url: Annotated[str, StringConstraints(max_length=500)]
    mention: ShortText  # mobile number or chat user id of the person to @

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, v: str) -> str:
        """webhook_url is an https:// URL with a host."""
        # The address itself is checked when the configuration is saved (petcover.outbound).
        u = urlparse(v)
        local_sink = u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost") and get_settings().allows_loopback
        if not (u.scheme == "https" or local_sink) or not u.netloc:
            raise ValueError("must be an https URL")
        return v


class ChatSecretInput(_Input):
    """The DingTalk robot secret ("加签", starts with SEC) of one of my contacts' robot URL; null removes it."""

    webhook_url: Annotated[str, StringConstraints(max_length=500)]
    secret: Annotated[SecretStr, Field(json_schema_extra={"pattern": r"^SEC[0-9A-Za-z]{8,200}$"})] | None = Field(
        description="Write-only: never shown again. Messages to the robot are then signed (timestamp + sign)."
    )

    @field_validator("secret")
    @classmethod
    def _dingtalk_secret(cls, v: SecretStr | None) -> SecretStr | None:
        """secret, when given, is SEC followed by 8 to 200 letters and digits (as DingTalk shows it)."""
        if v is not None and not re.fullmatch(r"SEC[0-9A-Za-z]{8,200}", v.get_secret_value()):
            raise ValueError("must be the robot's secret as DingTalk shows it: SEC followed by letters and digits")
        return v


class ChatSecretSaved(Model):
    webhook_url: str
    contacts: list[str] = Field(description="The contacts that use this robot.")
    secret_set: bool


class QualificationDocument(_Input):
    type: DocumentType
    number: ShortText
    expires_on: date | None = None  # None: valid without limit (e.g. a long-term business licence)
    file_key: Annotated[str, StringConstraints(max_length=300)] | None = None  # from POST /partner/documents


class Binding(_Input):
    """An insurer buys from this provider; None means everything the provider offers."""

    provider_id: PartnerId
    service_types: list[ServiceType] | None = None
    regions: list[RegionEntry] | None = None


class ConfigInput(_Input):
    """A partner's configuration. Providers use the first five sections, insurers contacts and bindings."""

    services: list[ServiceOffering] = Field(default_factory=list, max_length=50)
    regions: list[RegionEntry] = Field(default_factory=list, max_length=1000)
    daily_capacity: Annotated[int, Field(ge=1, le=100_000)] | None = None
    contacts: list[AlertContact] = Field(default_factory=list, max_length=20)
    documents: list[QualificationDocument] = Field(default_factory=list, max_length=50)
    bindings: list[Binding] = Field(default_factory=list, max_length=500)


class FieldError(Model):
    field: str
    message: str


class FieldChange(Model):
    """One line of a field-by-field diff."""

    field: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class StoredConfig(Model):
    """The live configuration document (item ``PARTNER#id`` / ``CONFIG#LIVE``)."""

    partner_id: str
    kind: PartnerKind
    config: ConfigInput
    updated_at: str
    updated_by: str
    submission_id: str | None = None
    submitted_at: str | None = None
    submitted_by: str | None = None
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    review_reason: str | None = None
    activated_at: str | None = None
    last_change_id: str | None = None


class PartnerConfigView(StoredConfig):
    state: ConfigState
    version: int
    pending_change_id: str | None = None
    # Completeness problems a submit would refuse (empty when ready to submit).
    problems: list[FieldError] = Field(default_factory=list)


class ChangeRequest(Model):
    id: str
    partner_id: str
    partner_name: str
    kind: PartnerKind
    state: ChangeState
    reason: str
    base_version: int
    proposed: ConfigInput
    diff: list[FieldChange]
    requested_at: str
    requested_by: str
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    review_reason: str | None = None
    applied_version: int | None = None


class ChangeRequestCreate(_Input):
    reason: Text
    config: ConfigInput


class ChangeRequestList(Model):
    items: list[ChangeRequest]


class ChangeQuery(_Input):
    state: ChangeState | None = None


class ApproveBody(_Input):
    note: Text | None = None


class RejectBody(_Input):
    reason: Text


class PartnerDetail(Model):
    account: PartnerAccount
    config: PartnerConfigView | None = None
    pending_change: ChangeRequest | None = None


class ReviewItem(Model):
    partner_id: str
    partner_name: str
    kind: PartnerKind
    agreement_ref: str
    submission_id: str | None
    submitted_at: str | None
    version: int
    config: ConfigInput
    problems: list[FieldError]


class ReviewQueue(Model):
    submitted: list[ReviewItem]
    pending_changes: list[ChangeRequest]


class DocumentUploadRequest(_Input):
    type: DocumentType
    file_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]


class DocumentUpload(Model):
    document_id: str
    file_key: str  # put this in the document's ``file_key`` in the configuration
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_in: int


class BindingInput(_Input):
    service_types: list[ServiceType] | None = None
    regions: list[RegionEntry] | None = None
    # Required once the configuration is active: the binding then becomes a change request.
    reason: Text | None = None


class BindingSaved(Model):
    provider_id: str
    applied_to: Literal["draft", "change_request"]
    config_state: ConfigState
    change_request_id: str | None = None


class AuditQuery(_Input):
    partner_id: str | None = None
    partner_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    request_id: str | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100

    @model_validator(mode="after")
    def _exactly_one(self) -> AuditQuery:
        """Exactly one of partner_id, partner_name or request_id is given."""
        given = [n for n in ("partner_id", "partner_name", "request_id") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of partner_id, partner_name or request_id")
        return self


# ---------------------------------------------------------------- for dispatch


class ProviderConfig(Model):
    """An active, reviewed provider's live configuration, as dispatch uses it."""

    model_config = ConfigDict(frozen=True)

    provider_id: str
    name: str
    version: int
    services: list[ServiceOffering]
    regions: list[RegionEntry]
    daily_capacity: int
    contacts: list[AlertContact]
    activated_at: str | None = None

    def offers(self, service_type: str, mode: ServiceMode | None = None) -> bool:
        return any(s.service_type == service_type and (mode is None or s.mode == mode) for s in self.services)

    def covers(self, region_code: str) -> bool:
        """True when the provider serves the whole division ``region_code`` (province, city, district)."""
        return regions.any_covers((r.area() for r in self.regions), region_code)
