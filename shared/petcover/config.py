"""Settings: the only reader of the environment, validated once at cold start.

Every name here is set by template.yaml (Globals / function Environment) on AWS and on the
local cloud, and by the test fixtures under moto.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    stage: str = Field("local", alias="STAGE")
    region: str = Field("us-east-1", alias="AWS_REGION")
    # Set by the local cloud (and by tests); empty on AWS so the SDK uses real endpoints.
    endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    main_table: str = Field("petcover-main", alias="MAIN_TABLE")
    idempotency_table: str = Field("petcover-idempotency", alias="IDEMPOTENCY_TABLE")
    event_bus: str = Field("petcover-events", alias="EVENT_BUS")
    bucket: str = Field("petcover-documents", alias="DOCUMENT_BUCKET")

    booking_queue_url: str = Field("", alias="BOOKING_QUEUE_URL")
    dispatch_queue_url: str = Field("", alias="DISPATCH_QUEUE_URL")
    quota_queue_url: str = Field("", alias="QUOTA_QUEUE_URL")
    webhook_queue_url: str = Field("", alias="WEBHOOK_QUEUE_URL")
    webhook_dlq_url: str = Field("", alias="WEBHOOK_DLQ_URL")
    bulk_queue_url: str = Field("", alias="BULK_QUEUE_URL")
    alert_queue_url: str = Field("", alias="ALERT_QUEUE_URL")
    booking_dlq_url: str = Field("", alias="BOOKING_DLQ_URL")
    dispatch_dlq_url: str = Field("", alias="DISPATCH_DLQ_URL")
    quota_dlq_url: str = Field("", alias="QUOTA_DLQ_URL")
    alert_dlq_url: str = Field("", alias="ALERT_DLQ_URL")
    bulk_dlq_url: str = Field("", alias="BULK_DLQ_URL")

    # HMAC secret for ops bearer tokens minted by the CLI (on AWS: a Cognito/IAM authorizer).
    ops_token_secret: SecretStr = Field(SecretStr("local-ops-secret-change-me"), alias="OPS_TOKEN_SECRET")
    # Where platform-level chat alerts go (ops group); providers have their own targets.
    ops_chat_url: str = Field("", alias="OPS_CHAT_URL")

    signature_window_seconds: int = Field(300, alias="SIGNATURE_WINDOW_SECONDS")
    max_body_bytes: int = Field(256 * 1024, alias="MAX_BODY_BYTES")
    lock_lease_seconds: int = Field(10, alias="LOCK_LEASE_SECONDS")
    auto_receipt_days: int = Field(7, alias="AUTO_RECEIPT_DAYS")
    webhook_max_age_hours: int = Field(24, alias="WEBHOOK_MAX_AGE_HOURS")
    timezone: str = Field("Asia/Shanghai", alias="BUSINESS_TIMEZONE")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]


def reset_settings() -> None:
    """Tests change the environment between cases; production never calls this."""
    get_settings.cache_clear()
