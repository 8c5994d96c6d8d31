"""Settings: the only reader of the environment, validated once at cold start.

Every function gets the stage, the main table and the limits (template.yaml Globals). The
resources and secrets in ``GRANTED`` reach only the functions whose code uses them
(``python -m infra.grants`` derives which), so each of them is empty when not given, and code
that needs one it was not given raises ``NotConfigured`` naming the variable instead of
calling AWS with an empty name or falling back to a well-known secret.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from petcover.models.base import Model


class NotConfigured(RuntimeError):
    """This function was not given a setting its code needs (see template.yaml, infra.grants)."""


# The queue names code sends to, and the field holding each queue's URL.
QUEUES: dict[str, str] = {
    "booking": "booking_queue_url",
    "dispatch": "dispatch_queue_url",
    "quota": "quota_queue_url",
    "webhook": "webhook_queue_url",
    "bulk": "bulk_queue_url",
    "alert": "alert_queue_url",
    "claim_decision": "claim_decision_queue_url",
    "booking_dlq": "booking_dlq_url",
    "dispatch_dlq": "dispatch_dlq_url",
    "quota_dlq": "quota_dlq_url",
    "webhook_dlq": "webhook_dlq_url",
    "alert_dlq": "alert_dlq_url",
    "bulk_dlq": "bulk_dlq_url",
    "alarm_forward_dlq": "alarm_forward_dlq_url",
    "claim_decision_dlq": "claim_decision_dlq_url",
}

# Fields template.yaml sets per function, only where the code uses them.
GRANTED: frozenset[str] = frozenset(
    {
        *QUEUES.values(),
        "event_bus",
        "bucket",
        "idempotency_table_name",
        "ops_token",
        "ops_chat_url",
        "ops_chat_secret",
        "secrets_key",
        "mail_from",
        "mail_sink_url",
    }
)


class Settings(Model):
    """Read from the environment by each field's alias, case-insensitively; what is passed in wins.

    (A plain model rather than pydantic-settings: that package loads asyncio, ssl, argparse, dotenv
    and its cloud sources on every cold start, for none of which these flat fields have a use.)
    """

    model_config = ConfigDict(extra="ignore")

    stage: str = Field("local", alias="STAGE")
    region: str = Field("us-east-1", alias="AWS_REGION")
    # Set by the local cloud (and by tests); empty on AWS so the SDK uses real endpoints.
    endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    main_table: str = Field("petcover-main", alias="MAIN_TABLE")
    idempotency_table_name: str = Field("", alias="IDEMPOTENCY_TABLE")
    event_bus: str = Field("", alias="EVENT_BUS")
    bucket: str = Field("", alias="DOCUMENT_BUCKET")

    booking_queue_url: str = Field("", alias="BOOKING_QUEUE_URL")
    dispatch_queue_url: str = Field("", alias="DISPATCH_QUEUE_URL")
    quota_queue_url: str = Field("", alias="QUOTA_QUEUE_URL")
    webhook_queue_url: str = Field("", alias="WEBHOOK_QUEUE_URL")
    webhook_dlq_url: str = Field("", alias="WEBHOOK_DLQ_URL")
    bulk_queue_url: str = Field("", alias="BULK_QUEUE_URL")
    alert_queue_url: str = Field("", alias="ALERT_QUEUE_URL")
    claim_decision_queue_url: str = Field("", alias="CLAIM_DECISION_QUEUE_URL")
    booking_dlq_url: str = Field("", alias="BOOKING_DLQ_URL")
    dispatch_dlq_url: str = Field("", alias="DISPATCH_DLQ_URL")
    quota_dlq_url: str = Field("", alias="QUOTA_DLQ_URL")
    alert_dlq_url: str = Field("", alias="ALERT_DLQ_URL")
    bulk_dlq_url: str = Field("", alias="BULK_DLQ_URL")
    alarm_forward_dlq_url: str = Field("", alias="ALARM_FORWARD_DLQ_URL")
    claim_decision_dlq_url: str = Field("", alias="CLAIM_DECISION_DLQ_URL")

    # HMAC secret for ops bearer tokens minted by the CLI (on AWS: a Cognito/IAM authorizer).
    ops_token: SecretStr = Field(SecretStr(""), alias="OPS_TOKEN_SECRET")
    # The provider portal's sign-in on AWS (the staff user pool and the console's app client); empty
    # locally, where portal demo tokens are signed with the ops token secret (petcover.cognito).
    portal_user_pool_id: str = Field("", alias="PORTAL_USER_POOL_ID")
    portal_client_id: str = Field("", alias="PORTAL_CLIENT_ID")
    # Where platform-level chat alerts go (ops group); providers have their own targets.
    ops_chat_url: str = Field("", alias="OPS_CHAT_URL")
    # The DingTalk robot secret of that group ("加签"): messages to it are signed when it is set.
    ops_chat_secret: SecretStr = Field(SecretStr(""), alias="OPS_CHAT_SECRET")
    # The KMS key that encrypts the secrets kept in the main table (signing keys, webhook and chat secrets).
    secrets_key: str = Field("", alias="SECRETS_KEY_ID")
    # Outbound calls (webhooks, chat) may reach loopback on the local stage only (its sink). Unset: the
    # local stage allows it and every other refuses it; setting it true on another stage is refused.
    outbound_allow_loopback: bool | None = Field(None, alias="OUTBOUND_ALLOW_LOOPBACK")

    signature_window_seconds: int = Field(300, alias="SIGNATURE_WINDOW_SECONDS")
    max_body_bytes: int = Field(256 * 1024, alias="MAX_BODY_BYTES")
    lock_lease_seconds: int = Field(10, alias="LOCK_LEASE_SECONDS")
    auto_receipt_days: int = Field(7, alias="AUTO_RECEIPT_DAYS")
    webhook_max_age_hours: int = Field(24, alias="WEBHOOK_MAX_AGE_HOURS")
    # The business calendar's zone (petcover.domain.calendar): "today", term boundaries, report days.
    timezone: str = Field("Asia/Shanghai", alias="BUSINESS_TIMEZONE")
    # Available units below which a provider's stock of a SKU alerts its chat group (per row overridable).
    low_stock_threshold: int = Field(5, ge=0, alias="LOW_STOCK_THRESHOLD")
    # What people read from the platform (chat alerts, summaries, report titles and columns,
    # the e-policy): Simplified Chinese by default, English as the other setting.
    language: Literal["zh-CN", "en"] = Field("zh-CN", alias="PLATFORM_LANGUAGE")
    # The staff console's address: chat messages link to a work order's page under it.
    console_base_url: str = Field("", alias="CONSOLE_BASE_URL")
    insurer_name: str = Field("宠物保险示范保险股份有限公司 (Petcover Demo Insurance Co., Ltd.)", alias="INSURER_NAME")
    # Mail (e-policies): sent with SES from this address; locally to the sink at MAIL_SINK_URL.
    mail_from: str = Field("", alias="MAIL_FROM")
    mail_sink_url: str = Field("", alias="MAIL_SINK_URL")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        env = {name.upper(): value for name, value in os.environ.items()}
        found = {f.alias: env[f.alias] for f in cls.model_fields.values() if f.alias and f.alias in env}
        return {**found, **data}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"must be an IANA time zone such as Asia/Shanghai, not {value!r}") from None
        return value

    @model_validator(mode="after")
    def _loopback_only_locally(self) -> Settings:
        if self.outbound_allow_loopback and self.stage != "local":
            raise ValueError(f"OUTBOUND_ALLOW_LOOPBACK is for the local stage only, not {self.stage}")
        return self

    @property
    def allows_loopback(self) -> bool:
        """Whether outbound calls may go to loopback (the local cloud's sink)."""
        if self.outbound_allow_loopback is not None:
            return self.outbound_allow_loopback
        return self.stage == "local"

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable a field is read from."""
        return str(cls.model_fields[field].alias)

    def require(self, field: str) -> str:
        value = getattr(self, field)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not text:
            raise NotConfigured(
                f"{self.variable(field)} is not set for this function: template.yaml gives it only to the "
                "functions whose code uses it (python -m infra.grants)"
            )
        return str(text)

    @property
    def idempotency_table(self) -> str:
        return self.require("idempotency_table_name")

    @property
    def ops_token_secret(self) -> SecretStr:
        return SecretStr(self.require("ops_token"))

    def queue_url(self, queue: str) -> str:
        if queue not in QUEUES:
            raise NotConfigured(f"there is no queue named '{queue}'")
        return self.require(QUEUES[queue])

    def queue_urls(self) -> dict[str, str]:
        """The queues this function was given, by name."""
        return {queue: url for queue, field in QUEUES.items() if (url := getattr(self, field))}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]


def reset_settings() -> None:
    """Tests change the environment between cases; production never calls this."""
    get_settings.cache_clear()
