"""Builds the ports from settings once per cold start (or takes the ones a test installs)."""

from __future__ import annotations

from typing import Any

from petcover.config import get_settings
from petcover.ports import Ports

_ports: Ports | None = None


def boto_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    s = get_settings()
    cfg = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=s.region, endpoint_url=s.endpoint_url or None, config=cfg
    )


class S3Blobs:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def presign_put(self, key: str, content_type: str, expires_in: int = 900) -> str:
        return str(
            self._s3.generate_presigned_url(
                "put_object",
                Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=expires_in,
            )
        )

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except self._s3.exceptions.NoSuchKey:
            return None


def aws_ports() -> Ports:
    from petcover.messaging import AwsPublisher
    from petcover.storage.dynamo import DynamoStore

    s = get_settings()
    store = DynamoStore.bind(s.main_table, s.region, s.endpoint_url or None)
    queues = {
        "booking": s.booking_queue_url,
        "dispatch": s.dispatch_queue_url,
        "quota": s.quota_queue_url,
        "webhook": s.webhook_queue_url,
        "webhook_dlq": s.webhook_dlq_url,
        "bulk": s.bulk_queue_url,
        "alert": s.alert_queue_url,
        "booking_dlq": s.booking_dlq_url,
        "dispatch_dlq": s.dispatch_dlq_url,
        "quota_dlq": s.quota_dlq_url,
        "alert_dlq": s.alert_dlq_url,
        "bulk_dlq": s.bulk_dlq_url,
    }
    publisher = AwsPublisher(boto_client("sqs"), boto_client("events"), queues, s.event_bus)
    return Ports(store=store, publisher=publisher, blobs=S3Blobs(boto_client("s3"), s.bucket))


def ports() -> Ports:
    global _ports
    if _ports is None:
        _ports = aws_ports()
    return _ports


def install(p: Ports | None) -> None:
    """Tests install fakes (or reset to None to rebuild from settings)."""
    global _ports
    _ports = p
