"""Money, dates and counts as a customer of each locale reads them.

Money is an integer of the currency's minor unit shown with its exponent (``billing.currency``),
by ``Decimal`` alone, never a float: English ``USD 1,234.56`` (``billing.money.format_amount``),
Russian ``1 234,56 RUB`` (a no-break space between thousands, a decimal comma).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, localcontext

from billing.currency import exponent, is_currency
from billing.money import format_amount
from billing.notifications.model import Locale

NBSP = "\u00a0"
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"),
}  # fmt: skip


def money(amount: int, currency: str, locale: Locale) -> str:
    """``amount`` minor units of ``currency`` (an unknown code is shown as a plain integer)."""
    if not is_currency(currency):
        return f"{amount} {currency}"
    if locale == "en":
        return format_amount(amount, currency)
    places = exponent(currency)
    with localcontext() as context:
        context.prec = 100
        value = Decimal(abs(amount)).scaleb(-places)
        digits = f"{value:,.{places}f}".replace(",", NBSP).replace(".", ",")
    return f"{'-' if amount < 0 else ''}{digits}{NBSP}{currency}"


def day(moment: datetime | date | str, locale: Locale) -> str:
    """A calendar day: ``5 March 2026`` / ``5 марта 2026`` (an ISO string is read first)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    month = _MONTHS[locale][moment.month - 1]
    return f"{moment.day} {month} {moment.year}"


def days(count: int, locale: Locale) -> str:
    """``1 day`` / ``3 days``; Russian's three plural forms: ``1 день``, ``3 дня``, ``5 дней``."""
    if locale == "en":
        return f"{count} day" if count == 1 else f"{count} days"
    tens, units = count % 100, count % 10
    if units == 1 and tens != 11:
        word = "день"
    elif 2 <= units <= 4 and not 12 <= tens <= 14:
        word = "дня"
    else:
        word = "дней"
    return f"{count} {word}"
