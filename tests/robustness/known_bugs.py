"""Product bugs the suite found: the open ones (with how to recognise their fuzz findings) and the
ones fixed upstream while the suite was written (their reproductions are now regression tests).

A fuzz finding that matches an *open* bug is reported (bench file, failures column) but does not
fail the fuzz run; each open bug must also have a reproduction marked ``xfail(strict=True)``, so
the day it is fixed that test fails and the entry moves to ``FIXED``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.robustness.fuzz import Finding


@dataclass(frozen=True)
class KnownBug:
    id: str
    owner: str
    text: str
    matches: Callable[[Finding], bool] = lambda f: False
    fixed_in: str = ""  # the commit that fixed it; empty while open
    regression: str = ""  # the test that now guards it


FIXED = [
    KnownBug(
        "deep-json",
        "shared/petcover/api.py `_run`",
        "a deeply nested JSON body (50,000 `[`, 50 KB, under the body limit) answered 500 INTERNAL on every "
        "operation with a body: json.loads raised RecursionError, which was not caught",
        lambda f: f.check == "no 5xx" and ("[[[[" in f.request or '{"a":{"a"' in f.request),
        "e80abc5",
        "tests/e2e/test_robustness_fuzz.py::test_deeply_nested_json_is_refused_as_malformed",
    ),
    KnownBug(
        "bad-cursor",
        "shared/petcover/storage/dynamo.py `DynamoStore.query`",
        "a malformed pagination `cursor` answered 500 INTERNAL on every paginated list "
        "(GET /ops/sla/reports?kind=summary&cursor=<non-ASCII>, GET /ops/webhooks/dead-letters?cursor=!!!, "
        "a base64 JSON that is not a key)",
        lambda f: f.check == "no 5xx" and "cursor=" in f.request,
        "e80abc5",
        "tests/e2e/test_robustness_fuzz.py::test_a_malformed_pagination_cursor_is_refused_as_bad_input",
    ),
    KnownBug(
        "cancelled-throttle",
        "shared/petcover/storage/dynamo.py `_translate`",
        "a TransactWriteItems cancelled with reason ThrottlingError (DynamoDB's cancellation-reason name) was "
        "not recognised as throttling: POST /policies answered 409 CONDITION_FAILED instead of 503 + Retry-After",
        fixed_in="f5cb1d1",
        regression="tests/integration/test_faults.py::test_transaction_cancelled_for_throttling_is_503_not_a_conflict",
    ),
    KnownBug(
        "debug-logs",
        "shared/petcover/observability.py",
        "at DEBUG log level pynamodb logged every call's arguments, signing-key and webhook secrets included",
        fixed_in="f5cb1d1",
        regression="tests/e2e/test_robustness_security.py::"
        "test_no_secret_appears_in_in_process_logs_even_at_debug_level",
    ),
    KnownBug(
        "lost-policy-cancelled",
        "shared/petcover/services/policies.py `cancel`",
        "a process killed between the cancel transaction and the PolicyCancelled emit left the policy's open "
        "appointments open with quota held; nothing re-emitted the event",
        fixed_in="87fa062 (transactional outbox + minute sweeper)",
        regression="tests/integration/test_faults.py::"
        "test_killed_between_policy_cancel_and_its_event_the_outbox_sweeper_still_closes_the_appointments",
    ),
    KnownBug(
        "lost-dispatch",
        "shared/petcover/services/fulfilment.py `book_appointment`",
        "a process killed between the booking transaction and the DispatchQueue send left the appointment "
        "pending forever with a use held",
        fixed_in="87fa062 (transactional outbox + minute sweeper)",
        regression="tests/integration/test_faults.py::"
        "test_killed_between_booking_and_dispatch_message_the_outbox_sweeper_still_dispatches",
    ),
    KnownBug(
        "lost-webhook",
        "shared/petcover/services/webhooks.py `notify`",
        "a process killed between recording a webhook event and queueing its first delivery left the event "
        "pending with no message (neither delivered nor dead-lettered)",
        fixed_in="87fa062 (transactional outbox + minute sweeper)",
        regression="tests/integration/test_faults.py::"
        "test_killed_between_webhook_record_and_its_message_the_outbox_sweeper_still_queues_it",
    ),
    KnownBug(
        "lost-appointment-news",
        "shared/petcover/services/fulfilment/transitions.py `sync`",
        "appointment webhooks, the timeline nodes the SLA check reads and the quota deduction request were "
        "sent after the appointment's commit, best effort: a process killed in between lost them for good",
        fixed_in="6ccc3c3 (written in the appointment's transaction, published through the outbox)",
        regression="tests/integration/test_outbox_faults.py::"
        "test_killed_between_commit_and_publish_the_sweeper_sends_each_message_once",
    ),
    KnownBug(
        "lost-audit",
        "shared/petcover/services/audit.py `record` (called after the change)",
        "the audit record of a staff change was written after the change's commit: a process killed in "
        "between left the change unaudited",
        fixed_in="8842ca7 (audit.entry in the change's own transaction)",
        regression="tests/integration/test_outbox_faults.py::"
        "test_an_ops_change_killed_after_its_commit_keeps_its_audit_record",
    ),
]
ALL: list[KnownBug] = []  # open bugs: none at the moment


def match(finding: Finding) -> KnownBug | None:
    return next((b for b in ALL if b.matches(finding)), None)


def describe(bug: KnownBug) -> str:
    return f"**{bug.id}** ({bug.owner}): {bug.text}"
