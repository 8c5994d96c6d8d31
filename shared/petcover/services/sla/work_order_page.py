"""One work order's page in the staff console: its timeline against the SLA, and what staff may do."""

from __future__ import annotations

from petcover.domain import sla
from petcover.models.sla import WorkOrderTimeline
from petcover.models.work_orders import SlaStep, StaffAction, WorkOrderDetail
from petcover.ports import Ports
from petcover.repositories import appointments as appointment_records
from petcover.repositories import timeline as timeline_keys
from petcover.services import timeline
from petcover.services.sla.listing import console_path
from petcover.services.sla.work_orders import work_order_timeline

# Appointment states in which ops may still hand the order to another provider by hand.
REASSIGNABLE = {"pending", "booking"}


def sla_steps(p: Ports, view: WorkOrderTimeline, online: bool, core_provider: bool) -> list[SlaStep]:
    """Each node with the due time of the node after it (the configuration in force now) and
    whether the order left it in time; the last node of an open order is still waiting."""
    config = timeline.current_config(p)
    steps: list[SlaStep] = []
    for i, e in enumerate(view.nodes):
        due = sla.due_at(
            config, e.node, e.service_type, e.at, region=e.region, core_provider=core_provider, online=online
        )
        done = view.nodes[i + 1].at if i + 1 < len(view.nodes) else None
        late = None
        late_seconds = None
        if due is not None and done is not None:
            late = sla.is_breached(due[1], done)
            late_seconds = max(0, int((done - due[1]).total_seconds()))
        elif due is not None and view.open:
            late = sla.is_breached(due[1], p.now())
            late_seconds = max(0, int((p.now() - due[1]).total_seconds()))
        steps.append(
            SlaStep(
                node=e.node,
                at=e.at,
                provider_id=e.provider_id,
                next_node=due[0] if due else None,
                due_at=due[1] if due else None,
                done_at=done,
                late=late,
                late_seconds=late_seconds,
            )
        )
    return steps


def _actions(order_id: str, view: WorkOrderTimeline, appointment_status: str | None) -> list[StaffAction]:
    actions: list[StaffAction] = []
    if view.open and any(x.state == "open" for x in view.exceptions):
        actions.append(
            StaffAction(
                action="handle_exception",
                method="POST",
                path=f"/ops/work-orders/{order_id}/exception/handled",
                roles=["ops"],
            )
        )
    if appointment_status in REASSIGNABLE:
        actions.append(
            StaffAction(
                action="manual_assign", method="POST", path=f"/ops/appointments/{order_id}/assign", roles=["ops"]
            )
        )
    if appointment_status is not None:
        actions.append(
            StaffAction(
                action="explain_dispatch", method="GET", path=f"/ops/appointments/{order_id}/dispatch", roles=["ops"]
            )
        )
    return actions


def work_order_detail(p: Ports, order_id: str) -> WorkOrderDetail:
    view = work_order_timeline(p, order_id)  # WORK_ORDER_NOT_FOUND when there is none
    doc = appointment_records.find_appointment(p, order_id)
    open_item = p.store.get(*timeline_keys.open_key(order_id)) if view.open else None
    wo = timeline_keys.load_open(open_item) if open_item else None
    online = wo.online if wo else (doc.mode == "online" if doc else any(n.node == sla.SHIPPED for n in view.nodes))
    core = wo.core_provider if wo else False
    return WorkOrderDetail(
        order_id=order_id,
        console_path=console_path(order_id),
        timeline=view,
        steps=sla_steps(p, view, online, core),
        appointment=doc,
        actions=_actions(order_id, view, doc.status if doc else None),
    )
