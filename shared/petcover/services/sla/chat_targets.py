"""Where an SLA alert goes: the provider's own chat group, or the ops group."""

from __future__ import annotations

from collections.abc import Callable

from petcover.domain.chat import ChatTarget
from petcover.ports import Ports
from petcover.services import alerts
from petcover.services.partners import chat_secrets, directory

SUPPORTED_CHAT = ("dingtalk", "slack")  # formats domain.chat renders; others fall back to ops

ChatLookup = Callable[[Ports, str], ChatTarget | None]


def provider_chat_target(p: Ports, provider_id: str) -> ChatTarget | None:
    """The provider's alert group from its live configuration; None: send to the ops group.

    The first contact with a chat kind we can format (DingTalk robot or Slack-compatible) picks
    the group; every contact on that same webhook is mentioned, and a DingTalk robot's secret (set
    with PUT /partner/chat-secrets) goes with the target, sealed, to sign the message. WeCom and Feishu robots speak
    other formats, so their providers' alerts go to the ops group.
    """
    cfg = directory.active_provider_config(p, provider_id)
    if cfg is None:
        return None
    usable = [c for c in cfg.contacts if c.channel in SUPPORTED_CHAT]
    if not usable:
        return None
    first = usable[0]
    mention = list(dict.fromkeys(c.mention for c in usable if c.webhook_url == first.webhook_url and c.mention))
    sealed, context = chat_secrets.sealed_for(p, provider_id, first.webhook_url)
    return ChatTarget(
        kind=first.channel,  # type: ignore[arg-type]
        url=first.webhook_url,
        mention=mention,
        sealed_secret=sealed,
        secret_context=tuple(context.items()),
    )


def text_mentions(target: ChatTarget | None) -> list[str]:
    # DingTalk shows an @mobile only when it is in the text (atMobiles makes it notify);
    # Slack's renderer already puts <@user> in front of the text.
    return list(target.mention) if target is not None and target.kind == "dingtalk" else []


def is_routed(target: ChatTarget | None) -> bool:
    return target is not None or alerts.ops_target() is not None
