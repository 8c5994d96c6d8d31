"""What people read in chat about work orders, in the platform's language (zh-CN by default).

Chat alerts carry a title, so DingTalk shows them as its markdown type, and end with a link to
the work order's page in the console (``CONSOLE_BASE_URL``; without it, the console path).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from petcover.config import get_settings
from petcover.domain import i18n, sla
from petcover.services.sla.listing import console_path


def language() -> str:
    return get_settings().language


def work_order_link(order_id: str, lang: str) -> str:
    """A markdown link to the work order's console page (the bare path when no console URL is set)."""
    label = i18n.text("alert.open_link", lang)
    base = get_settings().console_base_url.rstrip("/")
    path = console_path(order_id)
    return f"[{label}]({base}{path})" if base else f"{label}: {path}"


def breach_alert(
    wo: sla.OpenWorkOrder, late: str, due: datetime, now: datetime, mentions: list[str]
) -> tuple[str, str]:
    """(title, markdown text) of the alert for one SLA breach."""
    lang = language()
    limit: timedelta = due - wo.entered_at
    elapsed = now - wo.entered_at
    if lang == "en":
        body = sla.alert_text(wo.order_id, wo.service_type, late, elapsed, limit, mentions)
    else:
        body = i18n.text(
            "alert.breach.text",
            lang,
            order_id=wo.order_id,
            service_type=wo.service_type,
            node=late,
            elapsed=sla.format_duration(elapsed),
            limit=sla.format_duration(limit),
            over=sla.format_duration(elapsed - limit),
        )
        tags = [m if m.startswith(("@", "<")) else f"@{m}" for m in mentions if m.strip()]
        body = f"{body} {' '.join(tags)}" if tags else body
    title = i18n.text("alert.breach.title", lang, order_id=wo.order_id)
    return title, f"{body}\n\n{work_order_link(wo.order_id, lang)}"


def exception_alert(wo: sla.OpenWorkOrder, reason: str) -> tuple[str, str]:
    lang = language()
    values = {"order_id": wo.order_id, "service_type": wo.service_type, "provider_id": wo.provider_id}
    body = i18n.text("alert.exception.text", lang, node=wo.node, reason=reason, **values)
    title = i18n.text("alert.exception.title", lang, order_id=wo.order_id)
    return title, f"{body}\n\n{work_order_link(wo.order_id, lang)}"
