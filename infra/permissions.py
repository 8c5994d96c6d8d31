"""Permissions in template.yaml's terms: grants, the variables that go with them, and reading both.

A grant is (action, resource): ("sqs:send", "WebhookQueue"), ("sqs:poll", "QuotaDLQ"),
("events:put", "EventBus"), ("dynamodb:crud", "IdempotencyTable"), ("s3:PutObject",
"reports/daily/") (a key prefix of the document bucket). Main-table policies are written by
hand and are not grants here. ``granted`` reads what the template gives a function; anything
broader than a grant (a SAM S3 policy on the whole bucket, a "*" resource) reads as itself so
that it never equals a need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra import template
from petcover.config import GRANTED, QUEUES, Settings

Grant = tuple[str, str]  # (action, resource): ("sqs:send", "WebhookQueue"), ("s3:PutObject", "reports/daily/")

OBJECT_ARN = "arn:${AWS::Partition}:s3:::${DocumentBucket}/"
BUCKET_ARN = "arn:${AWS::Partition}:s3:::${DocumentBucket}"
RESOURCES = {
    "event_bus": "EventBus",
    "bucket": "DocumentBucket",
    "idempotency_table_name": "IdempotencyTable",
    "ops_token": "OpsTokenSecret",
    "ops_chat_url": "OpsChatUrl",
    "ops_chat_secret": "OpsChatSecret",
    "secrets_key": "SecretsKey",
    "mail_from": "MailFrom",
    "mail_sink_url": "MailSinkUrl",
}
QUEUE_OF_FIELD = {f: q for q, f in QUEUES.items()}
VARIABLES = {Settings.variable(f): f for f in GRANTED}  # the environment variables granted per function
SQS_TEMPLATES = {"sqs:send": "SQSSendMessagePolicy", "sqs:poll": "SQSPollerPolicy"}
IDEMPOTENCY: Grant = ("dynamodb:crud", "IdempotencyTable")
EVENTS: Grant = ("events:put", "EventBus")
KMS_TEMPLATES = {"kms:Encrypt": "KMSEncryptPolicy", "kms:Decrypt": "KMSDecryptPolicy"}
SECRETS_KEY = "SecretsKey"
# Sending mail with SES: from the stack's MailFrom address only (a Condition in the statement).
SES_SEND: Grant = ("ses:SendRawEmail", "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")


def queue_resource(queue: str) -> str:
    """The template's logical id of a queue: booking -> BookingQueue, webhook_dlq -> WebhookDLQ."""
    parts = queue.split("_")
    name = "".join("DLQ" if p == "dlq" else p.capitalize() for p in parts)
    return name if parts[-1] == "dlq" else f"{name}Queue"


def resource_of(setting: str) -> str:
    return queue_resource(QUEUE_OF_FIELD[setting]) if setting in QUEUE_OF_FIELD else RESOURCES[setting]


def collapse(grants: set[Grant]) -> set[Grant]:
    """Drop s3 grants another grant of the same action covers (bulk/uploads/ under bulk/)."""
    return {
        (a, r)
        for a, r in grants
        if not a.startswith("s3:") or not any(a2 == a and r != r2 and r.startswith(r2) for a2, r2 in grants)
    }


@dataclass
class Needs:
    env: dict[str, str] = field(default_factory=dict)  # variable -> logical id it refers to
    grants: set[Grant] = field(default_factory=set)
    why: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    layers: set[str] = field(default_factory=set)  # beyond the one every function has (Globals)

    def setting(self, name: str, where: str) -> None:
        var = Settings.variable(name)
        self.env[var] = resource_of(name)
        self.why.setdefault(var, set()).add(where)

    def grant(self, grant: Grant, where: str) -> None:
        self.grants.add(grant)
        self.why.setdefault(" ".join(grant), set()).add(where)


# ------------------------------------------------------------------ what template.yaml grants
def _ref(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return repr(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_grants(statement: dict[str, Any]) -> set[Grant]:
    """An inline statement as s3 grants; anything else shows up as what it is, to be refused."""
    out: set[Grant] = set()
    for action in _list(statement.get("Action")):
        for resource in _list(statement.get("Resource")):
            arn = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
            if statement.get("Effect") != "Allow" or not str(action).startswith("s3:"):
                out.add((str(action), str(arn)))
            elif action == "s3:ListBucket" and arn == BUCKET_ARN:
                like = (statement.get("Condition") or {}).get("StringLike") or {}
                for prefix in _list(like.get("s3:prefix", "*")):
                    out.add((action, str(prefix).removesuffix("*")))
            elif arn.startswith(OBJECT_ARN) and arn.endswith("*"):
                out.add((action, arn.removeprefix(OBJECT_ARN).removesuffix("*")))
            else:
                out.add((action, str(arn)))
    return out


def policy_grants(policy: Any) -> set[Grant] | None:
    """What one Policies entry grants; None for those written by hand (main table, basic role)."""
    if isinstance(policy, str) or not isinstance(policy, dict) or len(policy) != 1:
        return None
    ((kind, args),) = policy.items()
    if kind.startswith("DynamoDB"):
        table = _ref(args.get("TableName"))
        if table != "IdempotencyTable":
            return None
        return {IDEMPOTENCY} if kind == "DynamoDBCrudPolicy" else {(kind, table)}
    if kind in SQS_TEMPLATES.values():
        action = next(a for a, t in SQS_TEMPLATES.items() if t == kind)
        return {(action, _ref(args.get("QueueName")))}
    if kind == "EventBridgePutEventsPolicy":
        return {("events:put", _ref(args.get("EventBusName")))}
    if kind in KMS_TEMPLATES.values():
        action = next(a for a, t in KMS_TEMPLATES.items() if t == kind)
        return {(action, _ref(args.get("KeyId")))}
    if kind == "Statement":
        return set().union(*(statement_grants(s) for s in _list(args)))
    return {(kind, "the whole resource")}  # S3CrudPolicy and the like: broader than any use


def derived(policy: Any) -> bool:
    """Whether ``python -m infra.grants --write`` owns this entry (it rewrites those): queues, the
    bus, the idempotency table, the bucket. Anything else is written by hand and kept."""
    grants = policy_grants(policy)
    if grants is None:
        return False
    (kind,) = policy
    return kind != "Statement" or all(action.startswith("s3:") for action, _ in grants)


def granted(function: str) -> Needs:
    props = template.functions()[function]["Properties"]
    out = Needs()
    for var, value in template.function_env(function).items():
        if var in VARIABLES:
            out.env[var] = _ref(value)
    for policy in props.get("Policies") or []:
        out.grants |= policy_grants(policy) or set()
    out.layers = {_ref(layer) for layer in props.get("Layers") or []}
    out.grants = collapse(out.grants)
    return out
