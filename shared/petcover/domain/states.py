"""State machines: one transition table per aggregate.

Services ask ``MACHINE.next_state(current, action)`` before a conditional write (the write is
still conditional on the expected state and version; the table only decides what is legal).
An illegal move raises ``IllegalTransition`` (409) with a sentence a person understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from petcover.errors import IllegalTransition

ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"

# Message templates may use {label}, {state}, {action} and {allowed}.
_FINAL_TEMPLATE = "{label} already {state}, cannot {action}."
_GENERIC_TEMPLATE = "{label} is {state}; '{action}' is not allowed now (allowed: {allowed})."


@dataclass(frozen=True)
class StateMachine:
    """A transition table: (from_state, action) -> to_state.

    ``messages`` overrides the refusal sentence for common cases; the key is
    (state, action) or (state, "*") for any action from that state.
    """

    name: str
    label: str
    initial: str
    transitions: Mapping[tuple[str, str], str]
    final: frozenset[str] = frozenset()
    messages: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Catch table typos at import time rather than in production.
        for state in self.final:
            if state not in self.states:
                raise ValueError(f"{self.name}: final state {state!r} is not in the table")
            if any(src == state for src, _ in self.transitions):
                raise ValueError(f"{self.name}: final state {state!r} has outgoing transitions")
        if self.initial not in self.states:
            raise ValueError(f"{self.name}: initial state {self.initial!r} is not in the table")

    @property
    def states(self) -> frozenset[str]:
        found = {self.initial, *self.final}
        for (src, _), dst in self.transitions.items():
            found.update((src, dst))
        return frozenset(found)

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(action for _, action in self.transitions)

    def allowed_actions(self, current: str) -> list[str]:
        """Actions legal from ``current``, sorted; empty for final or unknown states."""
        return sorted(action for src, action in self.transitions if src == current)

    def can(self, current: str, action: str) -> bool:
        return (current, action) in self.transitions

    def next_state(self, current: str, action: str) -> str:
        """The state after ``action``, or ``IllegalTransition`` when it is not allowed now."""
        target = self.transitions.get((current, action))
        if target is not None:
            return target
        allowed = self.allowed_actions(current)
        raise IllegalTransition(
            self._refusal(current, action, allowed),
            code=ILLEGAL_TRANSITION,
            details={"machine": self.name, "from": current, "action": action, "allowed": allowed},
        )

    def _refusal(self, current: str, action: str, allowed: list[str]) -> str:
        if current not in self.states:
            # Stored data with an unknown state: still a refusal, but say what is wrong.
            return f"{self.label} has unknown state '{current}'; '{action}' is not allowed."
        template = self.messages.get((current, action)) or self.messages.get((current, "*"))
        if template is None:
            template = _FINAL_TEMPLATE if current in self.final else _GENERIC_TEMPLATE
        return template.format(
            label=self.label,
            state=current,
            action=action,
            allowed=", ".join(allowed) or "none",
        )

    def is_final(self, state: str) -> bool:
        return state in self.final


PRODUCT = StateMachine(
    name="product",
    label="Product",
    initial="draft",
    transitions={
        ("draft", "publish"): "published",
        ("draft", "modify"): "draft",
        # Modifying a published version never edits it: the service creates a new *draft*
        # version and the published one stays as it is (policies sold on it keep their terms).
        # So the machine allows modify here and the state of this version does not change.
        ("published", "modify"): "published",
        ("published", "delist"): "delisted",
    },
    final=frozenset({"delisted"}),
    messages={
        ("delisted", "modify"): "Product already delisted, cannot modify; create a new product instead.",
        ("published", "publish"): "Product already published.",
    },
)

CONTRACT = StateMachine(
    name="contract",
    label="Contract",
    initial="active",
    transitions={
        ("active", "modify"): "active",
        ("active", "terminate"): "terminated",
    },
    final=frozenset({"terminated"}),
)

CHANNEL = StateMachine(
    name="channel",
    label="Channel",
    initial="active",
    transitions={
        ("active", "suspend"): "suspended",
        ("suspended", "resume"): "active",
        ("active", "close"): "closed",
        ("suspended", "close"): "closed",
        # Frozen: no new policies; everything already sold is still serviced.
        ("active", "freeze"): "frozen",
        ("frozen", "unfreeze"): "active",
        ("frozen", "close"): "closed",
        # Cleared out: keys revoked, no new business, its open policies listed and kept.
        ("active", "clear_out"): "cleared",
        ("frozen", "clear_out"): "cleared",
        ("suspended", "clear_out"): "cleared",
    },
    final=frozenset({"closed", "cleared"}),
    messages={
        ("cleared", "clear_out"): "Channel already cleared out.",
        ("frozen", "freeze"): "Channel already frozen.",
        ("active", "unfreeze"): "Channel is not frozen, nothing to unfreeze.",
        ("active", "resume"): "Channel is not suspended, nothing to resume.",
        ("suspended", "suspend"): "Channel already suspended.",
    },
)

POLICY = StateMachine(
    name="policy",
    label="Policy",
    initial="active",
    transitions={
        ("active", "endorse"): "active",
        ("active", "renew"): "active",
        ("active", "cancel"): "cancelled",
        ("active", "expire"): "expired",
        ("active", "claim_payout"): "active",
    },
    final=frozenset({"cancelled", "expired"}),
)

# A policy underwritten by an insurer before it is active: the insurer's answer may be unknown
# (a timeout), so it waits in pending_insurer until that insurer (or the next one) settles it.
POLICY_ISSUE = StateMachine(
    name="policy_issue",
    label="Policy",
    initial="pending_insurer",
    transitions={
        ("pending_insurer", "insurer_issued"): "active",
        ("pending_insurer", "insurer_failover"): "pending_insurer",
        ("pending_insurer", "insurer_failed"): "failed",
    },
    final=frozenset({"active", "failed"}),
    messages={
        ("active", "*"): "Policy already issued, cannot {action}.",
        ("failed", "*"): "No insurer issued this policy, cannot {action}.",
    },
)

CLAIM = StateMachine(
    name="claim",
    label="Claim",
    initial="submitted",
    transitions={
        ("submitted", "assess"): "assessing",
        ("submitted", "update"): "assessing",
        ("assessing", "update"): "assessing",
        ("assessing", "approve"): "approved",
        ("assessing", "reject"): "rejected",
        ("approved", "pay"): "paid",
    },
    final=frozenset({"rejected", "paid"}),
    messages={
        ("approved", "reject"): "Claim already approved, cannot reject.",
        ("approved", "update"): "Claim already approved, cannot update.",
        ("submitted", "approve"): "Claim has not been assessed yet, cannot approve.",
        ("submitted", "reject"): "Claim has not been assessed yet, cannot reject.",
        ("submitted", "pay"): "Claim is not approved, cannot pay.",
        ("assessing", "pay"): "Claim is not approved, cannot pay.",
    },
)

# Fulfilment of one service benefit (the work order behind an appointment or a delivery).
APPOINTMENT = StateMachine(
    name="appointment",
    label="Appointment",
    initial="pending",
    transitions={
        ("pending", "dispatch"): "booking",
        ("booking", "book"): "booked",  # a provider accepted
        # No provider could take it: it goes to the ops queue and stays in booking.
        ("booking", "manual"): "booking",
        ("booked", "start"): "fulfilling",  # checked in at the clinic, or shipped
        ("fulfilling", "complete"): "fulfilled",
        ("pending", "cancel"): "cancelled",
        ("booking", "cancel"): "cancelled",
        ("booked", "cancel"): "cancelled",
        # The provider turns the order down before accepting it: dispatched again without it.
        ("booking", "decline"): "pending",
        # Ops move an accepted order away from a provider that is no longer active.
        ("booked", "reassign"): "booking",
    },
    final=frozenset({"fulfilled", "cancelled"}),
    messages={
        ("fulfilled", "*"): "Service already fulfilled, cannot {action}.",
        ("fulfilling", "cancel"): "Service is under way, cannot cancel.",
        ("cancelled", "*"): "Appointment already cancelled, cannot {action}.",
    },
)

# Provider / insurer onboarding. A change to an active config is its own CHANGE_REQUEST;
# the config stays active while the request is reviewed.
PARTNER_CONFIG = StateMachine(
    name="partner_config",
    label="Partner configuration",
    initial="draft",
    transitions={
        ("draft", "submit"): "submitted",
        ("submitted", "approve"): "active",
        ("submitted", "reject"): "rejected",
        ("rejected", "submit"): "submitted",
        ("active", "request_change"): "active",
    },
    messages={
        ("submitted", "submit"): "Partner configuration already submitted and awaiting review.",
        ("active", "submit"): "Partner configuration is already active; request a change instead.",
    },
)

CHANGE_REQUEST = StateMachine(
    name="change_request",
    label="Change request",
    initial="pending",
    transitions={
        ("pending", "approve"): "approved",
        ("pending", "reject"): "rejected",
    },
    final=frozenset({"approved", "rejected"}),
)

# A provider or insurer account: ops suspend it (no new orders), resume it, or close it for good.
PARTNER_ACCOUNT = StateMachine(
    name="partner_account",
    label="Partner account",
    initial="active",
    transitions={
        ("active", "suspend"): "suspended",
        ("suspended", "resume"): "active",
        ("active", "close"): "closed",
        ("suspended", "close"): "closed",
    },
    final=frozenset({"closed"}),
    messages={
        ("active", "resume"): "Partner account is not suspended, nothing to resume.",
        ("suspended", "suspend"): "Partner account already suspended.",
    },
)

WEBHOOK_ENDPOINT = StateMachine(
    name="webhook_endpoint",
    label="Webhook endpoint",
    initial="active",
    transitions={
        ("active", "pause"): "paused",
        ("paused", "resume"): "active",
    },
    messages={
        ("paused", "pause"): "Webhook endpoint already paused.",
        ("active", "resume"): "Webhook endpoint is not paused, nothing to resume.",
    },
)

# Customer-service requests (an e-policy or an invoice asked for by phone): recorded and routed
# at once (e-policy -> underwriting, invoice -> finance); an e-policy is generated (verifiable
# from then on) and then mailed; an invoice is recorded with its number and amount when sent.
SERVICE_REQUEST = StateMachine(
    name="service_request",
    label="Service request",
    initial="open",
    transitions={
        ("open", "generate"): "generated",
        ("generated", "send"): "sent",
        ("open", "record_invoice"): "sent",
    },
    final=frozenset({"sent"}),
)


MACHINES: dict[str, StateMachine] = {
    m.name: m
    for m in (
        PRODUCT,
        CONTRACT,
        CHANNEL,
        POLICY,
        POLICY_ISSUE,
        CLAIM,
        APPOINTMENT,
        PARTNER_CONFIG,
        CHANGE_REQUEST,
        WEBHOOK_ENDPOINT,
        PARTNER_ACCOUNT,
        SERVICE_REQUEST,
    )
}
