"""GET /policies/{number}/appointments: the appointments of one of the calling channel's policies."""

from petcover.api import Call, api, channel
from petcover.models.fulfilment import AppointmentList, AppointmentListQuery
from petcover.services.fulfilment import views


@api(
    summary="Appointments of a policy of the calling channel",
    auth=channel("query", product="policy"),
    query=AppointmentListQuery,
    response=AppointmentList,
    metric="PolicyAppointmentsRead",
    tags=("fulfilment",),
)
def handler(call: Call) -> AppointmentList:
    q: AppointmentListQuery = call.query
    return views.list_for_policy(call.ports, call.principal, call.path["number"], limit=q.limit, cursor=q.cursor)
