"""Ports: what domain services need from the outside world, as small protocols.

Domain code receives a ``Ports`` bundle; handlers build it from the AWS adapters, unit tests
from the in-memory fakes in ``petcover.storage.memory`` and ``petcover.messaging``.

Items are plain dicts of top-level attributes (the key ``pk``/``sk``, index keys, ``kind``,
``state``, ``version``, counters) plus ``data``: the entity's own JSON document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from petcover.config import NotConfigured

Item = dict[str, Any]
CondOp = Literal["=", "<>", "<", "<=", ">", ">=", "exists", "not_exists", "<?", "<=?", "=?"]
# (attribute, operator, value); value is ignored for exists / not_exists. An operator ending in
# "?" also holds when the attribute is absent (a counter that was never written counts as fresh).
Cond = tuple[str, CondOp, Any]


@dataclass(frozen=True)
class Page:
    items: list[Item]
    cursor: str | None = None


@dataclass(frozen=True)
class Put:
    item: Item
    if_absent: bool = False
    expect: Sequence[Cond] = ()


@dataclass(frozen=True)
class Update:
    pk: str
    sk: str
    set: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, int | float] = field(default_factory=dict)
    expect: Sequence[Cond] = ()
    must_exist: bool = False


@dataclass(frozen=True)
class Check:
    pk: str
    sk: str
    expect: Sequence[Cond] = ()
    must_exist: bool = True


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    expect: Sequence[Cond] = ()


WriteOp = Put | Update | Check | Delete


class Store(Protocol):
    """Key-value access to the main table. Every failed condition raises ``StaleWrite``."""

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None: ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """Several items in one round trip (strongly consistent); a missing key is absent from the answer."""
        ...

    def put(self, item: Item, *, if_absent: bool = False, expect: Sequence[Cond] = ()) -> None: ...

    def update(
        self,
        pk: str,
        sk: str,
        *,
        set: Mapping[str, Any] | None = None,
        add: Mapping[str, int | float] | None = None,
        expect: Sequence[Cond] = (),
        must_exist: bool = False,
    ) -> Item: ...

    def delete(self, pk: str, sk: str, *, expect: Sequence[Cond] = ()) -> None: ...

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_prefix: str | None = None,
        sk_lte: str | None = None,
        sk_gte: str | None = None,
        limit: int = 100,
        descending: bool = False,
        cursor: str | None = None,
        consistent: bool = False,
    ) -> Page: ...

    def transact(self, ops: Sequence[WriteOp]) -> None: ...


class Publisher(Protocol):
    """Queues and the event bus. Raises when any entry was not accepted."""

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]], *, delay_seconds: int = 0) -> None: ...

    def emit(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None: ...


class SecretBox(Protocol):
    """Encrypts the secrets the table keeps (KMS on AWS and on the local cloud).

    ``context`` names the record a secret belongs to (its purpose and owner): a sealed value
    opens only with the same context, so it cannot be copied onto another record.
    """

    def seal_secret(self, plaintext: str, context: Mapping[str, str]) -> str: ...

    def open_secret(self, sealed: str, context: Mapping[str, str]) -> str: ...


class BlobStore(Protocol):
    def presign_put(self, key: str, content_type: str, expires_in: int = 900) -> str: ...

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None: ...

    def get_bytes(self, key: str) -> bytes | None: ...


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    text: str
    attachment: tuple[str, bytes, str] | None = None  # (file name, content, content type)


class Mailer(Protocol):
    """Sends one mail (SES on AWS, the local sink locally); returns the message id. Raises on failure."""

    def send_mail(self, message: MailMessage) -> str: ...


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ports:
    store: Store
    publisher: Publisher
    clock: Clock = utcnow
    blobs: BlobStore | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    secrets: SecretBox | None = None
    mailer: Mailer | None = None

    def now(self) -> datetime:
        return self.clock()

    def box(self) -> SecretBox:
        """The secret box, or NotConfigured when this function was not given the key."""
        if self.secrets is None:
            raise NotConfigured(
                "SECRETS_KEY_ID is not set for this function: template.yaml gives it only to the "
                "functions whose code uses it (python -m infra.grants)"
            )
        return self.secrets

    def mail(self) -> Mailer:
        """The mailer, or NotConfigured when this function was not given where to send mail."""
        if self.mailer is None:
            raise NotConfigured(
                "MAIL_FROM (SES) or MAIL_SINK_URL (local) is not set for this function (python -m infra.grants)"
            )
        return self.mailer
