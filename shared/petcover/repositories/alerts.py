"""Keys and items of chat alerts: the dedupe marker of a raised alert and the sent marker of a post.

ALERT#{dedupe_key} / ALERT      a key that alerted once (expires after 30 days)
ALERTMSG#{alert_id} / SENT      an alert message posted once (expires after 7 days)
PARTNER#{id} / CHATSECRET#{sha256 of the robot URL}
                                a partner's DingTalk robot secret for one robot URL, sealed
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from petcover.ports import Item
from petcover.repositories.partners import partner_pk

CHAT_SECRET_PREFIX = "CHATSECRET#"


def dedupe_key(key: str) -> tuple[str, str]:
    return f"ALERT#{key}", "ALERT"


def sent_key(alert_id: str) -> tuple[str, str]:
    return f"ALERTMSG#{alert_id}", "SENT"


def dedupe_item(key: str, expires_at: int) -> Item:
    pk, sk = dedupe_key(key)
    return {"pk": pk, "sk": sk, "kind": "alert_dedupe", "expires_at": expires_at}


def sent_item(alert_id: str, expires_at: int) -> Item:
    pk, sk = sent_key(alert_id)
    return {"pk": pk, "sk": sk, "kind": "alert_sent", "expires_at": expires_at}


def _url_digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def chat_secret_key(partner_id: str, url: str) -> tuple[str, str]:
    return partner_pk(partner_id), f"{CHAT_SECRET_PREFIX}{_url_digest(url)}"


def chat_secret_context(partner_id: str, url: str) -> dict[str, str]:
    """What a robot secret is bound to: it opens for this partner and this robot URL only."""
    return {"purpose": "chat-secret", "owner": partner_id, "robot": _url_digest(url)}


def chat_secret_item(partner_id: str, url: str, sealed: str, updated_at: str) -> Item:
    pk, sk = chat_secret_key(partner_id, url)
    return {"pk": pk, "sk": sk, "kind": "chat_secret", "data": json.dumps({"sealed": sealed, "updated_at": updated_at})}


def chat_secret(item: Item) -> str:
    """The sealed secret of a robot secret item."""
    data: dict[str, Any] = json.loads(str(item["data"]))
    return str(data["sealed"])
