"""Idempotent operations: Powertools idempotency on the idempotency table.

A request is keyed by caller + operation id + Idempotency-Key and validated on the body's hash:
the same key with another body is a conflict, a replay returns the first response. The operation
id is the handler's dotted name (``policies.underwrite.handler``), unique per operation; metric
names are not (several reads count as ``PolicyRead``), so they never key a record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from petcover import runtime
from petcover.config import get_settings
from petcover.errors import Conflict, DomainError, Unavailable
from petcover.ports import Ports, Put
from petcover.repositories import once as once_records

Response = dict[str, Any]

# Answer fields shown once (a secret): the stored copy a replay returns has them as null.
SHOWN_ONCE = ("secret", "webhook_secret")


def _without_secrets(response: Response) -> Response:
    body = response.get("body")
    if isinstance(body, dict) and any(f in body for f in SHOWN_ONCE):
        body = {k: (None if k in SHOWN_ONCE else v) for k, v in body.items()}
    return {**response, "body": body}


_persistence_layer: Any = None


def run_once(
    *, scope: str, operation: str, key: str, body: bytes, context: Any, execute: Callable[[], Response]
) -> Response:
    """``execute()`` once per (scope, operation id, key); a replay carries ``replayed: True``."""
    # Imported here, not at the top: the utility costs every API function ~35 ms of cold
    # start, and only the operations that create or move money use it.
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer

    def mark_replayed(response: Any, _record: Any) -> Any:
        return {**response, "replayed": True}

    cfg = IdempotencyConfig(
        event_key_jmespath="[scope, operation, key]",
        payload_validation_jmespath="body_sha",
        expires_after_seconds=24 * 3600,
        response_hook=mark_replayed,  # type: ignore[arg-type]
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        cfg.register_lambda_context(context)
    data = {"scope": scope, "operation": operation, "key": key, "body_sha": hashlib.sha256(body).hexdigest()}

    keep = CustomDictSerializer(to_dict=_without_secrets, from_dict=lambda stored: stored)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=_persistence(), config=cfg, output_serializer=keep
    )
    def once(request: dict[str, Any]) -> Response:
        return execute()

    try:
        return once(request=data)  # type: ignore[no-any-return]
    except IdempotencyValidationError:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="IDEMPOTENCY_KEY_REUSED",
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "The first request with this Idempotency-Key is still in progress.",
            code="REQUEST_IN_PROGRESS",
            retry_after=1,
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        if isinstance(cause, DomainError):
            raise cause from None
        raise Unavailable("The idempotency store is unavailable; retry shortly.") from exc


class InTransaction:
    """The idempotency record of one request, for the operation to put in its own transaction.

    For operations declared ``idempotent="in_transaction"``: their answer is known before they
    commit, so the record goes in with the change (no INPROGRESS put, no COMPLETED update). A
    repeat's transaction is refused by the record; the adapter then answers with the first answer
    (``replay``). Two identical requests at once: one commits, the other replays it.
    """

    def __init__(self, *, scope: str, operation: str, key: str, body: bytes, status: int) -> None:
        self.at = once_records.key(scope, operation, key)
        self.body_sha = hashlib.sha256(body).hexdigest()
        self.status = status
        self.recorded = False

    def record(self, p: Ports, answer: BaseModel) -> Put:
        """The write op for the operation's transaction, holding the answer it will give."""
        self.recorded = True
        response = {"status": self.status, "body": answer.model_dump(mode="json")}
        return once_records.record(self.at, self.body_sha, response, p.now())

    def replay(self, p: Ports) -> Response | None:
        """The first answer to this key (``replayed``), or None when there was none."""
        found = once_records.find(p.store, self.at, p.now())
        if found is None:
            return None
        body_sha, response = found
        if body_sha != self.body_sha:
            raise Conflict(
                "This Idempotency-Key was already used with a different request body.",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        return {**response, "replayed": True}


def _persistence() -> Any:
    """One persistence layer per container, rebuilt when the table name changes (tests)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # see run_once

    global _persistence_layer
    s = get_settings()
    if _persistence_layer is None or _persistence_layer.table_name != s.idempotency_table:
        _persistence_layer = DynamoDBPersistenceLayer(
            table_name=s.idempotency_table, boto3_client=runtime.boto_client("dynamodb")
        )
    return _persistence_layer
