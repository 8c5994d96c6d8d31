"""Money events: amounts in cents, the ledger entry of one event, commission and settlement.

Counters and guarded sums are kept in cents (integers) so that ADD never rounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from petcover.domain import calendar, journal
from petcover.domain.journal import Line, TimeBasis
from petcover.models.base import Model

MoneyEvent = Literal[
    "issue",
    "endorse",
    "refund",
    "claim_payout",
    "renew",
    "provider_fee",
    "provider_deduction",
    "channel_receipt",
    "provider_payment",
    "manual_refund",
    "payout_correction",
    "adjustment",
    "reversal",
]
# The time basis each business event is booked by (written on the entry, shown in statements).
TIME_BASIS: dict[str, TimeBasis] = {
    "issue": "issue_time",
    "renew": "issue_time",
    "endorse": "endorsement_time",
    "refund": "cancellation_time",
    "claim_payout": "payment_time",
    "provider_fee": "fulfilment_time",
    "provider_deduction": "approval_time",
    "channel_receipt": "settlement_time",
    "provider_payment": "settlement_time",
    "manual_refund": "approval_time",
    "payout_correction": "approval_time",
    "adjustment": "approval_time",
    "reversal": "approval_time",
}
SETTLEMENT_DAY = 10  # channel premiums are settled by the 10th of the following month


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(value: int | str | Decimal) -> Decimal:
    return Decimal(int(value)) / 100


class LedgerEntry(Model):
    """One journal: immutable once written; ``lines`` always balance."""

    id: str
    at: datetime  # when it was posted
    channel_id: str
    product_code: str
    plan_code: str
    policy_number: str
    event: MoneyEvent
    amount: Decimal  # positive: owed by the channel to the insurer; negative: owed back
    commission: Decimal
    net: Decimal
    status: Literal["receivable", "payable", "settled"]
    settle_by: date
    lines: list[Line] = Field(default_factory=list)
    book: str = ""  # the partition it is kept in: a channel id, provider:{id} or platform
    period: str = ""  # the business month it is booked in
    time_basis: TimeBasis = "issue_time"
    basis_at: datetime | None = None  # the time its time basis names (issue, cancellation, payment...)
    basis_period: str = ""
    adjustment: bool = False  # a late event booked in the next open period
    note: str | None = None
    ref: str | None = None  # the claim, work order, settlement or request it belongs to
    provider_id: str | None = None
    reverses: str | None = None
    reason: str | None = None
    actor: str | None = None


def settle_by(at: datetime) -> date:
    """The settlement day of the business month after the one ``at`` falls in."""
    day = calendar.day_of(at)
    return date(day.year + (day.month == 12), day.month % 12 + 1, SETTLEMENT_DAY)


def settle_by_period(period: str) -> date:
    return date.fromisoformat(f"{journal.next_month(period)}-{SETTLEMENT_DAY:02d}")


def ledger_entry(
    entry_id: str,
    at: datetime,
    *,
    channel_id: str,
    product_code: str,
    plan_code: str,
    policy_number: str,
    event: MoneyEvent,
    amount: Decimal,
    commission_pct: Decimal,
    place: journal.Period | None = None,
    basis_at: datetime | None = None,
    ref: str | None = None,
) -> LedgerEntry:
    """The entry of one channel money event: the channel's commission comes off, the rest is net."""
    commission = (amount * commission_pct / 100).quantize(Decimal("0.01"))
    basis = basis_at or at
    where = place or journal.Period(period=calendar.month_of(basis), basis_period=calendar.month_of(basis))
    return LedgerEntry(
        id=entry_id,
        at=at,
        channel_id=channel_id,
        product_code=product_code,
        plan_code=plan_code,
        policy_number=policy_number,
        event=event,
        amount=amount,
        commission=commission,
        net=amount - commission,
        status="receivable" if amount >= 0 else "payable",
        settle_by=settle_by_period(where.period),
        lines=channel_lines(channel_id, event, amount, commission),
        book=channel_id,
        period=where.period,
        basis_period=where.basis_period,
        adjustment=where.adjustment,
        note=where.note,
        time_basis=TIME_BASIS[event],
        basis_at=basis,
        ref=ref,
    )


def decimal_pattern(places: int, max_digits: int | None, low: str | None, high: int | None) -> str:
    """The string form of a decimal with these limits, as a regular expression (ECMA and Python alike).

    ``low``: "ge0" (no sign) or "gt0" (no sign, not zero); ``high``: 10 or 100 (an upper limit the
    integer part can state), or None."""
    fraction = rf"(?:\.[0-9]{{0,{places}}}0*)?"
    sign = r"\+?" if low else "[+-]?"
    if high is not None:
        integer = rf"(?:{high}(?:\.0*)?|[0-9]{{0,{len(str(high)) - 1}}}{fraction})"
    elif max_digits is not None:
        integer = rf"[0-9]{{0,{max_digits - places}}}{fraction}"
    else:
        integer = "[0-9]*" + fraction
    nonzero = r"(?=.*[1-9])" if low == "gt0" else ""
    return rf"^(?!^[-+.]*$){nonzero}{sign}0*{integer}$"


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


