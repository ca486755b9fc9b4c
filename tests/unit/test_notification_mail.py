"""The MIME message SES is given: text and HTML as alternatives, the PDF attached, headers in
UTF-8 encoded words, the tenant's name on the platform's sender."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

from billing.adapters.messaging import mime
from billing.notifications.model import Attachment, Email


def test_mail_carries_both_bodies_and_the_attachment() -> None:
    pdf = Attachment("invoice-INV-1.pdf", b"%PDF-1.4 x")
    raw = mime(Email("notifications@billing.example.com", "Тепло & Свет", "ivan@example.ru", "Счёт INV-1 от Тепло",
                     "Текст", "<p>HTML</p>", "help@teplo.test", (pdf,)))  # fmt: skip
    assert raw.isascii()  # headers as encoded words, bodies in a transfer encoding
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Счёт INV-1 от Тепло" and message["To"] == "ivan@example.ru"
    assert message["From"].addresses[0].display_name == "Тепло & Свет"
    assert message["From"].addresses[0].addr_spec == "notifications@billing.example.com"
    assert message["Reply-To"] == "help@teplo.test"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == "Текст" and html.get_content().strip() == "<p>HTML</p>"
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == "invoice-INV-1.pdf" and attached.get_content() == b"%PDF-1.4 x"
