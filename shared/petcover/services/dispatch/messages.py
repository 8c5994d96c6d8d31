"""The dispatch queue's message: read and checked, and the facts the pure decision works on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from petcover.domain.dispatch import OrderFacts
from petcover.errors import InvalidInput
from petcover.models.dispatch import DispatchMessage


def parse_message(body: Mapping[str, Any]) -> DispatchMessage:
    try:
        return DispatchMessage.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            "The dispatch message is malformed.",
            code="BAD_DISPATCH_MESSAGE",
            details=[{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]} for e in exc.errors()],
        ) from None


def order_facts(msg: DispatchMessage) -> OrderFacts:
    return OrderFacts(
        order_id=msg.appointment_id,
        service_type=msg.service_type,
        province=msg.province,
        city=msg.city,
        district=msg.district,
        national=msg.national,
    )
