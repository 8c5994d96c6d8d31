"""CloudWatch alarm state changes, as SNS delivers them, turned into an ops chat message. Pure.

``parse`` reads the JSON CloudWatch publishes to an alarm action's topic (None for anything
else on the topic); ``render`` writes the zh-CN markdown message: a title saying what happened
and a few lines saying which alarm, the change, when (business time zone), the condition and
CloudWatch's reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from petcover.domain import calendar
from petcover.models.base import Model

STATES = {"ALARM": "告警", "OK": "正常", "INSUFFICIENT_DATA": "数据不足"}
TITLE_PREFIX = {"ALARM": "【告警】", "OK": "【恢复】", "INSUFFICIENT_DATA": "【数据不足】"}
COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}
# CloudWatch writes the statistic as "Sum" in alarm definitions and "SUM" in notifications.
STATISTICS = {"SUM": "总和", "MAXIMUM": "最大值", "MINIMUM": "最小值", "AVERAGE": "平均值", "SAMPLECOUNT": "样本数"}
MAX_REASON_CHARS = 600


class Dimension(Model):
    name: str
    value: str


class Trigger(Model):
    namespace: str = ""
    metric: str = ""
    statistic: str = ""
    period: int = 60
    evaluation_periods: int = 1
    comparison: str = ""
    threshold: float = 0
    dimensions: list[Dimension] = Field(default_factory=list)


class AlarmChange(Model):
    name: str
    description: str = ""
    new_state: str
    old_state: str = ""
    reason: str = ""
    changed_at: datetime | None = None
    account: str = ""
    region: str = ""
    trigger: Trigger = Field(default_factory=Trigger)


def _dimensions(raw: Any) -> list[Dimension]:
    out = []
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict):
            name, value = d.get("name") or d.get("Name"), d.get("value") or d.get("Value")
            if name is not None and value is not None:
                out.append(Dimension(name=str(name), value=str(value)))
    return out


def _trigger(raw: Any) -> Trigger:
    t = raw if isinstance(raw, dict) else {}
    return Trigger(
        namespace=str(t.get("Namespace") or ""),
        metric=str(t.get("MetricName") or ""),
        statistic=str(t.get("ExtendedStatistic") or t.get("Statistic") or ""),
        period=int(t.get("Period") or 60),
        evaluation_periods=int(t.get("EvaluationPeriods") or 1),
        comparison=str(t.get("ComparisonOperator") or ""),
        threshold=float(t.get("Threshold") or 0),
        dimensions=_dimensions(t.get("Dimensions")),
    )


def parse(message: str) -> AlarmChange | None:
    """The alarm change in an SNS message body; None when the message is not one."""
    try:
        raw = json.loads(message)
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, dict) or not raw.get("AlarmName") or not raw.get("NewStateValue"):
        return None
    try:
        return AlarmChange(
            name=str(raw["AlarmName"]),
            description=str(raw.get("AlarmDescription") or ""),
            new_state=str(raw["NewStateValue"]),
            old_state=str(raw.get("OldStateValue") or ""),
            reason=str(raw.get("NewStateReason") or ""),
            changed_at=_when(raw.get("StateChangeTime")),
            account=str(raw.get("AWSAccountId") or ""),
            region=str(raw.get("Region") or ""),
            trigger=_trigger(raw.get("Trigger")),
        )
    except (ValidationError, ValueError, TypeError):
        return None


def _when(value: Any) -> datetime | None:
    """CloudWatch writes ``2026-11-22T14:00:00.000+0000``; Python reads it from 3.11 on."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def condition(t: Trigger) -> str:
    """``AWS/SQS ApproximateNumberOfMessagesVisible (QueueName=x) 最大值 > 0（60 秒 × 1 个周期）``."""
    if not t.metric:
        return "见告警定义"
    dims = ", ".join(f"{d.name}={d.value}" for d in t.dimensions)
    where = f"{t.namespace} {t.metric}" + (f"（{dims}）" if dims else "")
    stat = STATISTICS.get(t.statistic.upper().replace("_", ""), t.statistic)
    op = COMPARISONS.get(t.comparison, t.comparison)
    return f"{where} {stat} {op} {_number(t.threshold)}（{t.period} 秒 × {t.evaluation_periods} 个周期）"


def render(change: AlarmChange, tz_name: str) -> tuple[str, str]:
    """(title, markdown text) of the ops chat message, in zh-CN."""
    headline = change.description.strip().splitlines()[0] if change.description.strip() else change.name
    title = f"{TITLE_PREFIX.get(change.new_state, '【告警状态变化】')}{headline}"
    when = calendar.local(change.changed_at).strftime("%Y-%m-%d %H:%M:%S") if change.changed_at else "未知"
    before = STATES.get(change.old_state, change.old_state or "未知")
    after = STATES.get(change.new_state, change.new_state)
    reason = change.reason if len(change.reason) <= MAX_REASON_CHARS else change.reason[:MAX_REASON_CHARS] + "…"
    lines = [
        f"- 告警：{change.name}",
        f"- 状态：{before} → {after}",
        f"- 时间：{when}（{tz_name}）",
        f"- 条件：{condition(change.trigger)}",
        f"- 原因：{reason or '无'}",
    ]
    if change.account or change.region:
        lines.append(f"- 账号 / 区域：{change.account or '-'} / {change.region or '-'}")
    return title, "\n".join(lines)


def render_other(subject: str | None, message: str) -> tuple[str, str]:
    """Anything else published to the alarm topic is passed on as it is."""
    return f"【告警通知】{subject or '告警主题收到消息'}", message[: MAX_REASON_CHARS * 4]
