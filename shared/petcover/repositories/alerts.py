"""Keys and items of chat alerts: the dedupe marker of a raised alert and the sent marker of a post.

ALERT#{dedupe_key} / ALERT      a key that alerted once (expires after 30 days)
ALERTMSG#{alert_id} / SENT      an alert message posted once (expires after 7 days)
"""

from __future__ import annotations

from petcover.ports import Item


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
