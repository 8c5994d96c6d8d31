"""Writes derived grants into template.yaml's text, keeping everything written by hand.

Only three sections of each function change: ``Layers`` (the documents layer where its code
imports from it; every function has the petcover layer from Globals), ``Environment`` (the
per-function variables; any other variable stays) and ``Policies`` (main-table and other
hand-written entries stay first, the derived ones follow). Comments and layout elsewhere are
untouched.
"""

from __future__ import annotations

import re

from infra import template
from infra.permissions import EVENTS, IDEMPOTENCY, KMS_TEMPLATES, SQS_TEMPLATES, VARIABLES, Needs, derived

RESOURCE = re.compile(r"^  ([A-Za-z0-9]+):\s*$")
SECTION = re.compile(r"^      (Layers|Environment|Policies):\s*$")
ENV_VAR = re.compile(r"^          ([A-Z0-9_]+):")
ITEM = "        - "
S3_ORDER = {"s3:PutObject": 0, "s3:GetObject": 1, "s3:ListBucket": 2}


def layers(names: set[str]) -> list[str]:
    return ["      Layers:", *(f"{ITEM}!Ref {name}" for name in sorted(names))] if names else []


def environment(env: dict[str, str], kept: list[str] | None = None) -> list[str]:
    lines = [*(kept or []), *(f"          {var}: !Ref {ref}" for var, ref in sorted(env.items()))]
    return ["      Environment:", "        Variables:", *lines] if lines else []


def _s3(action: str, prefix: str) -> list[str]:
    if action == "s3:ListBucket":
        return [
            "            - Effect: Allow  # so a missing object is NoSuchKey (404), not AccessDenied",
            "              Action: s3:ListBucket",
            '              Resource: !Sub "arn:${AWS::Partition}:s3:::${DocumentBucket}"',
            f'              Condition: {{StringLike: {{"s3:prefix": "{prefix}*"}}}}',
        ]
    return [
        "            - Effect: Allow",
        f"              Action: {action}",
        f'              Resource: !Sub "arn:${{AWS::Partition}}:s3:::${{DocumentBucket}}/{prefix}*"',
    ]


def policies(needs: Needs) -> list[str]:
    """The derived entries of a Policies list, in a fixed order."""
    lines = []
    if IDEMPOTENCY in needs.grants:
        lines.append(f"{ITEM}DynamoDBCrudPolicy: {{TableName: !Ref {IDEMPOTENCY[1]}}}")
    if EVENTS in needs.grants:
        lines.append(f"{ITEM}EventBridgePutEventsPolicy: {{EventBusName: !Ref {EVENTS[1]}}}")
    for action, policy in SQS_TEMPLATES.items():
        for queue in sorted(q for a, q in needs.grants if a == action):
            lines.append(f"{ITEM}{policy}: {{QueueName: !GetAtt {queue}.QueueName}}")
    for action, policy in KMS_TEMPLATES.items():
        for key in sorted(k for a, k in needs.grants if a == action):
            lines.append(f"{ITEM}{policy}: {{KeyId: !Ref {key}}}")
    s3 = sorted((g for g in needs.grants if g[0].startswith("s3:")), key=lambda g: (S3_ORDER.get(g[0], 9), g[1]))
    if s3:
        lines.append(f"{ITEM}Statement:")
        for action, prefix in s3:
            lines += _s3(action, prefix)
    return lines


def _blocks(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """The text cut at each resource (name, lines); the text before the first has no name."""
    out: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        match = RESOURCE.match(line)
        if match:
            out.append((match.group(1), []))
        elif line and not line.startswith(" ") and not line.startswith("#"):
            out.append((None, []))
        out[-1][1].append(line)
    return out


def _sections(block: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split a function's lines into the rest (with a marker where Policies was) and its sections."""
    rest: list[str] = []
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in block:
        match = SECTION.match(line)
        if match:
            current = match.group(1)
            sections[current] = []
            if current == "Policies":
                rest.append("\0")
            continue
        if current and line.strip() and len(line) - len(line.lstrip()) <= 6:
            current = None
        if current:
            sections[current].append(line)
        else:
            rest.append(line)
    return rest, sections


def _items(lines: list[str]) -> list[list[str]]:
    items: list[list[str]] = []
    for line in lines:
        if line.startswith(ITEM) or not items:
            items.append([])
        items[-1].append(line)
    return items


def _hand_written(items: list[list[str]]) -> list[str]:
    kept: list[str] = []
    for item in items:
        parsed = template.parse("\n".join(line[8:] for line in item))
        policy = parsed[0] if isinstance(parsed, list) and parsed else None
        if not derived(policy) and policy != "AWSLambdaBasicExecutionRole":
            kept += item
    return kept


def rewrite(text: str, needs: dict[str, Needs]) -> str:
    out: list[str] = []
    for name, block in _blocks(text.splitlines()):
        if name not in needs:
            out += block
            continue
        rest, sections = _sections(block)
        env_kept = [v for v in sections.get("Environment", []) if (m := ENV_VAR.match(v)) and m[1] not in VARIABLES]
        policy_kept = _hand_written(_items(sections.get("Policies", [])))
        if "\0" not in rest:
            raise ValueError(f"{name} has no Policies section to write into")
        at = rest.index("\0")
        entries = policy_kept + policies(needs[name]) or [f"{ITEM}AWSLambdaBasicExecutionRole"]
        derived = [*layers(needs[name].layers), *environment(needs[name].env, env_kept), "      Policies:", *entries]
        out += rest[:at] + derived + rest[at + 1 :]
    return "\n".join(out) + "\n"
