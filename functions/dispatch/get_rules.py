"""GET /ops/dispatch/rules/{version}: one published rule version."""

from petcover.api import Call, api, ops
from petcover.errors import InvalidInput
from petcover.models.dispatch import RuleSetVersion, RulesVersionPath
from petcover.services.dispatch import rules


@api(
    summary="One published version of the dispatch rules, with its status (in effect, scheduled, superseded)",
    auth=ops("ops"),
    response=RuleSetVersion,
    metric="DispatchRulesRead",
    tags=("dispatch",),
    path=RulesVersionPath,
    errors=("RULES_VERSION_NOT_FOUND",),
)
def handler(call: Call) -> RuleSetVersion:
    raw = call.path["version"]
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(
            "The version is a positive whole number.",
            code="VALIDATION_FAILED",
            details=[{"field": "version", "message": "must be a positive integer"}],
        )
    return rules.get_version(call.ports, int(raw))
