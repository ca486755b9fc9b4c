"""The mail and SMS the platform sent through the embedded AWS endpoint, read back from it.

moto keeps what SES and SNS were asked to send and shows it at ``GET /moto-api/data.json``:
``ses.RawMessage`` (``source``, ``destinations``, ``raw_data``: the whole MIME message) and
``sns.SMS`` (``phone_number``, ``message``, ``message_id``). The README's "Notifications"
shows the same with curl.
"""

from __future__ import annotations

import email
import json
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from typing import Any, cast


@dataclass(frozen=True)
class SentEmail:
    id: str
    source: str
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else cast(EmailMessage, part).get_content()

    def attachments(self) -> dict[str, bytes]:
        return {str(part.get_filename()): part.get_content() for part in self.message.iter_attachments()}


@dataclass(frozen=True)
class SentSms:
    id: str
    phone_number: str
    message: str


def _data(endpoint_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/data.json", timeout=30) as response:  # noqa: S310 - the local endpoint
        data: dict[str, Any] = json.loads(response.read())
    return data


def emails(endpoint_url: str, to: str | None = None) -> list[SentEmail]:
    """Every mail sent with ``SendRawEmail`` (to ``to`` only, if given), oldest first."""
    found = [
        SentEmail(raw["id"], raw["source"], email.message_from_string(raw["raw_data"], policy=default))
        for raw in _data(endpoint_url).get("ses", {}).get("RawMessage", [])
    ]
    return [mail for mail in found if to is None or to in mail.to]


def sms(endpoint_url: str, to: str | None = None) -> list[SentSms]:
    """Every SMS published to a phone number (to ``to`` only, if given), oldest first."""
    found = [SentSms(m["message_id"], m["phone_number"], m["message"])
             for m in _data(endpoint_url).get("sns", {}).get("SMS", [])]  # fmt: skip
    return [text for text in found if to is None or text.phone_number == to]
