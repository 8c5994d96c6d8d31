from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petcover.domain.states import (
    APPOINTMENT,
    CHANGE_REQUEST,
    CHANNEL,
    CLAIM,
    CONTRACT,
    MACHINES,
    PARTNER_ACCOUNT,
    PARTNER_CONFIG,
    POLICY,
    POLICY_ISSUE,
    PRODUCT,
    SERVICE_REQUEST,
    WEBHOOK_ENDPOINT,
    StateMachine,
)
from petcover.errors import Conflict, IllegalTransition

LEGAL = [
    (PRODUCT, "draft", "publish", "published"),
    (PRODUCT, "draft", "modify", "draft"),
    (PRODUCT, "published", "modify", "published"),
    (PRODUCT, "published", "delist", "delisted"),
    (CONTRACT, "active", "modify", "active"),
    (CONTRACT, "active", "terminate", "terminated"),
    (CHANNEL, "active", "suspend", "suspended"),
    (CHANNEL, "suspended", "resume", "active"),
    (CHANNEL, "active", "close", "closed"),
    (CHANNEL, "suspended", "close", "closed"),
    (POLICY, "active", "endorse", "active"),
    (POLICY, "active", "renew", "active"),
    (POLICY, "active", "cancel", "cancelled"),
    (POLICY, "active", "expire", "expired"),
    (POLICY, "active", "claim_payout", "active"),
    (CLAIM, "submitted", "assess", "assessing"),
    (CLAIM, "submitted", "update", "assessing"),
    (CLAIM, "assessing", "update", "assessing"),
    (CLAIM, "assessing", "approve", "approved"),
    (CLAIM, "assessing", "reject", "rejected"),
    (CLAIM, "approved", "pay", "paid"),
    (APPOINTMENT, "pending", "dispatch", "booking"),
    (APPOINTMENT, "booking", "book", "booked"),
    (APPOINTMENT, "booking", "manual", "booking"),
    (APPOINTMENT, "booked", "start", "fulfilling"),
    (APPOINTMENT, "fulfilling", "complete", "fulfilled"),
    (APPOINTMENT, "pending", "cancel", "cancelled"),
    (APPOINTMENT, "booking", "cancel", "cancelled"),
    (APPOINTMENT, "booked", "cancel", "cancelled"),
    (APPOINTMENT, "booking", "decline", "pending"),
    (APPOINTMENT, "booked", "reassign", "booking"),
    (PARTNER_ACCOUNT, "active", "suspend", "suspended"),
    (PARTNER_ACCOUNT, "suspended", "resume", "active"),
    (PARTNER_ACCOUNT, "active", "close", "closed"),
    (PARTNER_ACCOUNT, "suspended", "close", "closed"),
    (PARTNER_CONFIG, "draft", "submit", "submitted"),
    (PARTNER_CONFIG, "submitted", "approve", "active"),
    (PARTNER_CONFIG, "submitted", "reject", "rejected"),
    (PARTNER_CONFIG, "rejected", "submit", "submitted"),
    (PARTNER_CONFIG, "active", "request_change", "active"),
    (CHANGE_REQUEST, "pending", "approve", "approved"),
    (CHANGE_REQUEST, "pending", "reject", "rejected"),
    (WEBHOOK_ENDPOINT, "active", "pause", "paused"),
    (WEBHOOK_ENDPOINT, "paused", "resume", "active"),
    (SERVICE_REQUEST, "open", "generate", "generated"),
    (SERVICE_REQUEST, "generated", "send", "sent"),
    (SERVICE_REQUEST, "open", "record_invoice", "sent"),
    (CHANNEL, "active", "freeze", "frozen"),
    (CHANNEL, "frozen", "unfreeze", "active"),
    (CHANNEL, "frozen", "close", "closed"),
    (CHANNEL, "active", "clear_out", "cleared"),
    (CHANNEL, "frozen", "clear_out", "cleared"),
    (CHANNEL, "suspended", "clear_out", "cleared"),
    (POLICY_ISSUE, "pending_insurer", "insurer_issued", "active"),
    (POLICY_ISSUE, "pending_insurer", "insurer_failover", "pending_insurer"),
    (POLICY_ISSUE, "pending_insurer", "insurer_failed", "failed"),
]


@pytest.mark.parametrize(("machine", "current", "action", "expected"), LEGAL)
def test_legal_moves(machine: StateMachine, current: str, action: str, expected: str) -> None:
    assert machine.next_state(current, action) == expected
    assert action in machine.allowed_actions(current)


def test_legal_table_covers_every_transition() -> None:
    listed = {(m.name, s, a) for m, s, a, _ in LEGAL}
    defined = {(m.name, s, a) for m in MACHINES.values() for (s, a) in m.transitions}
    assert listed == defined


FINAL = {
    "product": {"delisted"},
    "contract": {"terminated"},
    "channel": {"closed", "cleared"},
    "policy": {"cancelled", "expired"},
    "policy_issue": {"active", "failed"},
    "claim": {"rejected", "paid"},
    "appointment": {"fulfilled", "cancelled"},
    "partner_config": set(),
    "change_request": {"approved", "rejected"},
    "webhook_endpoint": set(),
    "partner_account": {"closed"},
    "service_request": {"sent"},
}


