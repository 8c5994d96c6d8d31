"""The 22:00 summary: every open work order, to each provider's group and the ops group, kept as a report."""

from __future__ import annotations

from typing import Any

from petcover.domain import calendar, i18n, sla_reports
from petcover.observability import logger
from petcover.ports import Ports
from petcover.repositories.sla import StoredReport
from petcover.services import alerts, timeline
from petcover.services.sla import messages
from petcover.services.sla.chat_targets import ChatLookup, provider_chat_target
from petcover.services.sla.reports import report_files, store_report
from petcover.services.sla.times import iso

CHAT_TEXT_LIMIT = 3800  # below alerts.MAX_TEXT_CHARS, leaving room for the "more" note


def fit_chat(text: str, more: str, limit: int = CHAT_TEXT_LIMIT) -> str:
    """Cut a long chat text at a line boundary and say where the rest is."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - len(more) - 40:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, f"... {len(lines) - len(kept)} more lines. {more}"])


def _send(p: Ports, summary: sla_reports.Summary, day: str, chat: ChatLookup) -> dict[str, int]:
    """Each provider's own orders to its group (once per day), then everything to the ops group,
    in the platform's language, titled (DingTalk: its markdown type)."""
    lang = messages.language()
    title = i18n.text("summary.title", lang, day=day)
    more = i18n.text("summary.full_list", lang, path=f"GET /ops/sla/reports/summary/{day}/csv")
    sent = {"provider_groups": 0, "ops": 0, "duplicates": 0, "no_group": 0}
    for provider in summary.providers:
        try:
            target = chat(p, provider.provider_id)
        except Exception:
            logger.exception("provider chat lookup failed", extra={"provider": provider.provider_id})
            target = None
        if target is None:
            sent["no_group"] += 1  # the ops group's summary lists this provider's orders anyway
            continue
        own = sla_reports.summary_text(summary, provider.provider_id, lang)
        text = fit_chat(own, more=i18n.text("summary.ask_ops", lang))
        key = f"slasummary#{day}#{provider.provider_id}"
        if alerts.raise_alert(p, target=target, text=text, title=title, dedupe_key=key):
            sent["provider_groups"] += 1
        else:
            sent["duplicates"] += 1
    everything = fit_chat(sla_reports.summary_text(summary, None, lang), more)
    if alerts.raise_alert(p, target=None, text=everything, title=title, dedupe_key=f"slasummary#{day}#ops"):
        sent["ops"] += 1
    return sent


def nightly_summary(p: Ports, *, chat: ChatLookup = provider_chat_target) -> dict[str, Any]:
    """Every open work order, per provider and overall: to each provider's group and the ops
    group, and kept as reports/summary/{date}.csv (+ .json) with an index item."""
    now = p.now()
    local = calendar.local(now)
    day = calendar.day_of(now).isoformat()
    summary = sla_reports.build_summary(timeline.open_orders(p), local)

    blobs = report_files(p)
    keys = {"csv": f"reports/summary/{day}.csv", "json": f"reports/summary/{day}.json"}
    table = i18n.csv_header(sla_reports.summary_csv(summary), messages.language())
    blobs.put_bytes(keys["csv"], table.encode("utf-8"), "text/csv; charset=utf-8")
    blobs.put_bytes(keys["json"], summary.model_dump_json().encode("utf-8"), "application/json")
    store_report(
        p,
        StoredReport(
            kind="summary",
            id=day,
            day=calendar.day_of(now),
            generated_at=iso(now),
            formats=["csv", "json"],
            stats={"total": summary.total, "providers": len(summary.providers), "by_node": summary.by_node},
            keys=keys,
        ),
    )
    sent = _send(p, summary, day, chat)
    return {"day": day, "open": summary.total, "providers": len(summary.providers), **sent}
