"""What people read from the platform, in Simplified Chinese (the default) or English.

One catalogue of message templates keyed by a stable name; ``text(key, lang, **values)`` fills
one in. The language is the ``PLATFORM_LANGUAGE`` setting; callers pass it (pure: no settings here).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh-CN", "en"]
DEFAULT: Language = "zh-CN"

CATALOGUE: dict[str, dict[str, str]] = {
    # e-policy
    "epolicy.title": {"zh-CN": "电子保单", "en": "Electronic Policy"},
    "epolicy.insurer": {"zh-CN": "保险人", "en": "Insurer"},
    "epolicy.number": {"zh-CN": "保单号", "en": "Policy number"},
    "epolicy.product": {"zh-CN": "产品", "en": "Product"},
    "epolicy.plan": {"zh-CN": "保障计划", "en": "Plan"},
    "epolicy.holder": {"zh-CN": "投保人", "en": "Policy holder"},
    "epolicy.insured": {"zh-CN": "被保险对象", "en": "Insured"},
    "epolicy.term": {"zh-CN": "保险期间", "en": "Term"},
    "epolicy.term_value": {
        "zh-CN": "{start} 零时起至 {end} 零时止（{zone}）",
        "en": "from 00:00 {start} to 00:00 {end} ({zone})",
    },
    "epolicy.premium": {"zh-CN": "保费", "en": "Premium"},
    "epolicy.sum_insured": {"zh-CN": "保险金额", "en": "Sum insured"},
    "epolicy.status": {"zh-CN": "保单状态", "en": "Status"},
    "epolicy.benefits": {"zh-CN": "保障责任", "en": "Benefits"},
    "epolicy.benefit_row": {"zh-CN": "{name}：{limit}", "en": "{name}: {limit}"},
    "epolicy.uses": {"zh-CN": "{n} 次", "en": "{n} uses"},
    "epolicy.unlimited": {"zh-CN": "不限次数", "en": "unlimited"},
    "epolicy.limit": {"zh-CN": "限额 {amount} 元", "en": "limit CNY {amount}"},
    "epolicy.issued_at": {"zh-CN": "出单时间", "en": "Issued at"},
    "epolicy.verify": {
        "zh-CN": "验真码：{code}（可通过 GET /e-policies/{code} 查验本保单真伪）",
        "en": "Verification code: {code} (check this policy at GET /e-policies/{code})",
    },
    "epolicy.mail_subject": {"zh-CN": "您的电子保单 {number}", "en": "Your electronic policy {number}"},
    "epolicy.mail_text": {
        "zh-CN": "您好：\n\n附件为保单 {number} 的电子保单（PDF）。验真码：{code}。\n\n{insurer}",
        "en": "Hello,\n\nAttached is the electronic policy of policy {number} (PDF). "
        "Verification code: {code}.\n\n{insurer}",
    },
}


CATALOGUE.update(
    {
        # chat alerts (DingTalk markdown: a title, then the text)
        "alert.breach.title": {"zh-CN": "SLA 超时：工单 {order_id}", "en": "SLA breach: work order {order_id}"},
        "alert.breach.text": {
            "zh-CN": "工单 {order_id}（{service_type}）等待「{node}」已 {elapsed}（时限 {limit}，超时 {over}）。",
            "en": "Work order {order_id} ({service_type}) has waited {elapsed} for '{node}' "
            "(limit {limit}, {over} over).",
        },
        "alert.exception.title": {"zh-CN": "工单异常：{order_id}", "en": "Work order exception: {order_id}"},
        "alert.exception.text": {
            "zh-CN": "工单 {order_id}（{service_type}，服务商 {provider_id}）在「{node}」环节上报异常：{reason}",
            "en": "Work order {order_id} ({service_type}, provider {provider_id}): exception raised at "
            "'{node}': {reason}",
        },
        "alert.open_link": {"zh-CN": "查看工单", "en": "Open the work order"},
        "summary.title": {"zh-CN": "未完结工单日报 {day}", "en": "Open work orders {day}"},
        "summary.none": {"zh-CN": "{who}截至 {stamp} 无未完结工单。", "en": "Open work orders{who} at {stamp}: none."},
        "summary.head": {
            "zh-CN": "{who}截至 {stamp} 未完结工单：{total}。",
            "en": "Open work orders{who} at {stamp}: {total}.",
        },
        "summary.provider": {
            "zh-CN": "{provider}：{total} 单未完结（{counts}）",
            "en": "{provider}: {total} open ({counts})",
        },
        "summary.order": {
            "zh-CN": "- {order} {service}：在「{node}」已 {waiting}，已开 {age}{owner}",
            "en": "- {order} {service}: at {node} for {waiting}, open {age}{owner}",
        },
        "summary.owner": {"zh-CN": "，负责人 {owner}", "en": ", owner {owner}"},
        "summary.for": {"zh-CN": "服务商 {provider} ", "en": " for {provider}"},
        "summary.full_list": {"zh-CN": "完整清单：{path}", "en": "Full list: {path}"},
        "summary.ask_ops": {"zh-CN": "完整清单请联系运营。", "en": "Ask ops for the full list."},
        "risk.refused": {
            "zh-CN": "风控规则拒绝了此{what}（参考号 {ref}），如有疑问请联系平台。",
            "en": "Risk control refused this {what} (reference {ref}); contact the platform if in doubt.",
        },
        "risk.what.underwrite": {"zh-CN": "投保", "en": "application"},
        "risk.what.claim": {"zh-CN": "理赔申请", "en": "claim"},
        "risk.what.booking": {"zh-CN": "预约", "en": "booking"},
        "risk.review": {"zh-CN": "风控复核：{reason}", "en": "Risk review: {reason}"},
        "channel.cleared": {
            "zh-CN": "渠道 {channel} 已清退，不再受理新业务。",
            "en": "Channel {channel} has been cleared out and takes no new business.",
        },
    }
)

# Report and CSV columns: the machine names (English) and what a person reads in Chinese.
COLUMNS_ZH: dict[str, str] = {
    "scope": "范围",
    "day": "日期",
    "rank": "排名",
    "provider_id": "服务商",
    "region": "地区",
    "orders": "工单数",
    "accepted": "已接单",
    "completed": "已完成",
    "response_p50_min": "响应时长P50(分钟)",
    "response_p90_min": "响应时长P90(分钟)",
    "processing_p50_min": "处理时长P50(分钟)",
    "processing_p90_min": "处理时长P90(分钟)",
    "breaches": "超时次数",
    "breach_rate": "超时率",
    "order_id": "工单号",
    "service_type": "服务类型",
    "node": "当前节点",
    "owner": "负责人",
    "created_at": "创建时间",
    "entered_at": "进入节点时间",
    "waiting_minutes": "已等待(分钟)",
    "age_minutes": "已开(分钟)",
}


def column(name: str, lang: str = DEFAULT) -> str:
    """A report column as people read it: Chinese by default, the machine name in English."""
    return COLUMNS_ZH.get(name, name) if lang != "en" else name


def csv_header(text_csv: str, lang: str = DEFAULT) -> str:
    """A CSV whose first line holds machine column names, with that line in ``lang``."""
    head, sep, rest = text_csv.partition("\n")
    return ",".join(column(c, lang) for c in head.split(",")) + sep + rest


def text(key: str, lang: str = DEFAULT, **values: object) -> str:
    """The message ``key`` in ``lang`` (English or Simplified Chinese; anything else: Chinese)."""
    entry = CATALOGUE[key]
    template = entry.get(lang) or entry[DEFAULT]
    return template.format(**values)