def test_machines_registry_and_final_states() -> None:
    assert set(MACHINES) == set(FINAL)
    for name, machine in MACHINES.items():
        assert machine.final == FINAL[name]
        for state in machine.final:
            assert machine.allowed_actions(state) == []
            for action in machine.actions:
                with pytest.raises(IllegalTransition):
                    machine.next_state(state, action)


def test_fulfilled_service_cannot_be_cancelled() -> None:
    with pytest.raises(IllegalTransition) as err:
        APPOINTMENT.next_state("fulfilled", "cancel")
    assert err.value.message == "Service already fulfilled, cannot cancel."
    assert err.value.code == "ILLEGAL_TRANSITION"
    assert err.value.status == 409
    assert isinstance(err.value, Conflict)
    assert err.value.details == {
        "machine": "appointment",
        "from": "fulfilled",
        "action": "cancel",
        "allowed": [],
    }
    assert err.value.body()["error"]["code"] == "ILLEGAL_TRANSITION"


@pytest.mark.parametrize(
    ("machine", "current", "action", "message"),
    [
        (APPOINTMENT, "fulfilling", "cancel", "Service is under way, cannot cancel."),
        (APPOINTMENT, "fulfilled", "start", "Service already fulfilled, cannot start."),
        (APPOINTMENT, "cancelled", "book", "Appointment already cancelled, cannot book."),
        (
            APPOINTMENT,
            "booked",
            "ship",
            "Appointment is booked; 'ship' is not allowed now (allowed: cancel, reassign, start).",
        ),
        (CLAIM, "paid", "reject", "Claim already paid, cannot reject."),
        (CLAIM, "approved", "reject", "Claim already approved, cannot reject."),
        (CLAIM, "submitted", "pay", "Claim is not approved, cannot pay."),
        (POLICY, "cancelled", "renew", "Policy already cancelled, cannot renew."),
        (POLICY, "expired", "endorse", "Policy already expired, cannot endorse."),
        (
            PRODUCT,
            "delisted",
            "modify",
            "Product already delisted, cannot modify; create a new product instead.",
        ),
        (CONTRACT, "terminated", "modify", "Contract already terminated, cannot modify."),
        (CHANNEL, "closed", "resume", "Channel already closed, cannot resume."),
        (CHANNEL, "active", "resume", "Channel is not suspended, nothing to resume."),
        (
            PARTNER_CONFIG,
            "draft",
            "approve",
            "Partner configuration is draft; 'approve' is not allowed now (allowed: submit).",
        ),
        (CHANGE_REQUEST, "approved", "reject", "Change request already approved, cannot reject."),
        (WEBHOOK_ENDPOINT, "paused", "pause", "Webhook endpoint already paused."),
        (PARTNER_ACCOUNT, "closed", "resume", "Partner account already closed, cannot resume."),
        (PARTNER_ACCOUNT, "active", "resume", "Partner account is not suspended, nothing to resume."),
        (PARTNER_ACCOUNT, "suspended", "suspend", "Partner account already suspended."),
    ],
)
def test_illegal_moves_say_why(machine: StateMachine, current: str, action: str, message: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        machine.next_state(current, action)
    assert err.value.message == message
    assert err.value.details["allowed"] == machine.allowed_actions(current)


def test_generic_message_lists_allowed_actions() -> None:
    with pytest.raises(IllegalTransition) as err:
        APPOINTMENT.next_state("booking", "complete")
    assert err.value.message == (
        "Appointment is booking; 'complete' is not allowed now (allowed: book, cancel, decline, manual)."
    )
    assert err.value.details["allowed"] == ["book", "cancel", "decline", "manual"]


def test_unknown_state_is_refused() -> None:
    with pytest.raises(IllegalTransition) as err:
        CLAIM.next_state("lost", "pay")
    assert err.value.message == "Claim has unknown state 'lost'; 'pay' is not allowed."
    assert CLAIM.allowed_actions("lost") == []


def test_table_with_outgoing_final_state_is_rejected() -> None:
    with pytest.raises(ValueError, match="outgoing"):
        StateMachine(
            name="bad",
            label="Bad",
            initial="a",
            transitions={("a", "go"): "b", ("b", "back"): "a"},
            final=frozenset({"b"}),
        )


def test_every_state_reachable_from_initial() -> None:
    for machine in MACHINES.values():
        seen, frontier = {machine.initial}, [machine.initial]
        while frontier:
            state = frontier.pop()
            for action in machine.allowed_actions(state):
                target = machine.next_state(state, action)
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen == machine.states, machine.name


ALL_ACTIONS = sorted({a for m in MACHINES.values() for a in m.actions} | {"ship", "bogus"})


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(MACHINES)),
    actions=st.lists(st.sampled_from(ALL_ACTIONS), max_size=30),
)
def test_random_action_sequences_stay_in_the_machine(name: str, actions: list[str]) -> None:
    machine = MACHINES[name]
    state = machine.initial
    for action in actions:
        allowed = machine.allowed_actions(state)
        if action in allowed:
            state = machine.next_state(state, action)
        else:
            with pytest.raises(IllegalTransition) as err:
                machine.next_state(state, action)
            assert err.value.details == {
                "machine": name,
                "from": state,
                "action": action,
                "allowed": allowed,
            }
            assert err.value.message.endswith(".")
        assert state in machine.states
        if machine.is_final(state):
            assert machine.allowed_actions(state) == []