@dataclass(frozen=True)
class DecimalRules:
    """``Annotated[Decimal, DecimalRules(2, max_digits=14, low="ge0")]``: a decimal that JSON may carry
    as a string or a number, with one rule for both and a JSON Schema stating it exactly: at most
    ``places`` decimals, ``max_digits`` digits in all, not negative (``low="ge0"``) or above zero
    (``"gt0"``), at most ``high`` (10 or 100).

    A number within float rounding (a few units in the last place) of a value with at most ``places``
    decimals is read as that value (``0.07000000000000001`` is 0.07), the way JSON Schema's ``multipleOf`` reads it."""

    places: int
    max_digits: int | None = None
    low: Literal["ge0", "gt0"] | None = None
    high: int | None = None

    @property
    def bound(self) -> Decimal | None:
        return Decimal(10) ** (self.max_digits - self.places) if self.max_digits is not None else None

    def parse(self, value: Any) -> Decimal:
        places, low, high, bound = self.places, self.low, self.high, self.bound
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, str):
            if not _DECIMAL_TEXT.fullmatch(value):
                raise ValueError("must be a decimal number written with digits and at most one point")
            if low and value.startswith("-"):
                raise ValueError("must not carry a minus sign")
            number = Decimal(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = Decimal(value)
        elif isinstance(value, float) and value.is_integer():  # finite; round() overflows near 1e308
            number = Decimal(int(value))
        elif isinstance(value, float) and math.isfinite(value):
            rounded = round(value, places)
            if abs(value - rounded) > 8 * math.ulp(value):  # float rounding only, never a real fraction
                raise ValueError(f"must have at most {places} decimal places")
            number = Decimal(repr(rounded))
        else:
            raise ValueError("must be a decimal number or a string holding one")
        if not number.is_finite():
            raise ValueError("must be a finite number")
        if bound is not None and abs(number) >= bound:
            raise ValueError(f"must be less than {bound} ({self.max_digits} digits in all)")
        if high is not None and number > high:
            raise ValueError(f"must be less than or equal to {high}")
        step = Decimal(1).scaleb(-places)
        try:
            exact = number == number.quantize(step, rounding=ROUND_DOWN)
            exponent = number.as_tuple().exponent
            if exact and isinstance(exponent, int) and not -places <= exponent <= 0:
                # "0.0000000" and 1E+2 are stored and answered as "0.00" and "100", never "0E-7".
                number = number.quantize(step if exponent < 0 else Decimal(1))
        except InvalidOperation:  # more digits than any decimal context holds
            raise ValueError("has too many digits") from None
        if not exact:
            raise ValueError(f"must have at most {places} decimal places")
        if low == "gt0" and number <= 0:
            raise ValueError("must be greater than 0")
        if low == "ge0" and number < 0:
            raise ValueError("must be greater than or equal to 0")
        return number

    def json_schema(self) -> dict[str, Any]:
        as_number: dict[str, Any] = {"type": "number", "multipleOf": float(Decimal(1).scaleb(-self.places))}
        if self.bound is not None:
            as_number.update(exclusiveMaximum=float(self.bound), exclusiveMinimum=-float(self.bound))
        if self.low == "ge0":
            as_number.pop("exclusiveMinimum", None)
            as_number["minimum"] = 0
        elif self.low == "gt0":
            as_number["exclusiveMinimum"] = 0
        if self.high is not None:
            as_number.pop("exclusiveMaximum", None)
            as_number["maximum"] = self.high
        pattern = decimal_pattern(self.places, self.max_digits, self.low, self.high)
        return {"anyOf": [as_number, {"type": "string", "pattern": pattern}]}

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v, return_schema=core_schema.decimal_schema()
            ),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        if handler.mode == "validation":
            return self.json_schema()
        return handler(core_schema.decimal_schema())


def channel_lines(channel_id: str, event: MoneyEvent, amount: Decimal, commission: Decimal) -> list[Line]:
    """Issue, renewal and endorsement move premium; a refund is negative; a payout goes to the insured."""
    if event == "refund":
        lines = journal.refund_lines(channel_id, -amount, -commission)
    elif event == "claim_payout":
        lines = journal.payout_lines(-amount)
    else:
        lines = journal.premium_lines(channel_id, amount, commission)
    journal.assert_balanced(lines)
    return lines
