"""Rewards and penalties: an assessment proposes the next dispatch shares; another staff member decides.

Applying a month's assessment proposes a dispatch-rules version made from the latest published
one: in every rule each provider's share moves by its grade's multiplier, bounded and floored
(``domain.quality.adjust_shares``), so the shares still add up to 100, with the reason per
provider. Nothing changes until a different staff member approves it (maker-checker): the
approval publishes the version (naming the assessment, which every dispatch explanation then
shows), sets the providers' core tier (the SLA's stricter limits) and closes the proposal, in
one transaction. A grade that proposes suspension becomes a review item, never a suspension.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from petcover.domain.dispatch import ProviderShare, RegionRule
from petcover.domain.quality import Assessment, QualityRules, adjust_shares
from petcover.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound
from petcover.identity import Principal
from petcover.models.dispatch import RuleSetVersion, RulesPublish
from petcover.models.quality import ApplyRequest, DecideRequest, MonthAssessment, ShareChange, ShareProposal
from petcover.ports import Ports, Put, WriteOp
from petcover.repositories import dispatch as dispatch_keys
from petcover.repositories import quality as keys
from petcover.services import audit, timeline
from petcover.services.dispatch import rules as dispatch_rules
from petcover.services.quality import assessment

ENTITY = "quality_proposal"


def _reason(a: Assessment | None, before: int, after: int, month: str) -> str:
    moved = "kept at" if before == after else f"{'raised' if after > before else 'lowered'} {before}% ->"
    share = f"share {moved} {after}% (bounded; the rule's shares add up to 100)"
    if a is None:
        return f"not assessed in {month}, multiplier x1: {share}"
    if a.grade is None:
        return f"not graded in {month} ({'; '.join(a.notes) or 'no score'}), multiplier x1: {share}"
    return f"grade {a.grade} (score {a.score}) in {month}, multiplier x{a.multiplier:g}: {share}"


def _adjusted(rule: RegionRule, graded: dict[str, Assessment], rules: QualityRules) -> dict[str, int]:
    old = {s.provider_id: s.share_pct for s in rule.providers}
    mult = {pid: a.multiplier for pid, a in graded.items() if a.grade is not None}
    return adjust_shares(old, mult, bound_pct=rules.bound_pct, floor_pct=rules.floor_pct)


def _changes(base: RuleSetVersion, month: MonthAssessment, rules: QualityRules) -> list[ShareChange]:
    graded = {a.provider_id: a for a in month.providers}
    out: list[ShareChange] = []
    for rule in base.rules:
        new = _adjusted(rule, graded, rules)
        for s in rule.providers:
            a = graded.get(s.provider_id)
            out.append(
                ShareChange(
                    region_code=rule.region_code,
                    service_type=rule.service_type,
                    provider_id=s.provider_id,
                    before_pct=s.share_pct,
                    after_pct=new[s.provider_id],
                    grade=a.grade if a else None,
                    multiplier=a.multiplier if a and a.grade else 1.0,
                    reason=_reason(a, s.share_pct, new[s.provider_id], month.month),
                )
            )
    return out


def _latest(p: Ports) -> RuleSetVersion:
    head = dispatch_keys.read_head(p.store)
    if head is None:
        raise BusinessRuleViolation(
            "No dispatch rules are published yet, so there are no shares to steer.", code="NO_DISPATCH_RULES"
        )
    return dispatch_rules.get_version(p, head.version)


def apply(p: Ports, who: Principal, month: str, body: ApplyRequest) -> ShareProposal:
    """Propose the next dispatch shares from ``month``'s assessment (pending until approved)."""
    result = assessment.read(p, month)
    rules = assessment.current_rules(p).rules
    base = _latest(p)
    now = p.now()
    proposal = ShareProposal(
        proposal_id=f"QP{secrets.token_hex(6).upper()}",
        month=month,
        base_version=base.version,
        state="pending",
        proposed_by=audit.actor_name(who),
        proposed_at=now,
        changes=_changes(base, result, rules),
        tiers={a.provider_id: a.core for a in result.providers if a.grade is not None},
        suspension_proposals=result.suspension_proposals,
        note=body.note,
    )
    moved = sum(1 for c in proposal.changes if c.before_pct != c.after_pct)
    p.store.transact(
        [
            Put(keys.proposal_item(proposal, 1), if_absent=True),
            Put(keys.run_item(result.model_copy(update={"proposal_id": proposal.proposal_id}))),
            audit.entry(
                p,
                who,
                ENTITY,
                proposal.proposal_id,
                "proposed",
                after={
                    "month": month,
                    "base_version": base.version,
                    "shares_moved": moved,
                    "suspension_proposals": [s.provider_id for s in proposal.suspension_proposals],
                },
                reason=body.note,
            ),
        ]
    )
    return proposal


