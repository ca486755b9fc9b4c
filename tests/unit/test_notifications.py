"""Customer notifications: rendering (locales, escaping, money), preferences and the legal
rules, idempotency per event and channel, retries, the per-tenant allowance."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.currency import exponent
from billing.customers.model import Customer, CustomerCreate, CustomerUpdate
from billing.errors import NotFound
from billing.notifications import formatting, templates
from billing.notifications.kinds import KINDS, Links
from billing.notifications.model import LOCALES, RateLimited, notification_id
from billing.notifications.service import Notifications, Notifier
from billing.pagination import PageRequest
from tests.unit.clock import FrozenClock
from tests.unit.notification_fakes import (
    BRAND,
    DATA,
    NOW,
    REFUSED,
    SCOPE,
    Documents,
    FailOnce,
    Mailer,
    MemoryLog,
    Outbox,
    Texter,
    WindowLimiter,
    customer,
    envelope,
)


class World:
    def __init__(self, who: Customer | None = None, per_minute: int = 100) -> None:
        self.customer = who or customer()
        self.log, self.outbox, self.documents = MemoryLog(), Outbox(), Documents()
        self.clock = FrozenClock(NOW)
        self.limiter = WindowLimiter(per_minute)
        self.notifier = Notifier(
            self.log, self.limiter, Mailer(self.outbox), Texter(self.outbox),
            lambda scope, ref: self.customer if ref == self.customer.id else None,
            lambda scope: BRAND, self.documents, Links("https://billing.test"), self.clock,
        )  # fmt: skip

    def notify(self, kind: str, **kwargs: Any) -> list[tuple[str, str, str | None]]:
        return [(n.channel, n.status, n.reason) for n in self.notifier.notify(envelope(kind, **kwargs))]


# ------------------------------------------------------------------------ rendering


def values(kind: str, locale: Any, name: str = "Jane") -> dict[str, str]:
    return {**KINDS[kind].values(DATA[kind], locale, Links("https://billing.test")), **BRAND.values(), "name": name}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_event_renders_in_every_locale(kind: str, locale: Any) -> None:
    rendered = templates.render(KINDS[kind].template, locale, values(kind, locale))
    for part in (rendered.subject, rendered.text, rendered.html, rendered.sms):
        assert part.strip() and "$" not in part and "?" not in part.split("\n")[0][:1], (kind, locale, part)
    assert "\n" not in rendered.subject and "\n" not in rendered.sms
    assert "Acme & Co" in rendered.text and "Acme &amp; Co" in rendered.html and "Acme & Co" in rendered.sms
    assert rendered.html.startswith("<!DOCTYPE html>") and f'lang="{locale}"' in rendered.html
    assert len(rendered.sms) <= 320, rendered.sms  # two SMS at most, links included


def test_english_and_russian_say_the_same_in_their_own_words() -> None:
    en = templates.render("invoice_finalized", "en", values("InvoiceFinalized", "en"))
    ru = templates.render("invoice_finalized", "ru", values("InvoiceFinalized", "ru"))
    assert en.subject == "Invoice INV-2026-000042 from Acme & Co"
    assert ru.subject == "Счёт INV-2026-000042 от Acme & Co"
    assert "Amount due: USD 1,234.56, by 15 March 2026." in en.text
    assert "оплате: 1\u00a0234,56\u00a0USD до 15 марта 2026." in ru.text
    assert en.text.startswith("Hello Jane,") and ru.text.startswith("Здравствуйте, Jane!")
    assert "Pay online: https://billing.test/pay/inv_1" in en.text
    assert "Questions? Write to help@acme.test." in en.text and "Main St 1, Springfield" in en.text


def test_every_interpolated_value_is_escaped_in_html_and_only_there() -> None:
    hostile = '<script>alert("x")</script>'
    data = {"object": {**DATA["InvoiceFinalized"]["object"], "number": hostile}}
    shown = {**KINDS["InvoiceFinalized"].values(data, "en", Links('https://b.test/"onmouseover="x')),
             **BRAND.values(), "name": "Tom & <b>Jerry</b>"}  # fmt: skip
    rendered = templates.render("invoice_finalized", "en", shown)
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered.html
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;" in rendered.html and "<b>Jerry" not in rendered.html
    assert 'href="https://b.test/&quot;onmouseover=&quot;x/pay/inv_1"' in rendered.html  # never leaves the attribute
    assert hostile in rendered.text and "Tom & <b>Jerry</b>" in rendered.text  # plain text stays as it is


def test_a_missing_optional_value_drops_its_lines_and_a_name_less_customer_is_greeted_plainly() -> None:
    data = {"object": {**DATA["InvoiceFinalized"]["object"], "due_date": None}}
    shown = {**KINDS["InvoiceFinalized"].values(data, "en", Links(None)), **BRAND.values(), "name": ""}
    rendered = templates.render("invoice_finalized", "en", {**shown, "support_email": "", "address": ""})
    assert rendered.text.startswith("Hello,\n") and "Amount due: USD 1,234.56.\n" in rendered.text
    assert "Pay online" not in rendered.text and "Questions?" not in rendered.text and "Pay online" not in rendered.html


@pytest.mark.parametrize(
    ("after", "en", "ru"),
    [(-3, "is due in 3 days", "через 3 дня"), (0, "is due today", "сегодня"), (21, "was due 21 days ago", "на 21 день"),
     (5, "was due 5 days ago", "на 5 дней")],
)  # fmt: skip
def test_reminders_before_on_and_after_the_due_date(after: int, en: str, ru: str) -> None:
    data = {**DATA["InvoiceReminder"], "days_after_due": after}
    for locale, phrase in (("en", en), ("ru", ru)):
        shown = {**KINDS["InvoiceReminder"].values(data, locale, Links()), **BRAND.values(), "name": ""}
        assert phrase in templates.render("invoice_reminder", locale, shown).text


@pytest.mark.parametrize(
    ("amount", "currency", "en", "ru"),
    [(123456, "USD", "USD 1,234.56", "1 234,56 USD"), (-980, "USD", "-USD 9.80", "-9,80 USD"),
     (1235, "JPY", "JPY 1,235", "1 235 JPY"), (12345, "BHD", "BHD 12.345", "12,345 BHD"),
     (100000000000000000001, "RUB", "RUB 1,000,000,000,000,000,000.01", "1 000 000 000 000 000 000,01 RUB"),
     (0, "RUB", "RUB 0.00", "0,00 RUB")],
)  # fmt: skip
def test_money_is_shown_with_the_currencys_exponent_never_through_a_float(
    amount: int, currency: str, en: str, ru: str
) -> None:
    assert formatting.money(amount, currency, "en") == en
    assert formatting.money(amount, currency, "ru") == ru.replace(" ", "\u00a0")


@pytest.mark.parametrize(
    ("count", "word"),
    [(1, "день"), (2, "дня"), (4, "дня"), (5, "дней"), (11, "дней"), (12, "дней"), (21, "день"), (22, "дня"),
     (111, "дней"), (101, "день")],
)  # fmt: skip
def test_russian_counts_take_their_plural_form(count: int, word: str) -> None:
    assert formatting.days(count, "ru") == f"{count} {word}"


# ------------------------------------------------------------ preferences and the law


def test_customers_get_email_by_default_in_their_locale_with_the_invoice_pdf() -> None:
    world = World(customer(locale="ru"))
    assert world.notify("InvoiceFinalized") == [("email", "sent", None)]
    (mail,) = world.outbox.mail
    assert (mail.to, mail.sender, mail.sender_name, mail.reply_to) == (
        "jane@example.com", "notifications@billing.example.com", "Acme & Co", "help@acme.test")  # fmt: skip
    assert mail.subject.startswith("Счёт INV-2026-000042")
    ((attachment),) = mail.attachments
    assert attachment.filename == "invoice-INV-2026-000042.pdf" and attachment.content.startswith(b"%PDF")
    assert world.outbox.sms == []


def test_sms_and_both_channels_as_chosen() -> None:
    world = World(customer(notification_channels=("sms",)))
    assert world.notify("PaymentSucceeded") == [("sms", "sent", None)]
    assert world.outbox.sms[0].to == "+4915112345678" and world.outbox.sms[0].text.startswith("Acme & Co: payment")
    both = World(customer(notification_channels=("email", "sms")))
    assert both.notify("PaymentFailed") == [("email", "sent", None), ("sms", "sent", None)]
    assert "Your card was declined." in both.outbox.mail[0].text


def test_an_opted_out_customer_gets_only_what_the_law_requires() -> None:
    world = World(customer(notification_channels=()))
    assert world.notify("InvoiceFinalized") == [("email", "skipped", "opted_out")]
    assert world.notify("CustomerSuspended", event_id="evt_2") == [("email", "sent", None)]
    world.documents.stored["ten_1#test/notices/inv_1.pdf"] = b"%PDF notice"
    assert world.notify("InvoiceFinalNotice", event_id="evt_3") == [("email", "sent", None)]
    assert world.outbox.mail[-1].attachments[0].content == b"%PDF notice"
    assert "https://pay.test/c/1" in world.outbox.mail[-1].text  # the notice's checkout link
    texted = World(customer(notification_channels=(), email=None))
    assert texted.notify("CustomerSuspended") == [("sms", "sent", None)]  # no email address: by SMS


def test_a_channel_without_an_address_is_skipped_and_logged() -> None:
    world = World(customer(notification_channels=("email", "sms"), phone=None))
    assert world.notify("PaymentSucceeded") == [("email", "sent", None), ("sms", "skipped", "no_phone")]


def test_a_document_of_another_tenant_is_never_attached() -> None:
    world = World()
    data = {**DATA["InvoiceFinalNotice"], "document": "ten_2#test/notices/inv_9.pdf"}
    world.documents.stored["ten_2#test/notices/inv_9.pdf"] = b"%PDF other"
    assert world.notify("InvoiceFinalNotice", data=data) == [("email", "failed", "document_not_found")]
    assert world.outbox.mail == []


def test_events_of_other_types_and_unknown_customers_tell_nobody() -> None:
    world = World()
    assert world.notifier.notify({**envelope("PaymentSucceeded"), "type": "CustomerCreated"}) == []
    other = {**DATA["PaymentSucceeded"], "object": {**DATA["PaymentSucceeded"]["object"], "customer": "cus_2"}}
    assert world.notify("PaymentSucceeded", data=other) == [] and world.log.rows == {}


# ------------------------------------------------------------------- exactly once


def test_a_redelivered_event_sends_nothing_twice() -> None:
    world = World(customer(notification_channels=("email", "sms")))
    assert len(world.notify("InvoiceFinalized")) == 2
    assert world.notify("InvoiceFinalized") == []
    assert (len(world.outbox.mail), len(world.outbox.sms)) == (1, 1)
    logged = world.log.page(SCOPE, "cus_1", PageRequest()).data
    assert sorted((n.channel, n.status, n.message_id) for n in logged) == [("email", "sent", "ses-1"),
                                                                            ("sms", "sent", "sns-1")]  # fmt: skip
    occurred = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert {n.id for n in logged} == {notification_id("evt_1", c, occurred) for c in ("email", "sms")}


def test_a_transient_failure_is_retried_and_then_sent_once() -> None:
    world = World(customer(notification_channels=("email", "sms")))
    world.outbox.fail_next = FailOnce("throttled")
    with pytest.raises(FailOnce):
        world.notify("PaymentSucceeded")  # email failed for now, SMS sent
    statuses = sorted((n.channel, n.status, n.retry) for n in world.log.rows.values())
    assert statuses == [("email", "failed", True), ("sms", "sent", False)]
    assert world.notify("PaymentSucceeded") == [("email", "sent", None)]  # the event came back
    assert (len(world.outbox.mail), len(world.outbox.sms)) == (1, 1)


def test_a_refused_message_is_logged_failed_and_not_retried() -> None:
    world = World()
    world.outbox.fail_next = REFUSED
    assert world.notify("PaymentSucceeded") == [("email", "failed", REFUSED.reason)]
    assert world.notify("PaymentSucceeded") == [] and world.outbox.mail == []


def test_a_claim_whose_sender_died_is_taken_over_after_its_lease() -> None:
    world = World()
    planned = world.notifier._planned(envelope("PaymentSucceeded"), KINDS["PaymentSucceeded"], world.customer, NOW)
    world.log.claim(SCOPE, planned[0], NOW)  # claimed, then the function died before sending
    assert world.notify("PaymentSucceeded") == [] and world.outbox.mail == []  # within the lease: left alone
    world.clock.at = NOW + timedelta(minutes=3)
    assert world.notify("PaymentSucceeded") == [("email", "sent", None)]


# -------------------------------------------------------------- per-tenant allowance


def test_a_tenant_over_its_allowance_waits_for_the_next_minute() -> None:
    world = World(per_minute=2)
    assert world.notify("PaymentSucceeded", event_id="evt_a") == [("email", "sent", None)]
    assert world.notify("PaymentFailed", event_id="evt_b") == [("email", "sent", None)]
    with pytest.raises(RateLimited) as limited:
        world.notify("CustomerBalanceLow", event_id="evt_c")
    assert limited.value.retry_after == timedelta(minutes=1)  # at 09:30:00, the allowance is back at 09:31
    (held,) = [n for n in world.log.rows.values() if n.event_id == "evt_c"]
    assert (held.status, held.reason, held.retry) == ("failed", "rate_limited", True)
    world.clock.at = NOW + timedelta(minutes=1)
    assert world.notify("CustomerBalanceLow", event_id="evt_c") == [("email", "sent", None)]
    assert len(world.outbox.mail) == 3


# ------------------------------------------------------------------ the log, the API


def test_the_log_is_a_customers_newest_first_and_paged() -> None:
    world = World()
    for n, kind in enumerate(("PaymentSucceeded", "PaymentFailed", "CustomerBalanceLow")):
        world.clock.at = NOW + timedelta(seconds=n)
        world.notifier.notify({**envelope(kind, event_id=f"evt_{n}"), "occurred_at": f"2026-03-01T09:00:0{n}Z"})
    log = Notifications(world.log, lambda scope, ref: world.customer if ref == "cus_1" else None)
    first = log.of_customer(SCOPE, "cus_1", PageRequest(limit=2))
    assert [n.event_type for n in first.data] == ["CustomerBalanceLow", "PaymentFailed"] and first.has_more
    rest = log.of_customer(SCOPE, "cus_1", PageRequest(limit=2, starting_after=first.next_starting_after))
    assert [n.event_type for n in rest.data] == ["PaymentSucceeded"] and not rest.has_more
    public = first.data[0].to_public()
    assert set(public) == {"object", "id", "customer", "event", "type", "channel", "to", "status", "reason",
                           "message_id", "created_at"}  # fmt: skip
    with pytest.raises(NotFound):
        log.of_customer(SCOPE, "cus_2", PageRequest())


# ----------------------------------------------------------------- preferences


def test_preferences_default_to_english_email_and_are_validated() -> None:
    made = CustomerCreate.model_validate({})
    assert (made.locale, made.notification_channels) == ("en", ["email"])
    assert CustomerCreate.model_validate({"notification_channels": []}).notification_channels == []
    for bad in ({"locale": "de"}, {"notification_channels": ["fax"]}, {"notification_channels": ["sms", "sms"]}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            CustomerUpdate.model_validate(bad)


def test_stored_customers_keep_defaults_out_of_the_item() -> None:
    from billing.adapters.dynamodb.customers import from_item, to_item

    default = to_item(SCOPE, customer())
    assert default.get("locale") is None and default.get("channels") is None
    chosen = replace(customer(), locale="ru", notification_channels=())
    item = {k: v for k, v in to_item(SCOPE, chosen).items() if v is not None}
    assert (item["locale"], item["channels"]) == ("ru", [])
    assert from_item(item) == chosen
    assert from_item({k: v for k, v in default.items() if v is not None}) == customer()


@given(
    amount=st.integers(min_value=-(10**20), max_value=10**20), currency=st.sampled_from(["USD", "JPY", "BHD", "RUB"])
)
def test_money_shown_in_either_locale_reads_back_as_the_same_minor_units(amount: int, currency: str) -> None:
    places = exponent(currency)
    en = formatting.money(amount, currency, "en").replace(currency, "").replace(",", "").replace(" ", "")
    ru = formatting.money(amount, currency, "ru").replace(currency, "").replace("\u00a0", "").replace(",", ".")
    for shown in (en, ru):
        assert int(Decimal(shown).scaleb(places)) == amount and len(shown.partition(".")[2]) == places
