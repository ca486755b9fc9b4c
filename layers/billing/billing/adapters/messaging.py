"""Mail through SES and SMS through SNS (``billing.notifications``).

Mail is built with the standard library as one MIME message (plain text and HTML as
alternatives, attachments beside them) and sent with ``SendRawEmail``, the call that carries
attachments; its ``Source`` is the sender's address, which SES accepts only from a verified
identity (the local stack verifies the platform's at startup). SMS are ``Publish`` calls to a
phone number, transactional (delivered before promotional traffic).

A refusal that a retry cannot change (an unverified sender, an address SES or SNS will not
take, a number that opted out) is a ``SendRefused`` naming the provider's error code; the rest
(throttling, an outage) is raised as it is, for the event to come back.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from botocore.exceptions import ClientError

from billing.adapters import aws
from billing.notifications.model import Email, SendRefused, Sms

REFUSED_MAIL = {"MessageRejected", "MailFromDomainNotVerifiedException", "InvalidParameterValue",
                "AccountSendingPausedException", "ConfigurationSetSendingPausedException"}  # fmt: skip
REFUSED_SMS = {"InvalidParameter", "InvalidParameterValue", "OptedOut", "AuthorizationError"}


def mime(email: Email) -> bytes:
    """The message as SES sends it: 7-bit ASCII (UTF-8 headers as RFC 2047 words, bodies
    quoted-printable, attachments base64)."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = formataddr((email.sender_name, email.sender))
    message["To"] = email.to
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2])
    message.set_content(email.text, cte="quoted-printable")  # 7-bit on the wire, as SES advises
    message.add_alternative(email.html, subtype="html", cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message.as_bytes()


def _refused(exc: ClientError, codes: set[str]) -> SendRefused | None:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return SendRefused(f"{code}: {exc.response['Error'].get('Message', '')}"[:300]) if code in codes else None


class SesMailer:
    def send(self, email: Email) -> str:
        try:
            response = aws.client("ses").send_raw_email(Source=email.sender, RawMessage={"Data": mime(email)})
        except ClientError as exc:
            raise _refused(exc, REFUSED_MAIL) or exc from None
        return str(response["MessageId"])


class SnsTexter:
    def send(self, sms: Sms) -> str:
        attributes: dict[str, Any] = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if sms.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sms.sender_id}
        try:
            response = aws.client("sns").publish(PhoneNumber=sms.to, Message=sms.text, MessageAttributes=attributes)
        except ClientError as exc:
            raise _refused(exc, REFUSED_SMS) or exc from None
        return str(response["MessageId"])
