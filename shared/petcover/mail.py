"""Mail adapters behind the ``Mailer`` port: SES on AWS, the local sink, and an in-memory fake."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from petcover import outbound
from petcover.ports import MailMessage


def mime(sender: str, message: MailMessage) -> bytes:
    """The raw MIME mail: a UTF-8 text part and the attachment, if any."""
    root = MIMEMultipart()
    root["Subject"] = message.subject
    root["From"] = sender
    root["To"] = message.to
    root.attach(MIMEText(message.text, "plain", "utf-8"))
    if message.attachment is not None:
        name, content, content_type = message.attachment
        part = MIMEApplication(content, _subtype=content_type.split("/", 1)[-1])
        part.add_header("Content-Disposition", "attachment", filename=name)
        root.attach(part)
    return root.as_bytes()


class SesMailer:
    # What each method needs (infra.grants turns it into the function's policy).
    ACTIONS: dict[str, tuple[str, ...]] = {"send_mail": ("ses:SendRawEmail",)}

    def __init__(self, client: Any, sender: str) -> None:
        self._ses = client
        self._sender = sender

    def send_mail(self, message: MailMessage) -> str:
        out = self._ses.send_raw_email(
            Source=self._sender, Destinations=[message.to], RawMessage={"Data": mime(self._sender, message)}
        )
        return str(out["MessageId"])


class SinkMailer:
    """Locally: the mail as JSON to the sink (``infra/sink.py``), attachment base64-encoded."""

    def __init__(self, url: str, sender: str) -> None:
        self._url = url
        self._sender = sender or "petcover@localhost"

    def send_mail(self, message: MailMessage) -> str:
        mail_id = uuid.uuid4().hex
        body: dict[str, Any] = {
            "id": mail_id,
            "from": self._sender,
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
        }
        if message.attachment is not None:
            name, content, content_type = message.attachment
            body["attachment"] = {
                "filename": name,
                "content_type": content_type,
                "sha256": hashlib.sha256(content).hexdigest(),
                "base64": base64.b64encode(content).decode(),
            }
        result = outbound.post(self._url, json.dumps(body, ensure_ascii=False).encode(), {})
        if result.status is None or not 200 <= result.status < 300:
            raise OSError(f"the mail sink refused the mail: {result.error}")
        return mail_id


class MemoryMailer:
    """Unit tests: keeps what was sent; ``fail`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []
        self.fail = False

    def send_mail(self, message: MailMessage) -> str:
        if self.fail:
            raise OSError("mail server unavailable")
        self.sent.append(message)
        return f"mem-{len(self.sent)}"
