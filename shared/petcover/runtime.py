"""Builds the ports from settings once per cold start (or takes the ones a test installs)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from petcover.config import get_settings
from petcover.ports import Mailer, Ports

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
    # What each method needs on its key (infra.grants turns it into the function's policy);
    # reading a missing key answers None only when listing is allowed, else S3 says AccessDenied.
    ACTIONS: dict[str, tuple[str, ...]] = {
        "presign_put": ("s3:PutObject",),
        "put_bytes": ("s3:PutObject",),
        "get_bytes": ("s3:GetObject", "s3:ListBucket"),
    }

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


class KmsSecretBox:
    """Secrets sealed with KMS ``Encrypt`` under the stack's key (``SecretsKey``), bound to their
    record by the encryption context; secrets are under 4 KB, so no data key is needed.

    An opened secret is kept for the container's life: a key's secret never changes, and a
    signed call then costs no KMS round trip after the first.
    """

    # What each method needs on the key (infra.grants turns it into the function's policy).
    ACTIONS: dict[str, tuple[str, ...]] = {"seal_secret": ("kms:Encrypt",), "open_secret": ("kms:Decrypt",)}
    PREFIX = "kms:"
    MAX_OPENED = 1000

    def __init__(self, client: Any, key_id: str) -> None:
        self._kms = client
        self._key = key_id
        self._opened: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def seal_secret(self, plaintext: str, context: Mapping[str, str]) -> str:
        out = self._kms.encrypt(KeyId=self._key, Plaintext=plaintext.encode(), EncryptionContext=dict(context))
        return self.PREFIX + base64.b64encode(out["CiphertextBlob"]).decode()

    def open_secret(self, sealed: str, context: Mapping[str, str]) -> str:
        cache_key = (sealed, tuple(sorted(context.items())))
        hit = self._opened.get(cache_key)
        if hit is not None:
            return hit
        if not sealed.startswith(self.PREFIX):
            raise ValueError("this secret was not sealed with KMS")
        blob = base64.b64decode(sealed[len(self.PREFIX) :])
        out = self._kms.decrypt(KeyId=self._key, CiphertextBlob=blob, EncryptionContext=dict(context))
        plaintext = bytes(out["Plaintext"]).decode()
        if len(self._opened) >= self.MAX_OPENED:
            self._opened.clear()
        self._opened[cache_key] = plaintext
        return plaintext


def aws_ports() -> Ports:
    """Adapters for what this function was given: no client for a queue, bus, bucket or key it lacks."""
    from petcover.messaging import AwsPublisher
    from petcover.storage.dynamo import DynamoStore

    s = get_settings()
    store = DynamoStore.bind(s.main_table, s.region, s.endpoint_url or None)
    queues = s.queue_urls()
    publisher = AwsPublisher(
        boto_client("sqs") if queues else None,
        boto_client("events") if s.event_bus else None,
        queues,
        s.event_bus,
    )
    blobs = S3Blobs(boto_client("s3"), s.bucket) if s.bucket else None
    box = KmsSecretBox(boto_client("kms"), s.secrets_key) if s.secrets_key else None
    return Ports(store=store, publisher=publisher, blobs=blobs, secrets=box, mailer=_mailer())


def _mailer() -> Mailer | None:
    from petcover.mail import SesMailer, SinkMailer

    s = get_settings()
    if s.mail_sink_url:
        return SinkMailer(s.mail_sink_url, s.mail_from)
    return SesMailer(boto_client("ses"), s.mail_from) if s.mail_from else None


def ports() -> Ports:
    global _ports
    if _ports is None:
        _ports = aws_ports()
    return _ports


def install(p: Ports | None) -> None:
    """Tests install fakes (or reset to None to rebuild from settings)."""
    global _ports
    _ports = p
