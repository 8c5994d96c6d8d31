"""template.yaml keeps secrets out of reach: the published ops token secret is refused outside the
local stage (and on AWS the value is a Secrets Manager dynamic reference), and the KMS key that
seals the table's secrets is usable only by the functions whose code seals or opens one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra import template
from infra.permissions import granted

DEFAULT = template.load()["Parameters"]["OpsTokenSecret"]["Default"]
REFERENCE = "{{resolve:secretsmanager:petcover/prod/ops-token}}"


def _evaluate(expr: Any, params: dict[str, str]) -> Any:
    """The intrinsic functions a Rules section may use here (Ref, Fn::Equals, Fn::Not, Fn::And, Fn::Or)."""
    if isinstance(expr, dict):
        ((fn, arg),) = expr.items()
        if fn == "Ref":
            return params[arg]
        values = [_evaluate(a, params) for a in (arg if isinstance(arg, list) else [arg])]
        if fn == "Fn::Equals":
            return values[0] == values[1]
        if fn == "Fn::Not":
            return not values[0]
        if fn == "Fn::And":
            return all(values)
        if fn == "Fn::Or":
            return any(values)
        raise AssertionError(f"{fn} is not evaluated here")
    return expr


def refusals(**params: str) -> list[str]:
    """The assertion descriptions CloudFormation would refuse a deploy with (as its Rules evaluate)."""
    out = []
    for rule in template.load()["Rules"].values():
        if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], params):
            continue
        out += [a["AssertDescription"] for a in rule["Assertions"] if not _evaluate(a["Assert"], params)]
    return out


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_a_deploy_outside_the_local_stage_with_the_default_ops_token_secret_is_refused(stage: str) -> None:
    [why] = refusals(Stage=stage, OpsTokenSecret=DEFAULT)
    assert "published default" in why
    assert refusals(Stage=stage, OpsTokenSecret=REFERENCE) == []


def test_the_local_stage_keeps_its_default() -> None:
    assert refusals(Stage="local", OpsTokenSecret=DEFAULT) == []


def test_on_aws_the_ops_token_secret_can_only_be_a_secrets_manager_dynamic_reference() -> None:
    pattern = re.compile(template.load()["Parameters"]["OpsTokenSecret"]["AllowedPattern"])
    assert pattern.fullmatch(DEFAULT) and pattern.fullmatch(REFERENCE)
    assert pattern.fullmatch("{{resolve:secretsmanager:arn:aws:secretsmanager:cn-north-1:1:secret:ops-AbC}}")
    for plain in ("hunter2-but-longer-than-that", "{{resolve:ssm:/petcover/ops}}", ""):
        assert not pattern.fullmatch(plain), plain


def test_the_secrets_key_is_rotated_kept_and_used_only_where_the_code_seals_or_opens() -> None:
    key = template.resources("AWS::KMS::Key")["SecretsKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"  # losing it loses every secret
    uses = {name: {a for a, r in granted(name).grants if r == "SecretsKey"} for name in template.functions()}
    assert uses["AddChannelFunction"] == {"kms:Encrypt"}  # seals the webhook secret, opens nothing
    assert uses["QuoteFunction"] == {"kms:Decrypt"}  # opens signing keys, seals nothing
    assert uses["WebhookDeliverFunction"] == {"kms:Decrypt"}
    assert uses["ListProductsFunction"] == set()  # staff-only reads never touch a secret
    assert sum(1 for u in uses.values() if u) < len(uses) / 2
