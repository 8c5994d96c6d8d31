"""Chat targets for alerts: the operations room's URL and a provider lookup that records who was asked."""

from __future__ import annotations

from typing import Any

from petcover.domain.chat import ChatTarget

OPS_URL = "https://oapi.dingtalk.com/robot/send?access_token=ops"


def lookup(targets: dict[str, ChatTarget | None]):
    """A ``chat`` lookup answering from ``targets``; the provider ids asked for are in its ``calls``."""
    calls: list[str] = []

    def chat(_p: Any, provider_id: str) -> ChatTarget | None:
        calls.append(provider_id)
        return targets.get(provider_id)

    chat.calls = calls  # type: ignore[attr-defined]
    return chat
