"""/portal/{proxy+}: the provider portal, every operation in one function (see petcover.api.Router)."""

from petcover.api import Router
from portal import account, insurer, performance, work_orders

handler = Router(
    account.me,
    account.get_account,
    account.request_change,
    work_orders.list_orders,
    work_orders.get_order,
    work_orders.accept,
    work_orders.confirm_time,
    work_orders.ship,
    work_orders.check_in,
    work_orders.deliver,
    work_orders.decline,
    work_orders.raise_exception,
    performance.timeliness,
    performance.share,
    performance.feedback,
    performance.assessment,
    insurer.providers,
    insurer.products,
    insurer.claims,
)
