"""GET /ops/dispatch/counters: one region+service type's daily counts against the shares in force."""

from petcover.api import Call, api, ops
from petcover.models.dispatch import CounterQuery, CounterView
from petcover.services.dispatch import counters


@api(
    summary="Daily dispatch counters of one region+service type: assigned per provider, capacity, target and "
    "actual shares, and the total including orders sent to the operations queue",
    auth=ops("ops"),
    query=CounterQuery,
    response=CounterView,
    metric="DispatchCountersRead",
    tags=("dispatch",),
)
def handler(call: Call) -> CounterView:
    q: CounterQuery = call.query
    return counters.counters(call.ports, q.region_code, q.service_type, q.date)
