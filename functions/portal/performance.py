"""/portal/timeliness, /share, /feedback, /assessment: the signed-in provider's own performance."""

from petcover.api import Call, api, portal
from petcover.models.portal import DispatchShare, Feedback, MonthQuery, PortalAssessment, Timeliness
from petcover.services.portal import performance

TAGS = ("portal",)


@api(
    summary="My timeliness: p50/p90 per SLA node, breach rate, and my rank among anonymised peers",
    auth=portal("provider"),
    response=Timeliness,
    metric="PortalTimelinessRead",
    tags=TAGS,
    route=("GET", "/portal/timeliness"),
)
def timeliness(call: Call) -> Timeliness:
    return performance.timeliness(call.ports, call.principal)


@api(
    summary="My dispatch share today against the target of each rule I am in",
    auth=portal("provider"),
    response=DispatchShare,
    metric="PortalShareRead",
    tags=TAGS,
    route=("GET", "/portal/share"),
)
def share(call: Call) -> DispatchShare:
    return performance.dispatch_share(call.ports, call.principal)


@api(
    summary="Ratings and complaints of my recent work orders, with this month's figures",
    auth=portal("provider"),
    response=Feedback,
    metric="PortalFeedbackRead",
    tags=TAGS,
    route=("GET", "/portal/feedback"),
)
def feedback(call: Call) -> Feedback:
    return performance.feedback_of(call.ports, call.principal)


@api(
    summary="My quality assessment (last month by default) with its inputs, and this month so far",
    auth=portal("provider"),
    query=MonthQuery,
    response=PortalAssessment,
    metric="PortalAssessmentRead",
    tags=TAGS,
    route=("GET", "/portal/assessment"),
)
def assessment(call: Call) -> PortalAssessment:
    q: MonthQuery = call.query
    return performance.latest_assessment(call.ports, call.principal, q.month)