def get(p: Ports, proposal_id: str) -> ShareProposal:
    item = p.store.get(*keys.proposal_key(proposal_id))
    if item is None:
        raise NotFound(f"There is no proposal {proposal_id}.", code="PROPOSAL_NOT_FOUND")
    return keys.load_proposal(item)[0]


def proposed_rules(base: RuleSetVersion, changes: list[ShareChange]) -> list[RegionRule]:
    after = {(c.region_code, c.service_type, c.provider_id): c.after_pct for c in changes}

    def share(rule: RegionRule, s: ProviderShare) -> ProviderShare:
        pct = after.get((rule.region_code, rule.service_type, s.provider_id), s.share_pct)
        return s.model_copy(update={"share_pct": pct})

    return [r.model_copy(update={"providers": [share(r, s) for s in r.providers]}) for r in base.rules]


def decide(p: Ports, who: Principal, proposal_id: str, body: DecideRequest) -> ShareProposal:
    """Approve (publish the rules, set tiers) or reject a pending proposal; never by its proposer."""
    item = p.store.get(*keys.proposal_key(proposal_id))
    if item is None:
        raise NotFound(f"There is no proposal {proposal_id}.", code="PROPOSAL_NOT_FOUND")
    prop, version = keys.load_proposal(item)
    if prop.state != "pending":
        raise Conflict(f"Proposal {proposal_id} is already {prop.state}.", code="PROPOSAL_DECIDED")
    actor = audit.actor_name(who)
    if actor == prop.proposed_by:
        raise Forbidden(
            "The staff member who proposed a share change cannot decide it; another member of staff must.",
            code="SAME_STAFF_MEMBER",
        )
    now = p.now()
    approve = body.decision == "approve"
    decided = prop.model_copy(
        update={"state": "approved" if approve else "rejected", "decided_by": actor, "decided_at": now}
    )
    if not approve:
        p.store.transact(_close_ops(p, who, decided, version, body))
        return decided
    base = dispatch_rules.get_version(p, prop.base_version)
    label = f"quality assessment {prop.month} (proposal {proposal_id}, approved by {actor})"
    draft = RulesPublish(
        rules=proposed_rules(base, prop.changes),
        deviation_threshold_pct=base.deviation_threshold_pct,
        daily_target=base.daily_target,
        base_version=prop.base_version,
        note=f"shares from the {prop.month} quality assessment (proposal {proposal_id})",
    )
    decided = decided.model_copy(update={"published_version": prop.base_version + 1})
    ops = [*_close_ops(p, who, decided, version, body), *_tier_ops(decided, now)]
    try:
        published = dispatch_rules.publish(p, who, draft, assessment=label, with_ops=ops)
    except Conflict as exc:
        if get(p, proposal_id).state != "pending":
            raise Conflict(f"Proposal {proposal_id} was decided meanwhile.", code="PROPOSAL_DECIDED") from None
        if exc.code == "RULES_CHANGED":
            raise Conflict(
                f"Dispatch rules changed since proposal {proposal_id} was made from version {prop.base_version}; "
                "apply the assessment again.",
                code="RULES_CHANGED",
            ) from None
        raise
    timeline.forget_configuration()  # the tiers just written
    return decided.model_copy(update={"published_version": published.version})


def _close_ops(p: Ports, who: Principal, decided: ShareProposal, version: int, body: DecideRequest) -> list[WriteOp]:
    return [
        Put(keys.proposal_item(decided, version + 1), expect=[("version", "=", version), ("state", "=", "pending")]),
        audit.entry(
            p,
            who,
            ENTITY,
            decided.proposal_id,
            decided.state,
            after={"published_version": decided.published_version},
            reason=body.reason,
        ),
    ]


def _tier_ops(prop: ShareProposal, now: datetime) -> list[WriteOp]:
    source = f"quality assessment {prop.month} (proposal {prop.proposal_id})"
    return [keys.tier_put(pid, core, source, now) for pid, core in sorted(prop.tiers.items())]
